"""The server-drawn SVG charts on the pages, from one client's histories.

Each function returns an SVG string, or None when there is nothing to draw. The pages also show
the same numbers as a table.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from attunement.charts import (
    TherapistOutcome,
    outcome_chart,
    progress_chart,
    relationship_chart,
    therapist_outcomes_chart,
)
from attunement.instruments.roles import room_checkins
from attunement.prediction.histories import Histories
from attunement.prediction.measures import is_outcome_measure
from attunement.store.forecast_source import expected_band


def _values(row: np.ndarray, sessions: int) -> list[float | None]:
    return [None if math.isnan(v) else float(v) for v in row[:sessions]]


def progress_svg(instrument: str, points: list[tuple[int, float]]) -> str | None:
    if not points:
        return None
    sessions = [s for s, _ in points]
    return progress_chart(
        sessions, [v for _, v in points], instrument=instrument, chart_id=f"progress-{instrument}"
    )


def outcome_svg(
    histories: Histories, row: int, instrument: str = "phq9", model=None, *, through: int | None = None
) -> str | None:
    """The outcome chart of one measure, with the expected range of ``model`` (the forecast model
    in use) when it forecasts that measure; ``through`` stops at that session (a session summary)."""
    sessions = int(histories.sessions[row])
    if through is not None:
        sessions = min(sessions, through)
    if sessions < 1 or instrument not in histories.scores:
        return None
    scores = _values(histories.score(instrument)[row], sessions)
    if all(v is None for v in scores):
        return None
    low = high = None
    band = expected_band(histories, instrument, model) if is_outcome_measure(instrument) else None
    if band is not None:
        low, high = (_values(part[row], sessions) for part in band)
    return outcome_chart(
        list(range(1, sessions + 1)),
        scores,
        instrument=instrument,
        expected_low=low,
        expected_high=high,
        chart_id=f"outcome-{instrument}",
    )


def outcome_svgs(
    histories: Histories | None,
    row: int,
    measures: Sequence[str],
    model=None,
    *,
    through: int | None = None,
) -> list[tuple[str, str]]:
    """(measure, chart) for each of ``measures`` that has a score to draw, in their order."""
    if histories is None:
        return []
    charts = ((m, outcome_svg(histories, row, m, model, through=through)) for m in measures)
    return [(m, svg) for m, svg in charts if svg is not None]


def relationship_svg(histories: Histories, row: int) -> str | None:
    from attunement.alerts.rupture import rupture_course

    sessions = int(histories.sessions[row])
    checkin = histories.score(_checkin_of(histories, row))[row : row + 1, :sessions]
    own = _values(checkin[0], sessions)
    estimate = _values(histories.score("checkin_therapist")[row], sessions)
    if sessions < 1 or (all(v is None for v in own) and all(v is None for v in estimate)):
        return None
    course = rupture_course(checkin)
    ruptures = [s + 1 for s in range(sessions) if course.alerting[0, s]]
    level, sd = course.level[0, sessions - 1], course.sd[0, sessions - 1]
    baseline = None
    if math.isfinite(level) and math.isfinite(sd):
        baseline = (max(0.0, level - sd), min(10.0, level + sd))
    return relationship_chart(
        list(range(1, sessions + 1)),
        own,
        estimate if any(v is not None for v in estimate) else None,
        ruptures=ruptures,
        baseline=baseline,
        chart_id="relationship",
    )


#: Charts drawn lately, by what they were drawn from (see :func:`client_charts`).
_DRAWN: OrderedDict[bytes, tuple[list[tuple[str, str]], str | None]] = OrderedDict()
_DRAWN_LOCK = threading.Lock()
_DRAWN_MOST = 256


def client_charts(
    histories: Histories | None, measures: Sequence[str], model=None, model_key: str = ""
) -> tuple[list[tuple[str, str]], str | None]:
    """The outcome charts and the relationship chart of a one-client ``histories``.

    Drawing them is a third of a client page's work, and a page is viewed far more often than
    its client answers. The charts are remembered by a digest of exactly what they are drawn
    from (every score of the row, the sessions, the measures and the forecast model's key), so a
    new answer, a correction or another model draws them afresh and nothing stale is shown."""
    if histories is None:
        return [], None
    digest = hashlib.blake2b(digest_size=20)
    shape = (list(measures), model_key, int(histories.sessions[0]), str(histories.group[0]))
    digest.update(repr(shape).encode())
    for name in sorted(histories.scores):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(histories.scores[name][0]).tobytes())
    key = digest.digest()
    with _DRAWN_LOCK:
        drawn = _DRAWN.get(key)
        if drawn is not None:
            _DRAWN.move_to_end(key)
            return drawn
    drawn = (outcome_svgs(histories, 0, measures, model), relationship_svg(histories, 0))
    with _DRAWN_LOCK:
        _DRAWN[key] = drawn
        while len(_DRAWN) > _DRAWN_MOST:
            _DRAWN.popitem(last=False)
    return drawn


def _checkin_of(histories: Histories, row: int) -> str:
    """The check-in the client answers: the individual one, or their role's in a couple, family
    or group (the first with a rating)."""
    for name in room_checkins():
        if name in histories.scores and not np.isnan(histories.scores[name][row]).all():
            return name
    return "checkin"


def therapist_outcomes_svg(figures) -> str | None:
    rows = [
        TherapistOutcome(f.therapist, f.improved.successes, f.improved.n) for f in figures if f.improved.n
    ]
    if not rows:
        return None
    return therapist_outcomes_chart(rows, outcome="reliable improvement")

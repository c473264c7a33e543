"""Per-session scores and histories straight from stored measure rows (pure; no pandas).

The pages need the histories of one client on every submission and of a caseload now and then.
Building them through the canonical tables (pandas pivots and vectorised scoring) costs tens of
milliseconds of fixed overhead even for one client, so this module scores the stored forms one
by one with the same scoring engine (:func:`attunement.instruments.score`) and fills the
session arrays directly. The rules are those of :func:`attunement.tables.scores.session_scores`:
a ready-made score row is taken as it is, item rows are scored as a form, a form with too many
missing items has no score, and PHQ-9 item 9 and the check-in's "judged" answer are kept as
measures of their own.

A session may hold two submissions of the same form (two links answered; a corrected therapist
rating). Then the later submission's form counts for the session's score (:func:`counted_rows`),
while the safety item takes the highest answer given in any submission of the session, so a
risk answer is never hidden by a later, calmer one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from attunement.errors import InvalidInputError
from attunement.instruments import get_instrument, score
from attunement.instruments.roles import room_checkins
from attunement.prediction.histories import MEASURES, NO_GROUP, Histories
from attunement.prediction.measures import charted_measures

#: (instrument, rater) of the stored rows -> the measure of the histories: the check-ins and
#: every charted measure: the outcome measures (a client-rated instrument with reliable-change
#: parameters: PHQ-9, GAD-7, and CORE-10 or another once a clinic offers it), which a forecast
#: model may use, and the other totals of the client's own state (PHQ-4, AUDIT-C, ...).
MEASURE_OF = {
    **{(m, "client"): m for m in charted_measures()},
    ("checkin", "client"): "checkin",
    ("checkin_therapist", "therapist"): "checkin_therapist",
    # A partner's, parent's, group member's or young person's own check-in (their role's).
    **{(c, "client"): c for c in room_checkins() if c != "checkin"},
}
#: The measures every history holds, observed or not (see :func:`build_histories`).
HISTORY_MEASURES = (*MEASURES, *(m for m in charted_measures() if m not in MEASURES))
ITEM9 = ("phq9", "phq9_9")
#: The check-in's "judged, criticised or pushed" answer, a measure of its own (negative process).
JUDGED = ("checkin", "checkin_judged")

#: One stored row: client id, session, instrument, rater, item, value, score, submission id.
Row = tuple[int, int, str, str, str | None, float | None, float | None, int | None]
#: measure -> {session: score}
Series = dict[str, dict[int, float]]


def counted_rows(rows: Iterable[Row]) -> list[Row]:
    """The rows that count for each session's forms: of several submissions of one form
    (client, session, instrument, rater), only the latest submission's rows."""
    rows = list(rows)
    latest: dict[tuple, int] = {}
    for client_id, session, instrument, rater, *_, submission in rows:
        key = (client_id, session, instrument, rater)
        latest[key] = max(latest.get(key, -1), submission or 0)
    return [r for r in rows if (r[7] or 0) == latest[(r[0], r[1], r[2], r[3])]]


def series_by_client(rows: Iterable[Row]) -> dict[int, Series]:
    """Each client's scores by measure and session (the later submission's form counts, its
    "judged" answer too; the safety item takes the highest answer of any submission)."""
    rows = list(rows)
    out: dict[int, Series] = defaultdict(lambda: defaultdict(dict))
    forms: dict[tuple[int, int, str, str], dict[str, float]] = defaultdict(dict)
    for client_id, session, instrument, _, item, value, _, _ in rows:
        if (instrument, item) == ITEM9 and value is not None:
            item9 = out[client_id]["phq9_item9"]
            item9[session] = max(item9.get(session, float(value)), float(value))
    for client_id, session, instrument, rater, item, value, given, _ in counted_rows(rows):
        measure = MEASURE_OF.get((instrument, rater))
        if measure is None:
            continue
        if (instrument, item) == JUDGED and rater == "client" and value is not None:
            out[client_id]["checkin_judged"][session] = float(value)
        if given is not None:
            out[client_id][measure][session] = float(given)
        elif item is not None and value is not None:
            forms[(client_id, session, instrument, measure)][item] = float(value)
    for (client_id, session, instrument, measure), answers in forms.items():
        total = form_total(instrument, answers)
        if total is not None:
            out[client_id][measure][session] = total
    return out


def form_total(instrument: str, answers: Mapping[str, float]) -> float | None:
    """The form's total, or None when it cannot be scored (too many missing, or not valid)."""
    try:
        return score(get_instrument(instrument), answers, allow_incomplete=True).total
    except InvalidInputError:
        return None


@dataclass(frozen=True)
class ClientRef:
    """What the histories need to know of a client besides the scores."""

    id: int
    therapist_id: int
    group: str
    sessions_attended: int


def build_histories(clients: Sequence[ClientRef], series: Mapping[int, Series]) -> Histories | None:
    """Histories of ``clients`` in their order, or None when none of them has a score yet."""
    present = sorted({m for c in clients for m, values in series.get(c.id, {}).items() if values})
    if not present:
        return None
    sessions = np.array(
        [
            max(c.sessions_attended, max((max(v) for v in series.get(c.id, {}).values() if v), default=0))
            for c in clients
        ],
        dtype=np.int64,
    )
    width = max(1, int(sessions.max(initial=1)))
    # Every measure the app collects is present, even for clients who have none of it yet (no
    # therapist rating so far): a model fitted on the clinic's own history, which records the
    # measures it uses, must still answer for them, with their values missing.
    scores = {}
    for measure in (*HISTORY_MEASURES, *(m for m in present if m not in HISTORY_MEASURES)):
        values = np.full((len(clients), width), np.nan)
        for row, client in enumerate(clients):
            for session, value in series.get(client.id, {}).get(measure, {}).items():
                if 1 <= session <= width:
                    values[row, session - 1] = value
        scores[measure] = values
    return Histories(
        client_id=np.array([str(c.id) for c in clients], dtype=object),
        therapist_id=np.array([str(c.therapist_id) for c in clients], dtype=object),
        group=np.array([c.group or NO_GROUP for c in clients], dtype=object),
        sessions=sessions,
        scores=scores,
    )

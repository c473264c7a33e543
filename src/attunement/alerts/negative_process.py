"""Negative process: the client says they felt judged, criticised or pushed in the session.

Hostile, critical or blaming responses and confrontation are among what the task forces list as
not working (the ``negative_processes`` and ``confrontation`` registry entries), and a client
rarely says so unprompted. The check-in asks it directly ("I felt judged, criticised or
pushed.", 0-10, reverse-keyed in the total), but inside the mean of six items a high answer is
easily averaged away by five good ones. This rule reads that one answer on its own, with two
parts (thresholds in ``parameters.json``, project choices: the check-in has no norms):

- **level**: the latest answer is at least ``judged_level``: the client agrees more than not;
- **rise**: with at least ``own_history_answers`` earlier answers, the latest lies at least
  ``rise_points`` above the mean of the client's own earlier answers: news for this client even
  below the level (read against their own history, as the rupture and perception-gap alerts are).

A missing answer never fires (nothing was said). An answer of ``judged_level_high`` or more, or
one at a session with a rupture alert (the check-in total also dropped), is shown as medium;
other alerts as low.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from attunement.alerts.fired import Fired, choose, join, latest, text, when
from attunement.alerts.parameters import NegativeProcessParameters, load_parameters
from attunement.prediction.histories import Histories

#: The measure the rule reads, and the item's wording as the client saw it (checkin.json).
MEASURE = "checkin_judged"
ITEM_TEXT = "I felt judged, criticised or pushed"
#: How each part is named in the alert's figures.
LEVEL, RISE = "level", "rise_against_own_answers"


@dataclass(frozen=True)
class JudgedState:
    """Per client and session (clients x sessions): the answer, the number and mean of the
    client's earlier answers (NaN before the first), the rise over that mean, and which part of
    the rule fires (``level``, ``rise``; ``fires`` is either)."""

    answer: np.ndarray
    earlier: np.ndarray
    usual: np.ndarray
    rise: np.ndarray
    level: np.ndarray
    rising: np.ndarray

    @property
    def fires(self) -> np.ndarray:
        fires: np.ndarray = self.level | self.rising
        return fires


def judged_course(judged: np.ndarray, params: NegativeProcessParameters | None = None) -> JudgedState:
    """The rule at every session, each judged only from the answers up to it (whole arrays):
    what the alerts read at the latest session, and what benchmarks/negative_process.py measures
    session by session."""
    p = params or load_parameters().negative_process
    answered = ~np.isnan(judged)
    value = np.where(answered, judged, 0.0)
    earlier = np.cumsum(answered, axis=1) - answered
    with np.errstate(invalid="ignore", divide="ignore"):
        usual = np.where(earlier > 0, (np.cumsum(value, axis=1) - value) / np.maximum(earlier, 1), np.nan)
        rise = judged - usual
        level = answered & (judged >= p.judged_level.value - 1e-9)
        rising = answered & (earlier >= p.own_history_answers.value) & (rise >= p.rise_points.value - 1e-9)
    return JudgedState(judged, earlier, usual, rise, level, rising)


def negative_process_alerts(
    histories: Histories,
    rupture_now: np.ndarray | None = None,
    params: NegativeProcessParameters | None = None,
) -> Fired:
    """The alerts for the latest session of each client; ``rupture_now`` (one bool per client)
    marks a rupture alert at that session."""
    p = params or load_parameters().negative_process
    judged = histories.score(MEASURE)
    state = judged_course(judged, p)
    rows, cols = latest(histories)
    fires = state.fires[rows, cols]
    r, c = rows[fires], cols[fires]
    answer, usual, rise, earlier = (
        state.answer[r, c],
        state.usual[r, c],
        state.rise[r, c],
        state.earlier[r, c],
    )
    level = state.level[r, c]
    strained = np.zeros(len(r), dtype=bool) if rupture_now is None else np.asarray(rupture_now)[r]
    high = (answer >= p.judged_level_high.value - 1e-9) | strained
    has_usual = earlier > 0
    session = c + 1
    said = join(
        "At session ",
        text(session, 0),
        " the client answered ",
        text(answer, 0),
        f' out of 10 to "{ITEM_TEXT}" (0 = not at all, 10 = completely)',
    )
    level_words = join(
        f", at or above the alert level of {p.judged_level.value:g}",
        when(has_usual, join("; their usual answer is ", text(usual), _from_earlier(earlier))),
    )
    rise_words = join(
        ", ",
        text(rise),
        " points above their usual answer of ",
        text(usual),
        _from_earlier(earlier),
        f"; alert threshold a rise of {p.rise_points.value:g} points",
    )
    reason = join(
        said,
        choose(level, level_words, rise_words),
        when(strained, ", at a session where their check-in total also dropped below their own level"),
        "; the thresholds are attunement's choices, as the check-in has no norms",
    )
    return Fired(
        kind="negative_process",
        rows=r,
        session=session,
        severity=np.where(high, "medium", "low").astype(object),
        reason=reason,
        figures={
            "judged": answer,
            "rule": np.where(level, LEVEL, RISE).astype(object),
            "usual_judged": np.round(usual, 2),
            "rise": np.round(rise, 2),
            "earlier_answers": earlier,
            "threshold": np.where(level, p.judged_level.value, p.rise_points.value),
        },
    )


def _from_earlier(earlier: np.ndarray) -> pa.Array:
    """ " (mean of 3 earlier answers)", " (1 earlier answer)": what the usual answer rests on."""
    return choose(
        earlier == 1,
        pa.array(np.full(len(earlier), " (1 earlier answer)", dtype=object), type=pa.string()),
        join(" (mean of ", text(earlier, 0), " earlier answers)"),
    )

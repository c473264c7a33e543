"""Safety from a history's session arrays: what :class:`Histories` can show of the one rule.

The rule is :mod:`attunement.alerts.critical_answers` (every critical item, endorsed or left
blank on a form that was sent, the latest such session per course). A :class:`Histories` keeps
only PHQ-9 item 9 and the PHQ-9 total of sessions 1 and up, so this is the rule applied to what
it holds: at each attended session, a PHQ-9 was sent when its item 9 or its total was recorded,
and its item 9 is endorsed, answered below the cut-off or blank. Data that hold PHQ-9 totals
only cannot show item 9: nothing is flagged, and docs/alerts.md says so.

Callers with the answers themselves use them instead: the web app its stored forms
(:func:`attunement.alerts.critical.critical_alerts`), the batch the item rows of the measures
table, which hold every instrument and session 0 too (:mod:`attunement.alerts.batch`).
"""

from __future__ import annotations

import numpy as np

from attunement.alerts.critical_answers import Answers, critical_fired
from attunement.alerts.fired import Fired
from attunement.prediction.histories import Histories

#: The instrument and critical item whose answers :class:`Histories` carries, and under what name.
INSTRUMENT, ITEM, MEASURE = "phq9", "phq9_9", "phq9_item9"
#: Stands for the rest of a form whose total was recorded (it was sent).
TOTAL = "total"


def safety_alerts(histories: Histories) -> list[Fired]:
    """The safety alerts the session arrays show (rows index ``histories``)."""
    answers = history_answers(histories)
    return [] if answers is None else [critical_fired(answers)]


def history_answers(histories: Histories) -> Answers | None:
    """PHQ-9 forms of the attended sessions, as answers: item 9 as recorded, and the total (when
    there is one) standing for the other items; None when the arrays hold no item 9 at all."""
    if MEASURE not in histories.scores:
        return None
    item9, totals = histories.scores[MEASURE], histories.score(INSTRUMENT)
    attended = np.arange(histories.max_session)[None, :] < histories.sessions[:, None]
    rows, cols = np.nonzero((~np.isnan(item9) | ~np.isnan(totals)) & attended)
    n = len(rows)
    return Answers(
        course=np.repeat(rows, 2).astype(np.int64),
        session=np.repeat(cols + 1, 2).astype(np.int64),
        instrument=np.zeros(2 * n, dtype=np.int64),
        instruments=[INSTRUMENT],
        item=np.tile([0, 1], n),
        items=[ITEM, TOTAL],
        value=np.column_stack((item9[rows, cols], totals[rows, cols])).reshape(-1),
    )

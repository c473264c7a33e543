"""Safety: an endorsed or skipped critical item (PHQ-9 item 9) always gives a high alert.

The rule, the item's name and the wording come from the instrument definition's
``critical_items`` (the same ones :mod:`attunement.instruments.scoring` flags). A skipped item is
one left blank on a PHQ-9 that was otherwise filled in (its total was recorded); it is flagged
because a blank answer is not a "no". Data that hold PHQ-9 totals only, with no item answers at
all, cannot show item 9: then there is nothing to check, and docs/alerts.md says so. A safety
alert always ``requires_action``: it cannot be dismissed without a recorded action.

The alert is for the client's latest session with a risk answer, not only the latest session:
a therapist's rating or calmer answers at a later session (or a late answer to an earlier
session's link) must not make an endorsed item disappear. Once what was done is recorded for
that session's alert, it stays shown with its record; a new risk answer at a later session
raises a new one.
"""

from __future__ import annotations

import numpy as np

from attunement.alerts.fired import Fired, at, join, text
from attunement.instruments import get_instrument
from attunement.instruments.definition import CriticalItem
from attunement.prediction.histories import Histories

#: The critical item that :class:`Histories` carries, by its linkId.
ITEM_MEASURE = {"phq9_9": "phq9_item9"}


def safety_alerts(histories: Histories) -> list[Fired]:
    instrument = get_instrument("phq9")
    totals = histories.score("phq9")
    # Only the sessions each client has attended so far count (the arrays may be wider).
    attended = np.arange(histories.max_session)[None, :] < histories.sessions[:, None]
    fired: list[Fired] = []
    for critical in instrument.scoring.critical_items:
        measure = ITEM_MEASURE.get(critical.item)
        if measure is None or measure not in histories.scores:
            continue
        answers = histories.scores[measure]
        with np.errstate(invalid="ignore"):
            risk = ((answers >= critical.min_value) | (np.isnan(answers) & ~np.isnan(totals))) & attended
        rows = np.flatnonzero(risk.any(axis=1))
        cols = (histories.max_session - 1 - risk[rows, ::-1].argmax(axis=1)).astype(np.int64)
        session = cols + 1
        total = at(totals, rows, cols)
        value = at(answers, rows, cols)
        endorsed = value >= critical.min_value
        skipped = np.isnan(value) & ~np.isnan(total)
        before, _, after = critical.reason.partition("{value}")
        name = item_name(critical, instrument.short_name)
        s_end = text(session[endorsed], 0)
        fired.append(
            Fired(
                kind="safety",
                rows=rows[endorsed],
                session=session[endorsed],
                severity=np.full(int(endorsed.sum()), "high", dtype=object),
                reason=join("Session ", s_end, ": ", before, text(value[endorsed], 0), after),
                requires_action=True,
                figures={
                    "item": np.full(int(endorsed.sum()), critical.item, dtype=object),
                    "answer": value[endorsed],
                    "flag": np.full(int(endorsed.sum()), critical.flag, dtype=object),
                },
            )
        )
        s_skip = text(session[skipped], 0)
        fired.append(
            Fired(
                kind="safety",
                rows=rows[skipped],
                session=session[skipped],
                severity=np.full(int(skipped.sum()), "high", dtype=object),
                reason=join(
                    "Session ",
                    s_skip,
                    f": {name} was left unanswered on an otherwise completed {instrument.short_name}"
                    " (a safety item; a blank is not a no): ask directly",
                ),
                requires_action=True,
                figures={
                    "item": np.full(int(skipped.sum()), critical.item, dtype=object),
                    "answer": np.full(int(skipped.sum()), "not answered", dtype=object),
                    "flag": np.full(int(skipped.sum()), "critical_item_unanswered", dtype=object),
                },
            )
        )
    return fired


def item_name(critical: CriticalItem, short_name: str) -> str:
    """The item's name as the definition's reason words it ("PHQ-9 item 9 (...)")."""
    before = critical.reason.partition("{value}")[0]
    head = before.removesuffix(" ").removesuffix("answered").strip()
    return head or f"{short_name} {critical.item}"

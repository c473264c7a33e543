"""The risk answers of an episode not yet dealt with: what its safety alert is about.

A clinician deals with risk answers by recording what was done for the safety alert that showed
them. Every risk answer stored before then (stored answers are numbered in the order they came
in) is dealt with; one stored after it is news, whichever session it is for: a later session,
a late answer to an earlier session's link, or a second link for a session already answered.
The safety alert names the latest session's risk answers first, then any other not yet dealt
with, so nothing waiting is left out of what the clinician reads before acting.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from attunement.alerts import Alert
from attunement.alerts.alert import NEEDS_ACTION
from attunement.alerts.critical import Form, critical_alerts, form_flags
from attunement.alerts.lifecycle import THROUGH
from attunement.instruments import get_instrument, instrument_ids
from attunement.store.models import KeptAlert, Measure


@dataclass(frozen=True)
class RiskForm:
    form: Form
    submission: int
    #: Who answered it: the client, or a caregiver reporting on a young person.
    rater: str = "client"


#: The raters whose risk answers raise the client's safety alert: the client's own, and a
#: caregiver's report on a young person (a risk answer is never dropped for who gave it).
RISK_RATERS = ("client", "caregiver")


def _critical_instruments() -> list[str]:
    return [i for i in instrument_ids() if get_instrument(i).scoring.critical_items]


def risk_forms(db: Session, episode_ids: Sequence[int]) -> dict[int, list[RiskForm]]:
    """The client's (and a caregiver's) forms of these episodes whose instrument has critical
    items, by episode (one small query: only those items' rows)."""
    if not episode_ids:
        return {}
    answers: dict[tuple[int, int, int, str], dict[str, float | None]] = defaultdict(dict)
    raters: dict[int, str] = {}
    for episode_id, session, instrument, item, value, submission, rater in db.execute(
        select(
            Measure.episode_id,
            Measure.session,
            Measure.instrument,
            Measure.item,
            Measure.value,
            Measure.submission_id,
            Measure.rater,
        ).where(
            Measure.episode_id.in_(list(episode_ids)),
            Measure.rater.in_(RISK_RATERS),
            Measure.item.is_not(None),
            Measure.instrument.in_(_critical_instruments()),
        )
    ):
        if item is not None:  # never NULL here: the query asks for answers
            answers[(episode_id, submission or 0, session, instrument)][item] = value
            raters[submission or 0] = rater
    out: dict[int, list[RiskForm]] = defaultdict(list)
    for (episode_id, submission, session, instrument), given in answers.items():
        form = Form(episode_id, session, instrument, given)
        out[episode_id].append(RiskForm(form, submission, raters.get(submission, "client")))
    return out


def dealt_with(kept: Sequence[KeptAlert]) -> int:
    """The last stored answer that a recorded action on a safety alert covers (0: none yet)."""
    return max(
        (
            int(json.loads(k.figures or "{}").get(THROUGH, 0))
            for k in kept
            if k.kind in NEEDS_ACTION and k.status == "actioned"
        ),
        default=0,
    )


def open_risk(forms: Sequence[RiskForm], dealt: int) -> Alert | None:
    """The safety alert for the risk answers stored after ``dealt``, or None when there are none."""
    news = [f for f in forms if f.submission > dealt and form_flags(f.form)]
    if not news:
        return None
    by_session: dict[int, list[Form]] = defaultdict(list)
    for f in news:
        by_session[f.form.session].append(f.form)
    latest_session = max(by_session)
    latest = next(iter(critical_alerts(by_session[latest_session]).values()))
    earlier = [f"session {s} ({_brief(by_session[s])})" for s in sorted(by_session, reverse=True)[1:]]
    reason = latest.reason + (
        f". Earlier risk answers not yet dealt with: {', '.join(earlier)}" if earlier else ""
    )
    if any(f.rater == "caregiver" for f in news):
        reason += ". Includes a caregiver's report on the young person"
    figures = {**latest.figures, THROUGH: max(f.submission for f in news)}
    return replace(latest, reason=reason, figures=figures)


def _brief(forms: Sequence[Form]) -> str:
    """A session's risk answers in a few words: "PHQ-9 item 9: 3" (the highest of two forms)."""
    best: dict[tuple[str, str], float | None] = {}
    for form in forms:
        for flag in form_flags(form):
            key = (form.instrument, flag.item)
            value = flag.value
            held = best.get(key, value)
            best[key] = value if held is None or (value is not None and value >= held) else held
    return "; ".join(
        f"{get_instrument(i).short_name} item {item.rsplit('_', 1)[-1]}: "
        + ("not answered" if v is None else f"{v:g}")
        for (i, item), v in sorted(best.items())
    )

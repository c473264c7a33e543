"""Kept alerts: what the lifecycle (:mod:`attunement.alerts.lifecycle`) decides, written down, and
what clinicians record about them (seen, what was done, what happened next, set aside), each as
an event of the alert's history. Nothing is overwritten: an alert's reason is its latest, and
every earlier step stays in ``alert_events``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from attunement.alerts import Alert
from attunement.alerts.alert import NEEDS_ACTION
from attunement.alerts.fired import plain
from attunement.alerts.lifecycle import LIVE, THROUGH, Kept, Step, next_steps
from attunement.errors import FieldProblem, InvalidInputError
from attunement.store.changes import touch_client
from attunement.store.clock import now
from attunement.store.models import AlertEvent, Episode, KeptAlert, User
from attunement.store.notifications import notify_safety

MAX_TEXT = 2000
#: What a clinician can record on alerts, and what each needs.
RECORDS = ("seen", "unsee", "record", "set_aside")


def kept_alerts(db: Session, episode_ids: Sequence[int]) -> dict[int, list[KeptAlert]]:
    """Every kept alert of these episodes, by episode id, oldest first."""
    out: dict[int, list[KeptAlert]] = defaultdict(list)
    if episode_ids:
        query = select(KeptAlert).where(KeptAlert.episode_id.in_(list(episode_ids))).order_by(KeptAlert.id)
        for row in db.scalars(query):
            out[row.episode_id].append(row)
    return out


def keep(
    db: Session,
    episode: Episode,
    kept: Sequence[KeptAlert],
    firing: Sequence[Alert],
    latest_session: int,
    undecided: Collection[str] = (),
) -> list[KeptAlert]:
    """Bring the episode's kept alerts (``kept``, as :func:`kept_alerts` read them) in line with
    what fires now (``undecided``: kinds that cannot be judged at the latest session yet);
    returns them all, the newly opened last."""
    rows = list(kept)
    by_id = {r.id: r for r in rows}
    views = [
        Kept(
            r.id,
            r.kind,
            r.status,
            r.opened_session,
            r.last_session,
            r.reason,
            json.loads(r.figures or "{}").get(THROUGH),
        )
        for r in rows
    ]
    moment = now()
    through = {v.id: v.through or 0 for v in views}
    for step in next_steps(views, firing, latest_session, undecided, ended=not episode.active):
        if step.op == "open":
            alert = _alert_of(step)
            row = KeptAlert(
                client_id=episode.client_id,
                episode_id=episode.id,
                status="open",
                opened_session=alert.session,
                opened_at=moment,
                closed_at=None,
            )
            _fill(row, alert, moment)
            db.add(row)
            db.flush()
            rows.append(row)
            _event(db, row, "opened", alert.session, alert.reason, None, moment)
            if row.kind in NEEDS_ACTION:
                notify_safety(db, episode, row)
        elif step.op == "update":
            alert = _alert_of(step)
            row = by_id[_kept_id_of(step)]
            _fill(row, alert, moment)
            _event(db, row, "updated", alert.session, alert.reason, None, moment)
            if row.kind in NEEDS_ACTION and int(alert.figures.get(THROUGH, 0)) > through[row.id]:
                notify_safety(db, episode, row)  # a further risk answer while the alert is open
        else:
            row = by_id[_kept_id_of(step)]
            row.status, row.changed_at, row.closed_at = "resolved", moment, moment
            _event(db, row, "resolved", latest_session, step.note, None, moment)
    db.flush()
    return rows


def _alert_of(step: Step) -> Alert:
    """The alert a step to open or update carries."""
    if step.alert is None:
        raise ValueError(f"a step to {step.op} a kept alert without the alert")
    return step.alert


def _kept_id_of(step: Step) -> int:
    """The kept alert a step to update or resolve changes."""
    if step.kept_id is None:
        raise ValueError(f"a step to {step.op} without the kept alert it changes")
    return step.kept_id


def _fill(row: KeptAlert, alert: Alert, moment) -> None:
    row.kind, row.severity = alert.kind, alert.severity
    row.probability = None if alert.probability is None else float(alert.probability)
    row.requires_action = bool(alert.requires_action)
    row.last_session, row.reason = int(alert.session), alert.reason
    row.figures = json.dumps(alert.figures, default=plain, sort_keys=True)
    row.changed_at = moment


@dataclass(frozen=True)
class Recorded:
    """What a clinician's form recorded, for the audit log."""

    what: str
    alert_ids: tuple[int, ...]


def record_on_alerts(
    db: Session,
    episode: Episode,
    user: User | None,
    alert_ids: Sequence[int],
    what: str,
    *,
    action: str = "",
    outcome: str = "",
    reason: str = "",
    seen_through: Mapping[int, int] | None = None,
    at: datetime | None = None,
) -> Recorded:
    """Record one thing on one or more live alerts of the episode (checked whole first: nothing is
    written when any part is wrong).

    ``what`` is "seen" (acknowledged), "unsee" (back to new), "record" (what was done and/or
    what happened next) or "set_aside" (no action needed, with ``reason``). A safety alert can
    be closed only by recording what was done: it cannot be only seen or set aside.

    ``seen_through``: for each safety alert, the last stored answer the clinician's page showed
    (its :data:`THROUGH` figure). A risk answer that came in after the page was opened updates
    the open alert; recording an action from the older page would count that answer as dealt
    with unseen, so the record is refused and the page shows the new answer.

    ``user`` None, with ``at``: an action recorded elsewhere and brought in by a history import
    (:mod:`attunement.store.history_import`), kept as a step the app took (no user of the app
    recorded it), dated when it was recorded there.
    """
    action, outcome, reason = (t.strip()[:MAX_TEXT] for t in (action, outcome, reason))
    live = {a.id: a for a in kept_alerts(db, [episode.id])[episode.id] if a.status in LIVE}
    chosen = [live[i] for i in dict.fromkeys(alert_ids) if i in live]
    problems = []
    if what not in RECORDS:
        problems.append(FieldProblem("what to record", what, "seen, what was done, or set aside"))
    if not chosen or len(chosen) != len(set(alert_ids)):
        problems.append(FieldProblem("alerts", "", "one or more of this episode's current alerts, ticked"))
    safety = [a for a in chosen if a.kind in NEEDS_ACTION]
    if what == "record" and not (action or outcome):
        problems.append(FieldProblem("what was done", "", "what was done, or what happened next"))
    if what == "record" and safety and not action:
        problems.append(
            FieldProblem(
                "what was done", "", "a recorded action: a safety alert is closed only by what was done"
            )
        )
    if what == "record" and action and seen_through is not None:
        newer = [a for a in safety if _through(a) > seen_through.get(a.id, 0)]
        if newer:
            problems.append(
                FieldProblem(
                    "alerts",
                    "safety",
                    "a record made after reading the latest risk answers: a new one came in after "
                    "this page was opened and is shown now",
                )
            )
    if what == "seen" and safety:
        problems.append(
            FieldProblem(
                "alerts", "safety", "what was done for the safety alert (it cannot be marked only as seen)"
            )
        )
    if what == "set_aside" and safety:
        problems.append(
            FieldProblem("alerts", "safety", "alerts other than safety: a safety alert cannot be set aside")
        )
    if what == "set_aside" and not reason:
        problems.append(FieldProblem("why no action is needed", "", "a short reason"))
    if problems:
        raise InvalidInputError("alert record", problems)
    touch_client(db, episode.client_id)
    moment = at if at is not None else now()
    for alert in chosen:
        _record(db, alert, user, what, action, outcome, reason, moment)
    db.flush()
    return Recorded(what, tuple(a.id for a in chosen))


def _through(row: KeptAlert) -> int:
    """The last stored answer a safety alert covers (0 when it does not say)."""
    return int(json.loads(row.figures or "{}").get(THROUGH, 0))


def _record(
    db, alert: KeptAlert, user: User | None, what: str, action: str, outcome: str, reason: str, moment
) -> None:
    if what == "seen" and alert.status == "open":
        alert.status = "acknowledged"
        _event(db, alert, "acknowledged", alert.last_session, None, user, moment)
    elif what == "unsee" and alert.status == "acknowledged":
        alert.status = "open"
        _event(db, alert, "unacknowledged", alert.last_session, None, user, moment)
    elif what == "set_aside":
        alert.status = "set_aside"
        _event(db, alert, "set_aside", alert.last_session, reason, user, moment)
    elif what == "record":
        if action:
            alert.status = "actioned"
            if alert.kind in NEEDS_ACTION:
                alert.closed_at = moment
            _event(db, alert, "actioned", alert.last_session, action, user, moment)
        if outcome:
            _event(db, alert, "outcome", alert.last_session, outcome, user, moment)


def _event(db, alert: KeptAlert, action: str, session, note, user: User | None, moment) -> None:
    db.add(
        AlertEvent(
            alert_id=alert.id,
            action=action,
            session=session,
            note=note,
            at=moment,
            by_user=user.id if user is not None else None,
        )
    )


def alert_history(db: Session, alert_ids: Sequence[int]) -> dict[int, list[AlertEvent]]:
    """Each alert's events, oldest first."""
    out: dict[int, list[AlertEvent]] = defaultdict(list)
    if alert_ids:
        query = select(AlertEvent).where(AlertEvent.alert_id.in_(list(alert_ids))).order_by(AlertEvent.id)
        for event in db.scalars(query):
            out[event.alert_id].append(event)
    return out


def latest_notes(events: Sequence[AlertEvent]) -> tuple[str | None, str | None]:
    """The latest "what was done" and "what happened next" of an alert's history."""
    action = next((e.note for e in reversed(events) if e.action == "actioned"), None)
    outcome = next((e.note for e in reversed(events) if e.action == "outcome"), None)
    return action, outcome

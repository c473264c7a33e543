"""What was done about an alert: seen, the action, what happened next; one record per alert
(episode, session, kind). A safety alert cannot be set aside as seen without an action."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from attunement.alerts import KINDS
from attunement.errors import FieldProblem, InvalidInputError
from attunement.store.changes import touch_client
from attunement.store.clock import now
from attunement.store.models import AlertRecord, Episode, User

MAX_TEXT = 2000


def record_alert(
    db: Session,
    episode: Episode,
    user: User,
    session: int,
    kind: str,
    *,
    seen: bool,
    action: str,
    outcome: str,
) -> AlertRecord:
    """Add to the alert's record (checked whole first: nothing is written when a part is wrong)."""
    action, outcome = action.strip()[:MAX_TEXT], outcome.strip()[:MAX_TEXT]
    problems = []
    if kind not in KINDS:
        problems.append(FieldProblem("kind", kind, "one of " + ", ".join(KINDS)))
    if kind == "safety" and seen and not action:
        problems.append(
            FieldProblem(
                "what was done", "", "a recorded action: a safety alert cannot be set aside without one"
            )
        )
    if problems:
        raise InvalidInputError("alert record", problems)
    touch_client(db, episode.client_id)
    row = db.scalar(
        select(AlertRecord).where(
            AlertRecord.episode_id == episode.id, AlertRecord.session == session, AlertRecord.kind == kind
        )
    )
    moment = now()
    if row is None:
        row = AlertRecord(
            client_id=episode.client_id, episode_id=episode.id, session=session, kind=kind, updated_at=moment
        )
        db.add(row)
    if (seen or action) and row.seen_at is None:
        row.seen_at, row.seen_by = moment, user.id
    if action:
        row.action = action
    if outcome:
        row.next_outcome = outcome
    row.updated_at = moment
    db.flush()
    return row

"""Stored intake profile answers: written with a client's submission, read for the client page.

The answers are kept as the client gave them (not as a ready profile), so the profile is always
built by the current mapping rules and the clinician sees what the client actually answered.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from attunement.store.clock import now
from attunement.store.models import IntakeAnswers, LinkToken, Submission

IntakeValues = Mapping[str, float | str]


def store_intake(db: Session, client_id: int, submission_id: int, answers: IntakeValues) -> None:
    """Add the answers of one submission, in the caller's transaction (nothing when none given)."""
    if not answers:
        return
    db.add(
        IntakeAnswers(
            client_id=client_id,
            submission_id=submission_id,
            answers=json.dumps(dict(answers), sort_keys=True),
            recorded_at=now(),
        )
    )
    db.flush()


def latest_intake(db: Session, client_ids: Sequence[int]) -> dict[int, dict[str, float | str]]:
    """The most recent intake answers of each client that has any, by client id."""
    if not client_ids:
        return {}
    newest = (
        select(func.max(IntakeAnswers.id))
        .where(IntakeAnswers.client_id.in_(list(client_ids)))
        .group_by(IntakeAnswers.client_id)
    )
    rows = db.execute(
        select(IntakeAnswers.client_id, IntakeAnswers.answers).where(IntakeAnswers.id.in_(newest))
    ).all()
    return {client_id: json.loads(answers) for client_id, answers in rows}


def is_first_contact(db: Session, client_id: int) -> bool:
    """True before the client has been sent any link or has any stored answers: intake time."""
    linked = db.scalar(select(exists().where(LinkToken.client_id == client_id)))
    answered = db.scalar(select(exists().where(Submission.client_id == client_id)))
    return not linked and not answered

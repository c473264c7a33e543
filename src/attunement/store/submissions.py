"""Client links and stored answers: issue a link, open it, submit it exactly once.

A submission is one transaction: the link is claimed (``used_at`` set only where it was still
unset) and every answer row is written, or nothing is. A second submission of the same link
finds it claimed and stores nothing, so sending a form twice is safe.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from attunement.errors import FieldProblem, InvalidInputError
from attunement.store.clients import touch_client
from attunement.store.clock import aware, now
from attunement.store.intake import IntakeValues, store_intake
from attunement.store.models import Client, LinkToken, Measure, Submission, User

MAX_SESSION = 200


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_session_number(session: object) -> int:
    try:
        number = int(str(session).strip())
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_SESSION:
        raise InvalidInputError(
            "session", [FieldProblem("session", session, f"a whole number from 1 to {MAX_SESSION}")]
        )
    return number


def issue_link(
    db: Session, client: Client, clinician: User, session: int, instruments: list[str], valid_days: int
) -> str:
    """A new single-use token for ``session``; only its hash is stored, the token is shown once."""
    token = secrets.token_urlsafe(32)
    created = now()
    db.add(
        LinkToken(
            token_hash=token_hash(token),
            client_id=client.id,
            session=session,
            instruments=",".join(instruments),
            created_by=clinician.id,
            created_at=created,
            expires_at=created + timedelta(days=valid_days),
            used_at=None,
        )
    )
    db.flush()
    return token


LinkState = Literal["open", "used", "expired", "unknown"]


@dataclass(frozen=True)
class OpenedLink:
    state: LinkState
    link: LinkToken | None
    client: Client | None


def open_link(db: Session, token: str) -> OpenedLink:
    link = db.scalar(select(LinkToken).where(LinkToken.token_hash == token_hash(token))) if token else None
    if link is None:
        return OpenedLink("unknown", None, None)
    client = db.get(Client, link.client_id)
    if link.used_at is not None:
        return OpenedLink("used", link, client)
    if aware(link.expires_at) <= now():
        return OpenedLink("expired", link, client)
    return OpenedLink("open", link, client)


AnswerRows = Mapping[str, Mapping[str, float]]


def claim_and_store(
    db: Session,
    link: LinkToken,
    answers: AnswerRows,
    comment: str | None,
    intake: IntakeValues | None = None,
) -> bool:
    """Claim the link and store every answer, in the caller's transaction.

    Returns False (storing nothing) when the link was already used or has expired meanwhile.
    ``answers`` maps instrument id to {item linkId: value}; ``intake`` holds the intake profile
    answers sent with the same form (stored with the same submission, or not at all).
    """
    moment = now()
    claimed = db.execute(
        update(LinkToken)
        .where(LinkToken.id == link.id, LinkToken.used_at.is_(None), LinkToken.expires_at > moment)
        .values(used_at=moment)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return False
    submission = store_answers(
        db, link.client_id, link.session, "client", answers, comment, link_token_id=link.id
    )
    if intake:
        store_intake(db, link.client_id, submission.id, intake)
    return True


def store_answers(
    db: Session,
    client_id: int,
    session: int,
    rater: str,
    answers: AnswerRows,
    comment: str | None,
    *,
    link_token_id: int | None = None,
    submitted_by: int | None = None,
) -> Submission:
    """Write one submission and its item rows, replacing earlier answers to the same forms.

    A later form for the same session and instrument replaces the earlier one (for example a
    corrected therapist rating), so a session never holds two answers to one item.
    """
    touch_client(db, client_id)
    moment = now()
    # Whole-set statements (one DELETE, one multi-row INSERT): a submission is on the hot path.
    db.execute(
        delete(Measure).where(
            Measure.client_id == client_id,
            Measure.session == session,
            Measure.instrument.in_(list(answers)),
            Measure.rater == rater,
        )
    )
    submission = Submission(
        client_id=client_id,
        session=session,
        rater=rater,
        link_token_id=link_token_id,
        submitted_by=submitted_by,
        comment=comment or None,
        submitted_at=moment,
    )
    db.add(submission)
    db.flush()
    rows = [
        {
            "client_id": client_id,
            "submission_id": submission.id,
            "session": session,
            "instrument": instrument,
            "rater": rater,
            "item": item,
            "value": float(value),
            "score": None,
            "recorded_at": moment,
        }
        for instrument, items in answers.items()
        for item, value in items.items()
    ]
    if rows:
        db.execute(insert(Measure), rows)
    return submission

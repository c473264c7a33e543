"""Stored intake profile answers, and which part of the intake questions a link carries.

The answers are kept as the client gave them (not as a ready profile), so the profile is always
built by the current mapping rules and the clinician sees what the client actually answered.
The questions are asked in parts (:mod:`attunement.profile.parts`); each submission's answers
are one row, and a client's profile is built from every row, each question's latest answer
counting. A link names what it asks in its list of instruments: ``intake_profile`` for every
intake question, ``intake_profile:2`` for part 2 alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from attunement.errors import FieldProblem, InvalidInputError
from attunement.profile.parts import (
    INTAKE,
    IntakePart,
    answered_parts,
    get_part,
    intake_parts,
    merge_answers,
    next_part,
)
from attunement.store.clock import aware, now
from attunement.store.models import IntakeAnswers, LinkToken, Submission

IntakeValues = Mapping[str, float | str]
#: What a clinician may choose for a link: the next part, every question, or none.
CHOICES = ("next", "all", "none")


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


def current_intake(db: Session, client_ids: Sequence[int]) -> dict[int, dict[str, float | str]]:
    """Each client's intake answers from all their rows (each question's latest answer), by
    client id, for the clients that have any."""
    if not client_ids:
        return {}
    rows = db.execute(
        select(IntakeAnswers.client_id, IntakeAnswers.answers)
        .where(IntakeAnswers.client_id.in_(list(client_ids)))
        .order_by(IntakeAnswers.id)
    ).all()
    found: dict[int, list[dict]] = {}
    for client_id, answers in rows:
        found.setdefault(client_id, []).append(json.loads(answers))
    return {client_id: merge_answers(kept) for client_id, kept in found.items()}


def link_part(instruments: str) -> tuple[bool, IntakePart | None]:
    """Whether a link's instruments ask intake questions, and which part (None: every question)."""
    for entry in instruments.split(","):
        if entry == INTAKE:
            return True, None
        if entry.startswith(INTAKE + ":"):
            return True, get_part(int(entry.split(":", 1)[1]))
    return False, None


def described(entry: str | None) -> str | None:
    """What a link's intake entry asks, in words ("part 2 of 3 of the intake questions")."""
    if not entry:
        return None
    _, part = link_part(entry)
    return "every intake question" if part is None else f"{part.name} of the intake questions"


@dataclass(frozen=True)
class IntakeState:
    """Where a client stands with the intake questions."""

    asked: frozenset[int]
    waiting: frozenset[int]
    next: IntakePart | None
    first_contact: bool

    @property
    def complete(self) -> bool:
        return len(self.asked) == len(intake_parts())


def intake_state(db: Session, client_id: int) -> IntakeState:
    """The parts a client has answered (or sent back skipped), those waiting on an open link,
    and the part a new link would carry."""
    everything = {p.number for p in intake_parts()}
    asked: set[int] = set()
    waiting: set[int] = set()
    links = db.execute(
        select(LinkToken.instruments, LinkToken.used_at, LinkToken.expires_at).where(
            LinkToken.client_id == client_id, LinkToken.instruments.contains(INTAKE)
        )
    ).all()
    moment = now()
    for instruments, used_at, expires_at in links:
        carries, part = link_part(instruments)
        if not carries:
            continue
        numbers = everything if part is None else {part.number}
        if used_at is not None:
            asked |= numbers
        elif aware(expires_at) > moment:
            waiting |= numbers
    rows = db.scalars(select(IntakeAnswers.answers).where(IntakeAnswers.client_id == client_id)).all()
    asked |= answered_parts(json.loads(r) for r in rows)
    return IntakeState(
        asked=frozenset(asked),
        waiting=frozenset(waiting - asked),
        next=next_part(asked, waiting),
        first_contact=is_first_contact(db, client_id),
    )


def parse_intake_choice(value: str | None) -> str:
    """The link form's intake choice, checked (empty means the next part)."""
    choice = (value or "next").strip() or "next"
    if choice not in CHOICES:
        raise InvalidInputError(
            "intake",
            [FieldProblem("intake", choice[:40], "the next part, all the questions, or none")],
        )
    return choice


def intake_for_link(db: Session, client_id: int, choice: str = "next") -> str | None:
    """The intake entry for a new link's instruments, or None: ``next`` gives the next part not
    yet asked (none once every part has been), ``all`` every question. A client's first link
    always asks: ``none`` then gives the first part."""
    state = intake_state(db, client_id)
    if choice == "all":
        return INTAKE
    if choice == "none" and not state.first_contact:
        return None
    return None if state.next is None else f"{INTAKE}:{state.next.number}"


def is_first_contact(db: Session, client_id: int) -> bool:
    """True before the client has been sent any link or has any stored answers: intake time."""
    linked = db.scalar(select(exists().where(LinkToken.client_id == client_id)))
    answered = db.scalar(select(exists().where(Submission.client_id == client_id)))
    return not linked and not answered

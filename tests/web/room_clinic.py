"""Helpers for the tests of cases: participants answering their check-in, stored as a client's
link stores it (every member's lock, then the answers and the summary, in one transaction)."""

from __future__ import annotations

from sqlalchemy import select

from attunement.instruments import get_instrument
from attunement.instruments.roles import checkin_for
from attunement.store.cases import add_participant, create_case, lock_room
from attunement.store.episodes import current_episode
from attunement.store.models import Client, User
from attunement.store.submissions import store_answers
from attunement.store.summary_store import refresh_after_answers


def user_named(db, name: str) -> User:
    return db.scalar(select(User).where(User.username == name))


def checkin_answers(role: str, total: float) -> dict[str, float]:
    """Answers to the role's check-in whose total is ``total`` (reversed items the other way)."""
    instrument = get_instrument(checkin_for(role))
    reverse = set(instrument.scoring.reverse)
    return {item: (10 - total if item in reverse else total) for item in instrument.scoring.items}


def open_case(clinic, label: str, format_id: str, people: list[tuple[str, str]]) -> dict[str, str]:
    """A case of clin_a's with new participants (reference, role); their public ids by reference,
    also put in ``clinic.clients``."""
    with clinic.db.session() as db:
        clin_a = user_named(db, "clin_a")
        case = create_case(db, clin_a, label, format_id)
        ids = {
            name: add_participant(db, clin_a, case, role, label=name).client.public_id
            for name, role in people
        }
        ids["case"] = case.public_id
    clinic.clients.update({k: v for k, v in ids.items() if k != "case"})
    return ids


def answer(clinic, public_id: str, role: str, session: int, total: float, extra: dict | None = None) -> None:
    """The participant answers their check-in (and ``extra`` forms) for their own ``session``."""
    answers = {checkin_for(role): checkin_answers(role, total), **(extra or {})}
    with clinic.db.session() as db:
        client = db.scalar(select(Client).where(Client.public_id == public_id))
        episode = current_episode(db, client.id)
        lock_room(db, client.id)
        store_answers(db, client.id, episode.id, session, "client", answers, None)
        refresh_after_answers(db, client, episode.id, session, "client", answers)

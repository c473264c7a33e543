"""Two changes to one client at the same moment are applied one after the other (SQLite and
PostgreSQL): the second waits for the client's lock and then sees what the first did, so a
double click on "send link" gives sessions 1 and 2, never a database error."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from attunement.store.changes import lock_client
from attunement.store.clock import now
from attunement.store.episodes import current_episode
from attunement.store.models import Client, TherapySession
from attunement.store.schedule import next_number


def _numbers_created_concurrently(clinic) -> list[int]:
    with clinic.db.session() as db:
        client_id = db.scalar(select(Client.id).where(Client.public_id == clinic.clients["of_a"]))
    made: list[int] = []
    errors: list[BaseException] = []
    first_has_lock = threading.Event()

    def change(hold: float, signal: threading.Event | None) -> None:
        try:
            with clinic.db.session() as db:
                lock_client(db, client_id)
                if signal is not None:
                    signal.set()
                # Read what the change depends on, let the other request run meanwhile, then write.
                episode = current_episode(db, client_id)
                number = next_number(db, episode.id)
                time.sleep(hold)
                db.add(TherapySession(episode_id=episode.id, number=number, created_at=now()))
                db.flush()
                made.append(number)
        except BaseException as exc:  # reported by the test below
            errors.append(exc)

    first = threading.Thread(target=change, args=(0.5, first_has_lock))
    first.start()
    assert first_has_lock.wait(10)
    second = threading.Thread(target=change, args=(0.0, None))
    second.start()
    first.join(20)
    second.join(20)
    assert errors == []
    with clinic.db.session() as db:
        stored = sorted(db.scalars(select(TherapySession.number)))
    assert stored == sorted(made)
    return made


def test_two_new_sessions_at_once_are_numbered_one_after_the_other(clinic):
    assert _numbers_created_concurrently(clinic) == [1, 2], "the second waited for the first"

"""The demo clinic's clients are created at the start of a day in the clinic's own time zone."""

from __future__ import annotations

from datetime import time

from sqlalchemy import func, select

from attunement.store import open_database
from attunement.store.demo import seed_demo
from attunement.store.models import Client, Episode
from attunement.store.settings import clinic_zone, set_setting


def test_each_demo_client_is_created_at_midnight_on_or_before_its_first_episode(tmp_path):
    db = open_database(f"sqlite:///{tmp_path / 'demo.db'}")
    with db.session() as session:
        set_setting(session, "timezone", "America/New_York")  # west of UTC: midnight there is not in UTC
        seed_demo(session, clients=3)
        zone = clinic_zone(session)
        session.expire_all()
        for client in session.scalars(select(Client)):
            local = client.created_at.astimezone(zone)
            first = select(func.min(Episode.started_on)).where(Episode.client_id == client.id)
            started = session.scalar(first)
            assert local.time() == time(0, 0) and local.date() <= started
    db.dispose()

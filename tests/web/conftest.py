"""Fixtures for the web tests: the app on SQLite and on a throwaway PostgreSQL server.

Every test that takes ``app_db`` runs twice, once per database. The PostgreSQL server is started
once per test session with initdb and pg_ctl (as the ``postgres`` OS user when the tests run as
root, because initdb refuses root), on a free port in a temporary folder, and removed at the end.
"""

from __future__ import annotations

import os
from functools import cache

import pytest
from pg_server import PostgresServer
from web_clinic import PASSWORDS, Clinic

from attunement.store import Database, open_database
from attunement.store.accounts import create_team, hash_password
from attunement.store.clients import create_client
from attunement.store.clock import now
from attunement.store.models import User
from attunement.web import create_app

#: A clinic's own database needs a signing key from the environment (a demo clinic's does not).
os.environ.setdefault("ATTUNEMENT_SECRET_KEY", "test-signing-key-" + "k" * 40)


@pytest.fixture(scope="session")
def postgres_server():
    server = PostgresServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> Database:
    if request.param == "sqlite":
        db = open_database(f"sqlite:///{tmp_path / 'test.db'}")
    else:
        server = request.getfixturevalue("postgres_server")
        db = open_database(server.fresh_database_url())
    yield db
    db.dispose()


@cache
def _hash(password: str) -> str:
    """Argon2 is slow by design; hash each test password once per test run."""
    return hash_password(password)


def _user(db, name: str, role: str, team) -> User:
    user = User(
        username=name,
        display_name=name,
        password_hash=_hash(PASSWORDS[name]),
        role=role,
        team_id=team.id if team else None,
        active=True,
        session_epoch=0,
        created_at=now(),
    )
    db.add(user)
    db.flush()
    return user


@pytest.fixture
def clinic(database) -> Clinic:
    with database.session() as db:
        team_a = create_team(db, "Team A")
        team_b = create_team(db, "Team B")
        users = {
            name: _user(db, name, role, team)
            for name, role, team in (
                ("clin_a", "clinician", team_a),
                ("clin_b", "clinician", team_a),
                ("clin_other", "clinician", team_b),
                ("super_a", "supervisor", team_a),
                ("admin", "admin", None),
            )
        }
        clients = {
            "of_a": create_client(db, users["clin_a"], "A-1").public_id,
            "of_b": create_client(db, users["clin_b"], "B-1").public_id,
            "of_other": create_client(db, users["clin_other"], "O-1").public_id,
        }
    return Clinic(database, create_app(database=database), clients)

"""Fixtures for the web tests: the app on SQLite and on a throwaway PostgreSQL server.

Every test that takes ``app_db`` runs twice, once per database. The PostgreSQL server is started
once per test session with initdb and pg_ctl (as the ``postgres`` OS user when the tests run as
root, because initdb refuses root), on a free port in a temporary folder, and removed at the end.
"""

from __future__ import annotations

import pytest
from pg_server import PostgresServer
from web_clinic import PASSWORDS, Clinic

from attunement.store import Database, open_database
from attunement.store.accounts import create_team, create_user
from attunement.store.clients import create_client
from attunement.web import create_app


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


@pytest.fixture
def clinic(database) -> Clinic:
    with database.session() as db:
        team_a = create_team(db, "Team A")
        team_b = create_team(db, "Team B")
        users = {
            "clin_a": create_user(db, "clin_a", PASSWORDS["clin_a"], "clinician", team_id=team_a.id),
            "clin_b": create_user(db, "clin_b", PASSWORDS["clin_b"], "clinician", team_id=team_a.id),
            "clin_other": create_user(
                db, "clin_other", PASSWORDS["clin_other"], "clinician", team_id=team_b.id
            ),
            "super_a": create_user(db, "super_a", PASSWORDS["super_a"], "supervisor", team_id=team_a.id),
            "admin": create_user(db, "admin", PASSWORDS["admin"], "admin"),
        }
        clients = {
            "of_a": create_client(db, users["clin_a"], "A-1").public_id,
            "of_b": create_client(db, users["clin_b"], "B-1").public_id,
            "of_other": create_client(db, users["clin_other"], "O-1").public_id,
        }
    return Clinic(database, create_app(database=database), clients)

"""On PostgreSQL the app runs as a role of its own (``attunement admin grants``): the clinic works
through it, and it cannot change, remove or empty the audit log, nor switch off the triggers
that guard it."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from test_client_link import ANSWERS, submit
from typer.testing import CliRunner
from web_clinic import issue_link

from attunement.cli import app as cli
from attunement.store import open_database
from attunement.web import create_app

#: Roles and grants are PostgreSQL's (SQLite has no users): these tests run on PostgreSQL only.
pytestmark = pytest.mark.parametrize("database", ["postgresql"], indirect=True)


@pytest.fixture
def app_role(postgres_server, clinic):
    """The clinic's database, and a URL for it as a new role given the app's grants."""
    role = "app_" + uuid.uuid4().hex[:10]
    with psycopg.connect(f"host=127.0.0.1 port={postgres_server.port} user=postgres", autocommit=True) as c:
        c.execute(f'CREATE ROLE "{role}" LOGIN')
    owner = clinic.db.engine.url.render_as_string(hide_password=False)
    done = CliRunner().invoke(cli, ["admin", "grants", role, "--apply", "--database", owner])
    assert done.exit_code == 0, done.output
    return make_url(owner).set(username=role).render_as_string(hide_password=False)


def test_the_clinic_runs_as_the_app_role(clinic, app_role):
    as_app = open_database(app_role)  # the migrations are done: starting up changes nothing
    try:
        clinic.app = create_app(database=as_app)
        clinic.db = as_app
        _, answered = submit(clinic, issue_link(clinic), {**ANSWERS, "phq9_9": "2"})
        assert answered.status_code == 303
        page = clinic.login("clin_a").get(f"/clients/{clinic.clients['of_a']}")
        assert page.status_code == 200 and "Safety" in page.text
        with as_app.session() as db:
            assert db.scalar(text("SELECT count(*) FROM audit_events")) > 0
    finally:
        as_app.dispose()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET detail = 'changed'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
        "DELETE FROM audit_seals",
        "ALTER TABLE audit_events DISABLE TRIGGER ALL",
        "DROP TRIGGER audit_events_no_truncate ON audit_events",
    ],
)
def test_the_app_role_cannot_change_the_audit_log(clinic, app_role, statement):
    as_app = open_database(app_role, migrate=False)
    try:
        with pytest.raises(Exception, match="permission denied|must be owner"), as_app.session() as db:
            db.execute(text(statement))
    finally:
        as_app.dispose()

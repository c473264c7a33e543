"""``attunement admin create``: the first administrator of a real clinic, never on a demo database."""

from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

from attunement.cli import app
from attunement.store import open_database
from attunement.store.accounts import authenticate
from attunement.store.demo import seed_demo
from attunement.store.models import User

PASSWORD = "a-long-enough-password"


def run(*args: str, stdin: str = ""):
    return CliRunner().invoke(app, list(args), input=stdin)


def test_the_first_administrator_is_created_and_nothing_secret_is_printed(tmp_path):
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    result = run("admin", "create", "lead", "--database", url, "--password-stdin", stdin=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output and "lead" in result.output
    db = open_database(url)
    with db.session() as session:
        user = session.scalar(select(User).where(User.username == "lead"))
        assert user.role == "admin" and PASSWORD not in user.password_hash
        assert authenticate(session, "lead", PASSWORD) is not None
    db.dispose()
    again = run(
        "admin", "create", "second", "--database", url, "--password-stdin", "--json", stdin=PASSWORD + "\n"
    )
    assert again.exit_code == 2 and "has an administrator" in again.output


def test_a_short_password_and_a_demo_database_are_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    short = run("admin", "create", "lead", "--database", url, "--password-stdin", stdin="short\n")
    assert short.exit_code == 2 and "password" in short.output
    demo_url = f"sqlite:///{tmp_path / 'demo.db'}"
    db = open_database(demo_url)
    with db.session() as session:
        seed_demo(session, clients=3)
    db.dispose()
    refused = run(
        "admin", "create", "lead", "--database", demo_url, "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert refused.exit_code == 2 and "demo" in refused.output

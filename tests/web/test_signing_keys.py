"""The key that signs sessions lives outside the database: a clinic's database alone (a copy or a
backup) cannot sign anybody in; keys rotate without signing everybody out. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from web_clinic import PASSWORDS, csrf

from attunement.store.models import Setting
from attunement.store.settings import MissingSecret, signing_keys
from attunement.web import create_app
from attunement.web.security import SESSION_COOKIE, SessionSigner

KEY = "current-key-" + "c" * 40
OLD = "earlier-key-" + "e" * 40


def test_a_clinic_database_without_a_key_in_the_environment_is_refused(clinic, monkeypatch):
    monkeypatch.delenv("ATTUNEMENT_SECRET_KEY", raising=False)
    with pytest.raises(MissingSecret, match="ATTUNEMENT_SECRET_KEY is not set"):
        create_app(database=clinic.db)
    monkeypatch.setenv("ATTUNEMENT_SECRET_KEY", "short")
    with pytest.raises(MissingSecret, match="too short"):
        create_app(database=clinic.db)


def test_a_key_in_the_database_cannot_sign_anybody_in(clinic, monkeypatch):
    with clinic.db.session() as db:  # as an earlier version kept it
        db.merge(Setting(key="secret_key", value="stolen-from-a-backup-" + "s" * 40))
    monkeypatch.setenv("ATTUNEMENT_SECRET_KEY", KEY)
    app = create_app(database=clinic.db)
    with clinic.db.session() as db:
        assert db.get(Setting, "secret_key") is None, "the key in the database is removed"
    from fastapi.testclient import TestClient

    forged = SessionSigner(["stolen-from-a-backup-" + "s" * 40]).dump(5, 0)  # user 5 is the admin
    browser = TestClient(app, cookies={SESSION_COOKIE: forged})
    assert browser.get("/admin", follow_redirects=False).status_code == 303


def test_a_rotated_key_keeps_the_sessions_it_signed(clinic, monkeypatch):
    from fastapi.testclient import TestClient

    monkeypatch.setenv("ATTUNEMENT_SECRET_KEY", OLD)
    browser = TestClient(create_app(database=clinic.db))
    token = csrf(browser, "/login")
    browser.post("/login", data={"username": "clin_a", "password": PASSWORDS["clin_a"], "csrf_token": token})
    cookie = browser.cookies.get(SESSION_COOKIE)
    monkeypatch.setenv("ATTUNEMENT_SECRET_KEY", KEY)
    monkeypatch.setenv("ATTUNEMENT_OLD_SECRET_KEYS", OLD)
    rotated = TestClient(create_app(database=clinic.db), cookies={SESSION_COOKIE: cookie})
    assert rotated.get("/caseload", follow_redirects=False).status_code == 200
    monkeypatch.delenv("ATTUNEMENT_OLD_SECRET_KEYS")
    retired = TestClient(create_app(database=clinic.db), cookies={SESSION_COOKIE: cookie})
    assert retired.get("/caseload", follow_redirects=False).status_code == 303


def test_keys_come_oldest_first_from_the_environment_or_a_file(clinic, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    with clinic.db.session() as db:
        env = {"ATTUNEMENT_SECRET_KEY_FILE": str(key_file), "ATTUNEMENT_OLD_SECRET_KEYS": f"{OLD}, "}
        assert signing_keys(db, env) == [OLD, KEY]
        with pytest.raises(MissingSecret, match="cannot be read"):
            signing_keys(db, {"ATTUNEMENT_SECRET_KEY_FILE": str(tmp_path / "missing")})

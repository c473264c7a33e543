"""Accounts an administrator cannot open: a new user sets their own password through a single-use
link; a reset ends the old password and every session; users change their own password; the
team's supervisor sees who has access since when. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select
from web_clinic import PASSWORDS, csrf

from attunement.store.accounts import MAX_FAILURES
from attunement.store.models import AuditEvent, PasswordLink, User

NEW_PASSWORD = "a-password-of-my-own"


def _admin_post(clinic, path: str, data: dict[str, str]):
    browser = clinic.login("admin")
    return browser.post(path, data={**data, "csrf_token": csrf(browser, "/admin")}, follow_redirects=False)


def _link(page: str) -> str:
    return re.search(r'value="https?://[^/"]+(/set-password/[^"]+)"', page).group(1)


def _sign_in(clinic, username: str, password: str):
    browser = clinic.client()
    token = csrf(browser, "/login")
    data = {"username": username, "password": password, "csrf_token": token}
    return browser, browser.post("/login", data=data, follow_redirects=False)


def test_a_new_user_has_no_access_until_they_set_their_own_password(clinic):
    made = _admin_post(clinic, "/admin/users", {"username": "newclin", "role": "clinician", "team_id": "1"})
    assert made.status_code == 200 and "works once" in made.text
    path = _link(made.text)
    with clinic.db.session() as db:
        user = db.scalar(select(User).where(User.username == "newclin"))
        assert user.password_set_at is None and not user.password_hash.startswith("$argon2")
    # Nobody can sign in as them: there is no password to know.
    for guess in ("", "password-clin-a", "!not-set"):
        assert _sign_in(clinic, "newclin", guess)[1].status_code == 401
    # The owner sets it; the link then stops working.
    browser = clinic.client()
    form = browser.get(path)
    assert form.status_code == 200 and "newclin" in form.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    short = browser.post(path, data={"password": "short", "again": "short", "csrf_token": token})
    assert short.status_code == 400 and "at least 10" in short.text
    mismatch = browser.post(
        path, data={"password": NEW_PASSWORD, "again": "other-words-here", "csrf_token": token}
    )
    assert mismatch.status_code == 400 and "the two new passwords are not the same" in mismatch.text
    done = browser.post(path, data={"password": NEW_PASSWORD, "again": NEW_PASSWORD, "csrf_token": token})
    assert done.status_code == 200 and "Your password is set" in done.text
    assert _sign_in(clinic, "newclin", NEW_PASSWORD)[1].status_code == 303
    assert clinic.client().get(path).status_code == 410
    # The team's supervisor sees who has access, and since when.
    team = clinic.login("super_a").get("/team").text.split('id="members-h"')[1]
    assert "newclin" in team and "since" in team


def test_a_link_expires_and_a_reset_ends_the_old_password_and_every_session(clinic):
    signed_in = clinic.login("clin_a")
    assert signed_in.get("/caseload").status_code == 200
    reset = _admin_post(clinic, "/admin/users/1/reset", {})
    assert reset.status_code == 200 and "previous password no longer works" in reset.text
    assert _sign_in(clinic, "clin_a", PASSWORDS["clin_a"])[1].status_code == 401
    assert signed_in.get("/caseload", follow_redirects=False).headers["location"] == "/login"
    with clinic.db.session() as db:  # a link older than its days no longer works
        for link in db.scalars(select(PasswordLink)):
            link.expires_at = link.created_at - timedelta(seconds=1)
    assert clinic.client().get(_link(reset.text)).status_code == 410
    # An administrator cannot reset their own password from the users list.
    assert _admin_post(clinic, "/admin/users/5/reset", {}).status_code == 400


def test_a_user_changes_their_own_password_and_other_sessions_end(clinic):
    elsewhere = clinic.login("clin_a")
    here = clinic.login("clin_a")
    token = csrf(here, "/account")
    wrong = here.post(
        "/account/password",
        data={"current": "not-it", "password": NEW_PASSWORD, "again": NEW_PASSWORD, "csrf_token": token},
    )
    assert wrong.status_code == 400 and "current password" in wrong.text
    changed = here.post(
        "/account/password",
        data={
            "current": PASSWORDS["clin_a"],
            "password": NEW_PASSWORD,
            "again": NEW_PASSWORD,
            "csrf_token": token,
        },
    )
    assert changed.status_code == 200 and "Your password is changed" in changed.text
    assert here.get("/caseload", follow_redirects=False).status_code == 200, "this session goes on"
    assert elsewhere.get("/caseload", follow_redirects=False).headers["location"] == "/login"
    assert _sign_in(clinic, "clin_a", NEW_PASSWORD)[1].status_code == 303


def test_a_departing_clinicians_clients_move_and_then_their_role_can_change(clinic):
    # clin_b (user 2) holds client B-1; they cannot stop being a clinician while they do.
    refused = _admin_post(clinic, "/admin/users/2/role", {"role": "supervisor", "team_id": "1"})
    assert refused.status_code == 400 and "reassigned" in refused.text
    moved = _admin_post(clinic, "/admin/users/2/reassign", {"to": "1"})
    assert moved.status_code == 303
    browser = clinic.login("clin_a")
    assert browser.get(f"/clients/{clinic.clients['of_b']}").status_code == 200, "clin_a has B-1 now"
    with clinic.db.session() as db:
        from attunement.store.models import Client, Episode

        client = db.scalar(select(Client).where(Client.public_id == clinic.clients["of_b"]))
        assert client.therapist_id == 1
        assert db.scalar(select(Episode.therapist_id).where(Episode.client_id == client.id)) == 1
    signed_in = clinic.login("clin_b")
    assert (
        _admin_post(clinic, "/admin/users/2/role", {"role": "supervisor", "team_id": "1"}).status_code == 303
    )
    assert signed_in.get("/caseload", follow_redirects=False).headers["location"] == "/login", "signed out"
    assert clinic.login("clin_b").get("/team").status_code == 200
    # Clients go only to an active clinician, never to an administrator or to nobody.
    assert _admin_post(clinic, "/admin/users/1/reassign", {"to": "5"}).status_code == 400
    assert _admin_post(clinic, "/admin/users/1/reassign", {"to": "999"}).status_code == 400


def test_an_administrator_clears_a_users_sign_in_waits(clinic):
    browser = clinic.client()
    token = csrf(browser, "/login")
    for _ in range(MAX_FAILURES):
        browser.post("/login", data={"username": "clin_a", "password": "wrong", "csrf_token": token})
    right = {"username": "clin_a", "password": PASSWORDS["clin_a"], "csrf_token": token}
    assert browser.post("/login", data=right).status_code == 429
    admin = clinic.login("admin")
    page = admin.get("/admin").text
    assert f"{MAX_FAILURES} failed sign-ins in the last 15 minutes" in page
    with clinic.db.session() as db:
        clin_a = db.scalar(select(User.id).where(User.username == "clin_a"))
    assert _admin_post(clinic, f"/admin/users/{clin_a}/unlock", {}).status_code == 303
    assert "failed sign-in" not in admin.get("/admin").text
    assert browser.post("/login", data=right, follow_redirects=False).status_code == 303
    with clinic.db.session() as db:
        detail = db.scalar(select(AuditEvent.detail).where(AuditEvent.action == "clear_sign_in_waits"))
    assert detail == f"user {clin_a}: {MAX_FAILURES} failed attempts"

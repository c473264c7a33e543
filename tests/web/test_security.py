"""Sessions, throttling, the audit log and the alert record rules."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update
from test_client_link import ANSWERS, submit
from web_clinic import PASSWORDS, csrf, issue_link, record_alerts

from attunement.store.accounts import ADDRESS_FAILURES, MAX_FAILURES
from attunement.store.models import LoginAttempt


def _sign_in(browser, token: str, username: str, password: str):
    return browser.post("/login", data={"username": username, "password": password, "csrf_token": token})


def _age_attempts(clinic, seconds: int) -> None:
    with clinic.db.session() as db:
        for attempt_id, at in db.execute(select(LoginAttempt.id, LoginAttempt.at)).all():
            db.execute(
                update(LoginAttempt)
                .where(LoginAttempt.id == attempt_id)
                .values(at=at - timedelta(seconds=seconds))
            )


def test_repeated_failures_make_the_next_attempt_wait_but_never_lock_the_right_password_out(clinic):
    browser = clinic.client()
    token = csrf(browser, "/login")
    for _ in range(MAX_FAILURES):
        assert _sign_in(browser, token, "clin_a", "wrong").status_code == 401
    right = _sign_in(browser, token, "clin_a", PASSWORDS["clin_a"])
    assert right.status_code == 429 and "Please wait 1 second and" in right.text
    # Someone keeps guessing: each failure doubles the wait, up to a minute and no more.
    for _ in range(10):
        _age_attempts(clinic, 61)
        assert _sign_in(browser, token, "clin_a", "wrong").status_code == 401
    refused = _sign_in(browser, token, "clin_a", PASSWORDS["clin_a"])
    assert refused.status_code == 429 and "Please wait 60 seconds" in refused.text
    _age_attempts(clinic, 61)  # a minute later the right password works
    assert _sign_in(browser, token, "clin_a", PASSWORDS["clin_a"]).status_code == 200
    with clinic.db.session() as db:
        actions = [r[0] for r in db.execute(text("SELECT action FROM audit_events ORDER BY id"))]
        addresses = {r[0] for r in db.execute(text("SELECT address FROM audit_events"))}
    assert actions.count("sign_in_failed") == MAX_FAILURES + 10 and "sign_in_refused" in actions
    assert addresses == {"testclient"}, "every entry says where it came from"


def test_guessing_across_user_names_from_one_address_is_slowed(clinic):
    browser = clinic.client()
    token = csrf(browser, "/login")
    for n in range(ADDRESS_FAILURES):
        assert _sign_in(browser, token, f"nobody{n}", "wrong").status_code == 401
    assert _sign_in(browser, token, "someone-else", "wrong").status_code == 429


def test_session_cookie_is_httponly_and_secure_over_https(clinic):
    browser = clinic.client()
    browser.base_url = browser.base_url.copy_with(scheme="https")
    token = csrf(browser, "/login")
    response = browser.post(
        "/login",
        data={"username": "clin_a", "password": PASSWORDS["clin_a"], "csrf_token": token},
        follow_redirects=False,
    )
    cookie = next(
        v for k, v in response.headers.multi_items() if k == "set-cookie" and "attunement_session" in v
    )
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie


def test_signing_out_voids_the_old_cookie(clinic):
    browser = clinic.login("clin_a")
    old = dict(browser.cookies)
    token = csrf(browser, "/caseload")
    browser.post("/logout", data={"csrf_token": token})
    replay = clinic.client()
    replay.cookies.update(old)
    assert replay.get("/caseload", follow_redirects=False).headers["location"] == "/login"


def test_views_and_changes_are_audited_without_client_data(clinic):
    browser = clinic.login("clin_a")
    browser.get(f"/clients/{clinic.clients['of_a']}")
    with clinic.db.session() as db:
        rows = db.execute(text("SELECT actor, action, client_id, detail FROM audit_events")).all()
    actions = {r.action for r in rows}
    assert {"sign_in", "view_client"} <= actions
    assert all("A-1" not in (r.detail or "") for r in rows)


def test_the_audit_log_refuses_updates_and_deletes(clinic):
    clinic.login("clin_a")
    for statement in ("UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(Exception, match="append-only"), clinic.db.session() as db:
            db.execute(text(statement))
    assert clinic.count("audit_events") >= 1


def test_a_safety_alert_cannot_be_set_aside_without_an_action(clinic):
    public_id = clinic.clients["of_a"]
    assert submit(clinic, issue_link(clinic, 1), {**ANSWERS, "phq9_9": "2"})[1].status_code == 303
    before = clinic.count("alert_events")
    attempts = (("seen", {}), ("set_aside", {"reason": "not needed"}), ("record", {"outcome": "x"}))
    for what, fields in attempts:
        refused = record_alerts(clinic, public_id, what, ("safety",), **fields)
        assert refused.status_code == 400 and "safety alert" in refused.text, what
    assert clinic.count("alert_events") == before
    saved = record_alerts(clinic, public_id, "record", ("safety",), action="Called; safety plan")
    assert saved.status_code == 303
    assert clinic.count("alert_events") == before + 1


def test_an_invalid_therapist_rating_names_the_field_and_stores_nothing(clinic):
    browser = clinic.login("clin_a")
    path = f"/clients/{clinic.clients['of_a']}"
    token = csrf(browser, path)
    response = browser.post(
        f"{path}/rating",
        data={"episode": "1", "session": "new", "checkin_therapist_heard": "4", "csrf_token": token},
    )
    assert response.status_code == 400
    assert "question 2" in response.text
    assert clinic.count("measures") == 0


def test_a_session_ends_when_left_idle_and_after_a_working_day_whatever_is_done(clinic, monkeypatch):
    import itsdangerous.timed as timed

    from attunement.web.security import SESSION_COOKIE, SESSION_SECONDS

    browser = clinic.login("clin_a")
    assert browser.get("/caseload", follow_redirects=False).status_code == 200
    cookie = browser.cookies.get(SESSION_COOKIE)
    signer = clinic.app.state.signer
    claim = signer.load(cookie)
    real = timed.time.time
    # Signed (last used) 31 minutes ago: idle too long.
    monkeypatch.setattr(timed.time, "time", lambda: real() - 31 * 60)
    stale = signer.dump(claim.user_id, claim.epoch, claim.issued)
    monkeypatch.setattr(timed.time, "time", real)
    idle = clinic.client()
    idle.cookies.set(SESSION_COOKIE, stale)
    assert idle.get("/caseload", follow_redirects=False).headers["location"] == "/login"
    # Used a moment ago, but begun more than eight hours ago: over.
    old = clinic.client()
    old.cookies.set(
        SESSION_COOKIE, signer.dump(claim.user_id, claim.epoch, claim.issued - SESSION_SECONDS - 60)
    )
    assert old.get("/caseload", follow_redirects=False).headers["location"] == "/login"
    # Activity keeps a session alive: each page signs the cookie again.
    response = browser.get("/caseload", follow_redirects=False)
    assert any(SESSION_COOKIE in c for c in response.headers.get_list("set-cookie"))


def test_a_form_sent_from_another_site_is_refused_even_with_the_token(clinic):
    browser = clinic.login("clin_a")
    token = csrf(browser, "/clients/new")
    forged = browser.post(
        "/clients", data={"label": "X-1", "csrf_token": token}, headers={"Origin": "https://evil.example"}
    )
    assert forged.status_code == 403
    same = browser.post(
        "/clients",
        data={"label": "X-2", "csrf_token": token},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert same.status_code == 303


def test_the_csrf_token_belongs_to_the_session(clinic):
    browser = clinic.client()
    before = csrf(browser, "/login")  # the browser's own token, before anyone signs in
    assert _sign_in(browser, before, "clin_a", PASSWORDS["clin_a"]).status_code == 200
    during = csrf(browser, "/clients/new")
    assert during != before
    assert browser.post("/clients", data={"label": "X-3", "csrf_token": before}).status_code == 403
    # Another user's token, even one signed in from this very browser, is worth nothing here.
    other = clinic.login("clin_b")
    theirs = csrf(other, "/clients/new")
    assert browser.post("/clients", data={"label": "X-4", "csrf_token": theirs}).status_code == 403
    # A new session (signing out and in again) draws a new token; the old one stops working.
    browser.post("/logout", data={"csrf_token": during})
    again = csrf(browser, "/login")
    assert _sign_in(browser, again, "clin_a", PASSWORDS["clin_a"]).status_code == 200
    assert browser.post("/clients", data={"label": "X-5", "csrf_token": during}).status_code == 403
    fresh = csrf(browser, "/clients/new")
    created = browser.post("/clients", data={"label": "X-6", "csrf_token": fresh}, follow_redirects=False)
    assert created.status_code == 303


def test_links_use_the_public_address_hsts_over_https_and_only_the_clinic_hosts(clinic, monkeypatch):
    from fastapi.testclient import TestClient

    from attunement.web import create_app

    monkeypatch.setenv("ATTUNEMENT_PUBLIC_URL", "https://attunement.clinic.example")
    monkeypatch.setenv("ATTUNEMENT_SECURE_COOKIES", "1")
    monkeypatch.setenv("ATTUNEMENT_ALLOWED_HOSTS", "testserver,attunement.clinic.example")
    app = create_app(database=clinic.db)
    browser = TestClient(app, base_url="https://testserver")  # secure cookies travel over HTTPS only
    token = csrf(browser, "/login")
    browser.post("/login", data={"username": "clin_a", "password": PASSWORDS["clin_a"], "csrf_token": token})
    page = browser.get(f"/clients/{clinic.clients['of_a']}")
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    issued = browser.post(
        f"/clients/{clinic.clients['of_a']}/links",
        data={"episode": "1", "session": "new", "csrf_token": token},
    )
    assert 'value="https://attunement.clinic.example/c/' in issued.text
    assert TestClient(app, base_url="http://evil.example").get("/login").status_code == 400


def test_refusals_are_audited_with_who_what_route_and_why(clinic):
    clinician = clinic.login("clin_a")
    assert clinician.get(f"/clients/{clinic.clients['of_other']}").status_code == 404
    assert clinic.login("admin").get("/caseload").status_code == 403
    assert clinician.post("/clients", data={"label": "X-7", "csrf_token": "forged"}).status_code == 403
    with clinic.db.session() as db:
        ids = dict(db.execute(text("SELECT username, id FROM users")).all())
        refused = db.execute(
            text("SELECT actor, role, detail, address FROM audit_events WHERE action = 'refused' ORDER BY id")
        ).all()
    assert [tuple(r) for r in refused] == [
        (
            f"user:{ids['clin_a']}",
            "clinician",
            "not found or not theirs: GET /clients/{public_id}",
            "testclient",
        ),
        (f"user:{ids['admin']}", "admin", "role: GET /caseload", "testclient"),
        (f"user:{ids['clin_a']}", "", "form token or origin: POST /clients", "testclient"),
    ]
    assert clinic.clients["of_other"] not in str(refused), "no client id from the path"

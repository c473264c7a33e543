"""Sessions, throttling, the audit log and the alert record rules."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from test_client_link import ANSWERS, submit
from web_clinic import PASSWORDS, csrf, issue_link, record_alerts

from attunement.store.accounts import MAX_FAILURES


def test_login_is_throttled_after_repeated_failures(clinic):
    browser = clinic.client()
    token = csrf(browser, "/login")
    for _ in range(MAX_FAILURES):
        wrong = browser.post("/login", data={"username": "clin_a", "password": "wrong", "csrf_token": token})
        assert wrong.status_code == 401
    right = browser.post(
        "/login", data={"username": "clin_a", "password": PASSWORDS["clin_a"], "csrf_token": token}
    )
    assert right.status_code == 429
    assert "Too many failed attempts" in right.text


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

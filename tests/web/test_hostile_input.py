"""Hostile input gets a clear 4xx, never a 500, on SQLite and PostgreSQL; an unexpected error
still carries the security headers; SQL parameters never reach an error message (or a log)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from test_client_link import ANSWERS, submit
from web_clinic import PASSWORDS, csrf, issue_link

LONG = "x" * 5000


def _admin_post(clinic, path: str, data: dict[str, str]):
    browser = clinic.login("admin")
    token = csrf(browser, "/admin")
    return browser.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def test_names_too_long_or_with_odd_characters_are_refused_plainly(clinic):
    for data in (
        {"username": LONG, "password": "long-enough-pass", "role": "clinician"},
        {"username": "ok-name", "display_name": LONG, "password": "long-enough-pass", "role": "clinician"},
        {"username": "bad name\x00", "password": "long-enough-pass", "role": "clinician"},
    ):
        response = _admin_post(clinic, "/admin/users", data)
        assert response.status_code == 400, data["username"][:20]
        assert "Please check" in response.text
    response = _admin_post(clinic, "/admin/teams", {"name": LONG})
    assert response.status_code in (400, 303) and response.status_code != 500
    assert clinic.count("users") == 5


@pytest.mark.parametrize("user_id", ["99999999999999999999", "2147483648", "%C2%B2", "-1"])
def test_user_ids_out_of_range_are_not_found(clinic, user_id):
    assert _admin_post(clinic, f"/admin/users/{user_id}/active", {"active": "no"}).status_code == 404


def test_link_days_in_another_script_are_refused(clinic):
    response = _admin_post(clinic, "/admin/instruments", {"link_valid_days": "²", "timezone": "UTC"})
    assert response.status_code == 400 and "link_valid_days" in response.text


def test_a_sign_in_with_a_nul_or_a_very_long_name_is_just_a_failed_sign_in(clinic):
    browser = clinic.client()
    for name in ("clin_a\x00", LONG):
        token = csrf(browser, "/login")
        response = browser.post(
            "/login", data={"username": name, "password": PASSWORDS["clin_a"], "csrf_token": token}
        )
        assert response.status_code in (200, 400, 401, 429) and response.status_code != 500


def test_a_comment_with_a_nul_is_stored_without_it(clinic):
    issue_link(clinic, 1)
    _, response = submit(clinic, issue_link(clinic, 2), {**ANSWERS, "checkin_different": "slower\x00 please"})
    assert response.status_code == 303
    with clinic.db.session() as db:
        assert db.execute(text("SELECT comment FROM submissions")).scalar_one() == "slower please"


def test_statement_parameters_never_appear_in_error_messages(clinic):
    marker = "CLIENT-TEXT-MARKER-4711"
    with pytest.raises(SQLAlchemyError) as failed, clinic.db.session() as db:
        db.execute(
            text("INSERT INTO teams (id, name, created_at) VALUES (:i, :n, :n)"), {"i": "x", "n": marker}
        )
    assert marker not in str(failed.value)


def test_an_unexpected_error_page_carries_the_security_headers(clinic, monkeypatch, caplog):
    import attunement.web.routes_clinician as routes

    def broken(*args, **kwargs):
        raise RuntimeError("CLIENT-TEXT-MARKER in an exception message")

    monkeypatch.setattr(routes, "caseload_view", broken)
    signed_in = clinic.login("clin_a")
    browser = TestClient(clinic.app, raise_server_exceptions=False, cookies=signed_in.cookies)
    with caplog.at_level("INFO", logger="attunement.web"):
        response = browser.get("/caseload")
    assert response.status_code == 500
    assert "CLIENT-TEXT-MARKER" not in response.text
    assert "RuntimeError" in caplog.text and "CLIENT-TEXT-MARKER" not in caplog.text
    for header in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Cache-Control"):
        assert header in response.headers


def test_a_body_past_the_cap_is_refused_before_any_route_reads_it(clinic):
    from attunement.web.body_limit import MAX_BODY_BYTES

    browser = clinic.client()
    path = issue_link(clinic)
    token = csrf(browser, path)
    huge = browser.post(
        path, data={**ANSWERS, "checkin_different": "x" * MAX_BODY_BYTES, "csrf_token": token}
    )
    assert huge.status_code == 413 and "Too much was sent" in huge.text
    assert huge.headers["X-Frame-Options"] == "DENY", "the refusal carries the security headers"

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(MAX_BODY_BYTES // 1024 + 2):
            yield b"a" * 1024

    streamed = browser.post("/login", content=chunks(), headers={"Content-Type": "text/plain"})
    assert streamed.status_code == 413
    with clinic.db.session() as db:
        assert db.execute(text("SELECT count(*) FROM submissions")).scalar_one() == 0
    # The same link still takes a normal submission.
    assert (
        browser.post(path, data={**ANSWERS, "csrf_token": token}, follow_redirects=False).status_code == 303
    )

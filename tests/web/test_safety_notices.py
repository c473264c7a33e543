"""Someone is told: a risk answer raises a notice in the app on every page until the clinician
opens the client, and an e-mail through a real local SMTP server (aiosmtpd) with no client data;
the client sees the clinic's crisis information. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
import socket
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update
from test_client_link import ANSWERS, submit
from web_clinic import issue_link

from attunement.store.clients import create_client
from attunement.store.models import Notification, User
from attunement.store.notifications import deliver
from attunement.store.settings import set_setting

RISK = {**ANSWERS, "phq9_9": "2"}
CALM = {**ANSWERS, "phq9_9": "0"}


class Inbox:
    """An SMTP handler that keeps every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(monkeypatch):
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("ATTUNEMENT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ATTUNEMENT_SMTP_PORT", str(port))
    monkeypatch.setenv("ATTUNEMENT_SMTP_FROM", "clinic@example.org")
    monkeypatch.setenv("ATTUNEMENT_PUBLIC_URL", "https://attunement.clinic.example")
    yield inbox
    controller.stop()


def _set_email(clinic, username: str, email: str) -> None:
    with clinic.db.session() as db:
        db.execute(update(User).where(User.username == username).values(email=email))


def _notices(clinic) -> list[tuple[str, bool, bool]]:
    with clinic.db.session() as db:
        rows = db.execute(
            select(User.username, Notification.opened_at, Notification.emailed_at)
            .join(User, User.id == Notification.user_id)
            .order_by(Notification.id)
        ).all()
        return [(name, opened is not None, emailed is not None) for name, opened, emailed in rows]


def test_a_risk_answer_reaches_the_clinician_in_the_app_and_by_e_mail(clinic, smtp):
    _set_email(clinic, "clin_a", "clin.a@clinic.example")
    with clinic.db.session() as db:
        set_setting(db, "duty_clinician", "clin_b")
    submit(clinic, issue_link(clinic, 1), CALM)
    assert _notices(clinic) == [] and smtp.messages == []
    browser, response = submit(clinic, issue_link(clinic, 2), RISK)
    assert response.status_code == 303
    # The client sees the crisis information at once.
    thanks = browser.get(response.headers["location"]).text
    assert "If you need help now" in thanks and "emergency" in thanks
    # Both clinicians are told; only clin_a has an address, so one e-mail went out.
    assert _notices(clinic) == [("clin_a", False, True), ("clin_b", False, False)]
    [(recipients, message)] = smtp.messages
    assert recipients == ["clin.a@clinic.example"]
    body = message.get_content()
    assert "https://attunement.clinic.example/login" in body
    for secret in ("A-1", clinic.clients["of_a"], "PHQ", "item 9", "2 of 3"):
        assert secret not in body and secret not in message["Subject"], secret
    # In the app: a notice on every page until the client is opened.
    clin_a = clinic.login("clin_a")
    assert "answered a question about their safety" in clin_a.get("/caseload").text
    assert "answered a question about their safety" in clin_a.get("/clients/new").text
    clin_a.get(f"/clients/{clinic.clients['of_a']}")
    assert "answered a question about their safety" not in clin_a.get("/caseload").text
    assert _notices(clinic)[0][1] is True
    # The duty clinician still has theirs; the notice lets them open the client, read only.
    clin_b = clinic.login("clin_b")
    assert "answered a question about their safety" in clin_b.get("/caseload").text
    page = clin_b.get(f"/clients/{clinic.clients['of_a']}")
    assert page.status_code == 200 and 'name="alert"' not in page.text
    assert "answered a question about their safety" not in clin_b.get("/caseload").text
    # Without a notice, another clinician's client stays out of reach.
    assert clinic.login("clin_b").get(f"/clients/{clinic.clients['of_other']}").status_code == 404


def test_a_mail_server_that_is_down_costs_no_answers_and_the_e_mail_is_sent_later(clinic, monkeypatch):
    _set_email(clinic, "clin_a", "clin.a@clinic.example")
    monkeypatch.setenv("ATTUNEMENT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ATTUNEMENT_SMTP_PORT", str(_free_port()))  # nothing listens there
    _, response = submit(clinic, issue_link(clinic, 1), RISK)
    assert response.status_code == 303
    assert clinic.count("submissions") == 1
    assert _notices(clinic) == [("clin_a", False, False)]
    with clinic.db.session() as db:
        assert db.scalar(select(Notification.email_attempts)) == 1, "tried once, in the background"
    # The server comes back: the next delivery sends it.
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setenv("ATTUNEMENT_SMTP_PORT", str(port))
        assert deliver(clinic.db) == 1
        assert len(inbox.messages) == 1 and _notices(clinic) == [("clin_a", False, True)]
    finally:
        controller.stop()


def test_without_a_mail_server_the_notice_stays_in_the_app(clinic, monkeypatch):
    monkeypatch.delenv("ATTUNEMENT_SMTP_HOST", raising=False)
    submit(clinic, issue_link(clinic, 1), RISK)
    assert _notices(clinic) == [("clin_a", False, False)]
    assert "answered a question about their safety" in clinic.login("clin_a").get("/caseload").text


def test_progress_and_the_crisis_box_show_only_in_the_browser_that_answered(clinic, monkeypatch):
    monkeypatch.delenv("ATTUNEMENT_SMTP_HOST", raising=False)
    path = issue_link(clinic, 1)
    browser, response = submit(clinic, path, RISK)
    mine = browser.get(response.headers["location"]).text
    assert "If you need help now" in mine and "Your progress so far" in mine
    someone_else = clinic.client().get(path).text
    assert "Thank you" in someone_else
    assert "If you need help now" not in someone_else and "Your progress so far" not in someone_else


def test_opening_a_client_beyond_the_five_listed_takes_them_off_the_count(clinic):
    with clinic.db.session() as db:
        clin_a = db.scalar(select(User).where(User.username == "clin_a"))
        for n in range(2, 7):
            clinic.clients[f"a{n}"] = create_client(db, clin_a, f"A-{n}").public_id
    mine = ["of_a", *(f"a{n}" for n in range(2, 7))]
    for key in mine:
        submit(clinic, issue_link(clinic, 1, client=key), RISK)
    browser = clinic.login("clin_a")
    caseload = browser.get("/caseload").text
    assert "6 clients have answered a question about their safety" in caseload
    listed = set(re.findall(r'<li><a href="/clients/([^"#]+)#alerts">', caseload))
    [beyond] = [clinic.clients[k] for k in mine if clinic.clients[k] not in listed]
    page = browser.get(f"/clients/{beyond}").text
    assert "5 clients have answered a question about their safety" in page
    assert "and 1 more" not in page

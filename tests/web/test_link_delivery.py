"""Links delivered to clients: the contact and consent kept apart, a link sent by e-mail through a
real local SMTP server (aiosmtpd) and followed to the form, resend and reminder, retry with a
growing wait when the server refuses, a worker killed mid-batch, and text messages through a
local HTTP gateway. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update
from test_client_link import ANSWERS, submit
from web_clinic import csrf

from attunement.store.clock import now
from attunement.store.contacts import ContactInput, record_contact
from attunement.store.delivery import run_once, senders_from_environment
from attunement.store.episodes import current_episode
from attunement.store.models import AuditEvent, Client, ClientContact, LinkToken, OutboxMessage, User
from attunement.store.outbox import queue_message, queue_resend
from attunement.store.submissions import issue_link as store_issue_link

PUBLIC = "https://attunement.clinic.example"
CLI = "from attunement.cli import main; main()"
SRC = Path(__file__).resolve().parents[2] / "src"


class Inbox:
    """An SMTP handler that keeps every message; it may wait before accepting, or refuse."""

    def __init__(self, delay: float = 0.0):
        self.messages = []
        self.delay = delay
        self.refuse = 0  # refuse this many messages (451: try again later)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.refuse:
            self.refuse -= 1
            return "451 Try again later"
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _smtp_env(port: int) -> dict[str, str]:
    return {
        "ATTUNEMENT_SMTP_HOST": "127.0.0.1",
        "ATTUNEMENT_SMTP_PORT": str(port),
        "ATTUNEMENT_SMTP_FROM": "clinic@example.org",
        "ATTUNEMENT_PUBLIC_URL": PUBLIC,
    }


@pytest.fixture
def smtp(monkeypatch):
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    for key, value in _smtp_env(port).items():
        monkeypatch.setenv(key, value)
    inbox.port = port
    yield inbox
    controller.stop()


def _page(browser, clinic, client="of_a"):
    return browser.get(f"/clients/{clinic.clients[client]}")


def _post_contact(browser, clinic, email, consent, mobile="", client="of_a"):
    public_id = clinic.clients[client]
    token = csrf(browser, f"/clients/{public_id}")
    return browser.post(
        f"/clients/{public_id}/contact",
        data={
            "csrf_token": token,
            "episode": "1",
            "contact_email": email,
            "contact_mobile": mobile,
            "contact_consent": consent,
        },
        follow_redirects=False,
    )


def _create_link(browser, clinic, send: bool = True, client="of_a"):
    public_id = clinic.clients[client]
    token = csrf(browser, f"/clients/{public_id}")
    data = {"csrf_token": token, "episode": "1", "session": "new"}
    if send:
        data["send"] = "email"
    return browser.post(f"/clients/{public_id}/links", data=data)


def _contacts(clinic) -> list[tuple]:
    with clinic.db.session() as db:
        return [
            (c.email, c.mobile, c.consent)
            for c in db.scalars(select(ClientContact).order_by(ClientContact.id))
        ]


def test_the_clinician_records_contact_and_consent_and_every_change_is_kept(clinic):
    browser = clinic.login("clin_a")
    bad = _post_contact(browser, clinic, "x", "maybe", mobile="12")
    assert bad.status_code == 400
    page = html.unescape(bad.text)
    assert (
        '<a href="#contact-email">E-mail</a>: “x” cannot be used here. '
        "Please enter an address like name@example.org." in page
    )
    assert '<a href="#contact-mobile">Mobile number</a>: “12” cannot be used here.' in page
    assert (
        '<a href="#contact-consent">Has the client agreed to be contacted this way?</a>: choose Yes' in page
    )
    assert "got “x”" not in page and 'value="x"' in page
    assert _contacts(clinic) == [], "nothing is stored on rejection"
    assert _post_contact(browser, clinic, "client01@example.org", "yes", "+44 7700 900123").status_code == 303
    assert _post_contact(browser, clinic, "new.address@example.org", "yes").status_code == 303
    assert _post_contact(browser, clinic, "new.address@example.org", "no").status_code == 303
    assert _contacts(clinic) == [
        ("client01@example.org", "+447700900123", True),
        ("new.address@example.org", None, True),
        ("new.address@example.org", None, False),
    ], "every change is a new row; the earlier ones stay"
    page = _page(browser, clinic).text
    assert "has not agreed to be contacted" in page and "Contact history (3 versions)" in page
    # The supervisor sees the contact masked; the audit log never holds the address.
    supervisor = _page(clinic.login("super_a"), clinic).text
    assert "n***@example.org" in supervisor and "new.address@example.org" not in supervisor
    with clinic.db.session() as db:
        details = " ".join(str(d) for d in db.scalars(select(AuditEvent.detail)))
    assert "example.org" not in details


def test_a_link_sent_by_e_mail_reaches_the_client_and_opens_the_form(clinic, smtp):
    browser = clinic.login("clin_a")
    refused = _create_link(browser, clinic)
    assert (
        refused.status_code == 400 and "Send it by e-mail</strong>: this client has no e-mail" in refused.text
    ), "no consent, no address: refused"
    assert clinic.count("link_tokens") == 0 and clinic.count("outbox") == 0
    _post_contact(browser, clinic, "client01@example.org", "yes")
    issued = _create_link(browser, clinic)
    assert issued.status_code == 200 and "c***@example.org" in issued.text
    assert clinic.count("outbox") == 1 and smtp.messages == [], "queued, not sent inside the request"
    done = run_once(clinic.db)
    assert done.sent == 1
    ((rcpt, message),) = smtp.messages
    assert rcpt == ["client01@example.org"]
    body = message.get_content()
    url = re.search(rf"{re.escape(PUBLIC)}(/c/\S+)", body).group(1)
    assert "A-1" not in body and "PHQ" not in body, "no clinical data in the e-mail"
    assert message["Message-ID"].startswith("<link-")
    assert clinic.client().get(url).status_code == 200, "the link opens the client's form"
    page = _page(browser, clinic).text
    assert "c***@example.org" in page and "client01@example.org" in page  # masked in the list
    assert re.search(r"Delivered\">Yes, ", page) and "Not yet" in page
    # The client answers: the page says so, and the link's secret is forgotten.
    assert submit(clinic, url, ANSWERS)[1].status_code == 303
    run_once(clinic.db)
    page = _page(browser, clinic).text
    assert re.search(r'data-label="Answered">Yes, ', page)
    with clinic.db.session() as db:
        assert db.scalar(select(OutboxMessage.token)) is None


def test_resend_and_a_reminder_each_send_the_same_link_once(clinic, smtp):
    browser = clinic.login("clin_a")
    _post_contact(browser, clinic, "client01@example.org", "yes")
    _create_link(browser, clinic)
    run_once(clinic.db)
    with clinic.db.session() as db:
        link_id = db.scalar(select(LinkToken.id))
    public_id = clinic.clients["of_a"]
    token = csrf(browser, f"/clients/{public_id}")
    assert "Send again" in _page(browser, clinic).text
    resent = browser.post(
        f"/clients/{public_id}/messages/resend",
        data={"csrf_token": token, "episode": "1", "link": str(link_id)},
        follow_redirects=False,
    )
    assert resent.status_code == 303
    bad = browser.post(
        f"/clients/{public_id}/messages/resend",
        data={"csrf_token": token, "episode": "1", "link": "999"},
        follow_redirects=False,
    )
    assert bad.status_code == 400 and "a link of this client" in bad.text
    assert run_once(clinic.db).sent == 1
    # Nothing is due for a reminder yet (the link has 7 days); 24 hours before it expires, one is.
    assert run_once(clinic.db).reminders == 0
    with clinic.db.session() as db:
        db.execute(update(LinkToken).values(expires_at=now() + timedelta(hours=3)))
    first = run_once(clinic.db)
    assert (first.reminders, first.sent) == (1, 1)
    assert run_once(clinic.db).reminders == 0, "one reminder per link"
    urls = {re.search(r"/c/\S+", m.get_content()).group(0) for _, m in smtp.messages}
    ids = [m["Message-ID"] for _, m in smtp.messages]
    assert len(smtp.messages) == 3 and len(urls) == 1 and len(set(ids)) == 3
    assert "Reminder" in smtp.messages[-1][1]["Subject"]
    page = _page(browser, clinic).text
    assert "Reminder, session 1" in page and "Sent again, session 1" in page


def test_a_refusing_server_is_tried_again_with_a_growing_wait(clinic, smtp):
    browser = clinic.login("clin_a")
    _post_contact(browser, clinic, "client01@example.org", "yes")
    _create_link(browser, clinic)
    smtp.refuse = 2
    assert run_once(clinic.db).failed == 1
    with clinic.db.session() as db:
        row = db.scalar(select(OutboxMessage))
        first_wait = row.due_at.replace(tzinfo=None) - now().replace(tzinfo=None)
        assert row.attempts == 1 and row.sent_at is None
        assert row.last_error == "the mail server refused the message (code 451)"
    assert timedelta(seconds=50) < first_wait <= timedelta(minutes=1)
    assert run_once(clinic.db).failed == 0, "not tried again before its time"
    with clinic.db.session() as db:
        db.execute(update(OutboxMessage).values(due_at=now()))
    assert run_once(clinic.db).failed == 1
    with clinic.db.session() as db:
        row = db.scalar(select(OutboxMessage))
        second_wait = row.due_at.replace(tzinfo=None) - now().replace(tzinfo=None)
        assert row.attempts == 2
    assert timedelta(seconds=110) < second_wait <= timedelta(minutes=2), "the wait doubles"
    assert "Not yet: the mail server refused the message (code 451) (2 tries" in _page(browser, clinic).text
    with clinic.db.session() as db:
        db.execute(update(OutboxMessage).values(due_at=now()))
    assert run_once(clinic.db).sent == 1 and len(smtp.messages) == 1
    with clinic.db.session() as db:
        row = db.scalar(select(OutboxMessage))
        assert row.attempts == 3 and row.sent_at is not None and row.last_error is None


def test_withdrawn_consent_stops_a_waiting_message(clinic, smtp):
    browser = clinic.login("clin_a")
    _post_contact(browser, clinic, "client01@example.org", "yes")
    _create_link(browser, clinic)
    _post_contact(browser, clinic, "client01@example.org", "no")
    assert run_once(clinic.db).stopped == 1 and smtp.messages == []
    assert "not sent: the client has not agreed to be contacted" in _page(browser, clinic).text


def test_without_a_mail_server_messages_wait_and_the_page_says_so(clinic, monkeypatch):
    monkeypatch.delenv("ATTUNEMENT_SMTP_HOST", raising=False)
    browser = clinic.login("clin_a")
    _post_contact(browser, clinic, "client01@example.org", "yes")
    issued = _create_link(browser, clinic)
    assert "e-mail is not configured on this server" in issued.text
    assert run_once(clinic.db).sent == 0
    page = _page(browser, clinic).text
    assert "Waiting (e-mail not configured)" in page
    with clinic.db.session() as db:
        assert db.scalar(select(OutboxMessage.attempts)) == 0


def _queue_links(clinic, n: int) -> None:
    """``n`` links for client A, each queued for e-mail, straight through the store."""
    with clinic.db.session() as db:
        user = db.scalar(select(User).where(User.username == "clin_a"))
        client = db.scalar(select(Client).where(Client.public_id == clinic.clients["of_a"]))
        record_contact(db, client.id, user, ContactInput("client01@example.org", None, True))
        episode = current_episode(db, client.id)
        for session in range(1, n + 1):
            token = store_issue_link(db, episode, user, session, ["phq9"], 7)
            link = db.scalar(select(LinkToken).order_by(LinkToken.id.desc()).limit(1))
            queue_message(db, link, token, "link", user)


def _worker(url: str, port: int, *extra: str) -> subprocess.Popen:
    env = {**os.environ, **_smtp_env(port), "PYTHONPATH": str(SRC)}
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from attunement.cli import main; main()",
            "worker",
            "--database",
            url,
            *extra,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_worker_killed_mid_batch_loses_nothing_and_sends_at_most_the_one_in_flight_twice(clinic):
    inbox = Inbox(delay=0.4)
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    url = clinic.db.engine.url.render_as_string(hide_password=False)
    _queue_links(clinic, 4)
    try:
        first = _worker(url, port, "--interval", "0.2", "--lease", "2")
        deadline = time.monotonic() + 60
        while not inbox.messages and time.monotonic() < deadline:
            time.sleep(0.02)
        assert inbox.messages, "the worker sent nothing"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert len(inbox.messages) < 4, "killed mid-batch"
        second = _worker(url, port, "--interval", "0.2", "--lease", "2")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with clinic.db.session() as db:
                if db.scalar(select(OutboxMessage.id).where(OutboxMessage.sent_at.is_(None))) is None:
                    break
            time.sleep(0.2)
        second.send_signal(signal.SIGTERM)
        second.wait(10)
    finally:
        controller.stop()
    ids = [m["Message-ID"] for _, m in inbox.messages]
    with clinic.db.session() as db:
        rows = db.scalars(select(OutboxMessage)).all()
    assert all(r.sent_at is not None for r in rows), "every message is sent in the end"
    assert len(set(ids)) == 4, "each message arrived"
    assert len(ids) <= 5, "at most the one message in flight at the kill arrives twice (same Message-ID)"


def test_two_workers_never_claim_the_same_message(clinic):
    from attunement.store.outbox import claim_one

    _queue_links(clinic, 2)
    a = claim_one(clinic.db, ["email"])
    b = claim_one(clinic.db, ["email"])
    assert a is not None and b is not None and a.id != b.id
    assert claim_one(clinic.db, ["email"]) is None, "both leased"


class Gateway(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 (http.server's hook name)
        length = int(self.headers["Content-Length"])
        Gateway.received.append((dict(self.headers), json.loads(self.rfile.read(length))))
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args):  # quiet
        pass


def test_a_text_message_goes_through_the_http_gateway(clinic, monkeypatch):
    Gateway.received = []
    server = HTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.delenv("ATTUNEMENT_SMTP_HOST", raising=False)
    monkeypatch.setenv("ATTUNEMENT_SMS_URL", f"http://127.0.0.1:{server.server_port}/send")
    monkeypatch.setenv("ATTUNEMENT_SMS_TOKEN", "gateway-secret")
    monkeypatch.setenv("ATTUNEMENT_PUBLIC_URL", PUBLIC)
    try:
        with clinic.db.session() as db:
            user = db.scalar(select(User).where(User.username == "clin_a"))
            client = db.scalar(select(Client).where(Client.public_id == clinic.clients["of_a"]))
            record_contact(db, client.id, user, ContactInput(None, "+447700900123", True))
            token = store_issue_link(db, current_episode(db, client.id), user, 1, ["phq9"], 7)
            link = db.scalar(select(LinkToken))
            queue_message(db, link, token, "link", user, channel="sms")
        assert [s.channel for s in senders_from_environment()] == ["sms"]
        assert run_once(clinic.db).sent == 1
        ((headers, payload),) = Gateway.received
        assert payload["to"] == "+447700900123" and f"{PUBLIC}/c/{token}" in payload["text"]
        assert headers["Authorization"] == "Bearer gateway-secret"
        assert headers["Idempotency-Key"] == payload["id"]
        with clinic.db.session() as db:
            queue_resend(db, client.id, link.id, user)
        assert run_once(clinic.db).sent == 1 and len(Gateway.received) == 2
    finally:
        server.shutdown()


@pytest.mark.parametrize(
    "email",
    [
        "x" * 5000 + "@example.org",
        "a@b",
        "name@example.org\x00",
        "<script>@x.org",
        "näme@exämple.org",
        "a b@c.org",
    ],
)
def test_hostile_contact_input_is_refused_plainly(clinic, email):
    browser = clinic.login("clin_a")
    response = _post_contact(browser, clinic, email, "yes", mobile="+" + "9" * 300)
    assert response.status_code in (303, 400), email
    if response.status_code == 400:
        assert _contacts(clinic) == []
        assert "<script>" not in response.text


def test_the_app_s_own_worker_sends_a_link_as_soon_as_it_is_queued(clinic, smtp):
    from fastapi.testclient import TestClient

    with TestClient(clinic.app) as browser:  # the app's lifespan starts its delivery worker
        token = csrf(browser, "/login")
        login = {"username": "clin_a", "password": "password-clin-a", "csrf_token": token}
        browser.post("/login", data=login)
        _post_contact(browser, clinic, "client01@example.org", "yes")
        assert _create_link(browser, clinic).status_code == 200
        deadline = time.monotonic() + 20
        while not smtp.messages and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(smtp.messages) == 1, "woken by the page, not after the 30-second poll"


def test_the_client_s_export_holds_contact_and_messages_without_the_link_secret_and_erasure_removes_them(
    clinic, smtp
):
    from attunement.store.client_record import erase, export_record
    from attunement.store.episodes import end_episode

    browser = clinic.login("clin_a")
    _post_contact(browser, clinic, "client01@example.org", "yes")
    _create_link(browser, clinic)
    with clinic.db.session() as db:
        client = db.scalar(select(Client).where(Client.public_id == clinic.clients["of_a"]))
        data = export_record(db, client, "operator", "operator")
    assert data["tables"]["client_contacts"][0]["email"] == "client01@example.org"
    (message,) = data["tables"]["outbox"]
    assert "token" not in message and message["purpose"] == "link"
    with clinic.db.session() as db:
        client = db.scalar(select(Client).where(Client.public_id == clinic.clients["of_a"]))
        user = db.scalar(select(User).where(User.username == "clin_a"))
        end_episode(db, current_episode(db, client.id), user, "completed", None)
    with clinic.db.session() as db:
        client = db.scalar(select(Client).where(Client.public_id == clinic.clients["of_a"]))
        erased = erase(db, client, "operator", "operator")
    assert erased.rows["client_contacts"] == 1 and erased.rows["outbox"] == 1
    assert clinic.count("outbox") == 0 and clinic.count("client_contacts") == 0


def _gateway(monkeypatch):
    """A local HTTP server standing in for the clinic's text-message gateway (e-mail not set up)."""
    Gateway.received = []
    server = HTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.delenv("ATTUNEMENT_SMTP_HOST", raising=False)
    monkeypatch.setenv("ATTUNEMENT_SMS_URL", f"http://127.0.0.1:{server.server_port}/send")
    monkeypatch.setenv("ATTUNEMENT_PUBLIC_URL", PUBLIC)
    return server


def _send_link(browser, clinic, send: str, client="of_a"):
    public_id = clinic.clients[client]
    token = csrf(browser, f"/clients/{public_id}")
    data = {"csrf_token": token, "episode": "1", "session": "new", "send": send}
    return browser.post(f"/clients/{public_id}/links", data=data)


def test_a_link_made_on_the_page_is_sent_by_text_message_through_the_gateway(clinic, monkeypatch):
    server = _gateway(monkeypatch)
    try:
        browser = clinic.login("clin_a")
        refused = _send_link(browser, clinic, "sms")
        assert refused.status_code == 400
        assert "Send it by text message</strong>: this client has no mobile number" in refused.text
        assert clinic.count("link_tokens") == 0 and clinic.count("outbox") == 0
        _post_contact(browser, clinic, "", "yes", mobile="+44 7700 900123")
        assert "Send it by text message to ***123" in _page(browser, clinic).text
        issued = _send_link(browser, clinic, "sms")
        assert issued.status_code == 200 and "by text message to ***123" in issued.text
        with clinic.db.session() as db:
            assert db.scalars(select(OutboxMessage.channel)).all() == ["sms"]
        assert Gateway.received == [], "queued, not sent inside the request"
        assert run_once(clinic.db).sent == 1
        ((_, payload),) = Gateway.received
        assert payload["to"] == "+447700900123"
        url = re.search(rf"{re.escape(PUBLIC)}(/c/\S+)", payload["text"]).group(1)
        assert clinic.client().get(url).status_code == 200, "the link opens the client's form"
        page = _page(browser, clinic).text
        assert "Text message" in page and "***123" in page and re.search(r"Delivered\">Yes, ", page)
        with clinic.db.session() as db:
            details = list(db.scalars(select(AuditEvent.detail).where(AuditEvent.action == "issue_link")))
        assert any(d.endswith("sent by text message") for d in details)
    finally:
        server.shutdown()


def test_a_text_message_is_refused_in_plain_words_without_a_gateway(clinic, monkeypatch):
    monkeypatch.delenv("ATTUNEMENT_SMS_URL", raising=False)
    browser = clinic.login("clin_a")
    _post_contact(browser, clinic, "", "yes", mobile="+44 7700 900123")
    assert "Send it by text message" not in _page(browser, clinic).text, "not offered"
    refused = _send_link(browser, clinic, "sms")
    assert refused.status_code == 400
    assert "Send it by text message</strong>: text messages are not set up on this server" in refused.text
    assert clinic.count("link_tokens") == 0 and clinic.count("outbox") == 0

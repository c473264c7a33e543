"""The delivery worker: sends the outbox's messages (:mod:`attunement.store.outbox`) through the
clinic's SMTP server (:mod:`attunement.store.mail`) or a text-message gateway, after the
transaction that queued them.

It runs inside the web application (a background thread started with the app, woken at once
when a page queues a message, else every :data:`POLL_SECONDS`), and as ``attunement worker``
for a separate process. Any number may run at once: a message is claimed by one worker at a
time.

The guarantee is **at least once**, with one small window. A message is marked sent only after
the server accepted it (its reply to the message data); if the worker dies after that reply and
before the "sent" state is committed (a few milliseconds), the message is claimed again when
its lease runs out and sent a second time. Such a second copy carries the same Message-ID
header (made from the message's idempotency key), so a mail system that removes duplicates
shows it once. Exactly once is not possible with SMTP, which has no way to ask a server
whether it already has a message. A message the server did not accept is tried again after a
wait that doubles each time, up to :data:`attunement.store.outbox.MAX_ATTEMPTS` tries.

Logs say what happened by message id, purpose and kind of error only: never an address, a
number or a link.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from sqlalchemy.orm import Session

from attunement.store.clock import local_time
from attunement.store.contacts import current_contact
from attunement.store.database import Database
from attunement.store.link_schedules import create_due_links
from attunement.store.mail import SEND_ERRORS, MailSettings, send_mail
from attunement.store.outbox import (
    LEASE,
    Claimed,
    claim_one,
    mark_failed,
    mark_sent,
    mark_stopped,
    queue_reminders,
    stop_spent,
)
from attunement.store.settings import clinic_zone, get_setting

log = logging.getLogger("attunement.delivery")
#: How often the in-app worker looks at the outbox when nothing woke it.
POLL_SECONDS = 30.0


class SendFailed(Exception):
    """A sender's failure, in plain words fit for the client page (no address, no link)."""


class Sender(Protocol):
    """One way of reaching a client. ``send`` returns once the server (SMTP or gateway)
    accepted the message and raises :class:`SendFailed` otherwise; ``message_id`` is the same
    for every try of one message."""

    @property
    def channel(self) -> str: ...

    @property
    def public_url(self) -> str: ...

    def recipient(self, contact) -> str | None:
        """The client's address or number for this channel, or None when there is none."""

    def send(self, recipient: str, subject: str, body: str, message_id: str) -> None: ...


@dataclass(frozen=True)
class EmailSender:
    settings: MailSettings
    channel: str = "email"

    @property
    def public_url(self) -> str:
        return self.settings.public_url

    def recipient(self, contact) -> str | None:
        return contact.email if contact is not None else None

    def send(self, recipient: str, subject: str, body: str, message_id: str) -> None:
        try:
            send_mail(self.settings, recipient, subject, body, message_id=message_id)
        except SEND_ERRORS as exc:
            raise SendFailed(_smtp_words(exc)) from None


def _smtp_words(exc: BaseException) -> str:
    import smtplib

    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "the mail server refused the address"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"the mail server refused the message (code {exc.smtp_code})"
    if isinstance(exc, smtplib.SMTPException):
        return f"the mail server failed ({type(exc).__name__})"
    if isinstance(exc, (TimeoutError, ConnectionError, OSError)):
        return f"the mail server could not be reached ({type(exc).__name__})"
    return f"the message could not be made ({type(exc).__name__})"


def senders_from_environment(env: Mapping[str, str] | None = None) -> list[Sender]:
    """The channels this clinic has configured: e-mail when an SMTP host and the public address
    are set (a link needs the address the app answers at)."""
    env = os.environ if env is None else env
    senders: list[Sender] = []
    mail = MailSettings.from_environment(env)
    if mail is not None and mail.public_url:
        senders.append(EmailSender(mail))
    from attunement.store.text_messages import gateway_from_environment

    gateway = gateway_from_environment(env)
    if gateway is not None:
        senders.append(gateway)
    return senders


def email_configured(env: Mapping[str, str] | None = None) -> bool:
    return any(s.channel == "email" for s in senders_from_environment(env))


def sms_configured(env: Mapping[str, str] | None = None) -> bool:
    """Whether this clinic has a text-message gateway (:mod:`attunement.store.text_messages`)."""
    return any(s.channel == "sms" for s in senders_from_environment(env))


@dataclass
class Round:
    """What one round of the worker did."""

    sent: int = 0
    failed: int = 0
    stopped: int = 0
    reminders: int = 0
    scheduled: int = 0
    details: list[dict] = field(default_factory=list)


SUBJECTS = {
    "link": "Your questionnaire before your next session",
    "resend": "Your questionnaire before your next session",
    "reminder": "Reminder: your questionnaire before your next session",
}


def message_text(claimed: Claimed, url: str, zone) -> str:
    """The message: the link and when it expires, nothing about the client's care."""
    until = local_time(claimed.expires_at, zone).strftime("%d %B %Y, %H:%M")
    opening = (
        "This is a reminder: your clinic's short questionnaire is still waiting for you."
        if claimed.purpose == "reminder"
        else "Your clinic asks you to answer a short questionnaire before your next session."
    )
    return (
        f"{opening}\n\nOpen it here: {url}\n\n"
        f"The link works once and until {until}. If you did not expect this message, you can ignore it.\n"
    )


def run_once(
    database: Database,
    senders: list[Sender] | None = None,
    *,
    lease: timedelta = LEASE,
    limit: int = 200,
) -> Round:
    """One round: make the links the episodes' schedules have due
    (:mod:`attunement.store.link_schedules`), queue due reminders, stop messages whose link is
    spent, then send every due message of a configured channel (at most ``limit``)."""
    senders = senders_from_environment() if senders is None else senders
    by_channel = {s.channel: s for s in senders}
    done = Round()
    if by_channel:
        done.scheduled = create_due_links(database, list(by_channel))
    with database.session() as db:
        hours = _reminder_hours(db)
        zone = clinic_zone(db)
        if by_channel:
            done.reminders = queue_reminders(db, hours)
        done.stopped += stop_spent(db)
    for _ in range(limit):
        claimed = claim_one(database, list(by_channel), lease)
        if claimed is None:
            break
        sender = by_channel[claimed.channel]
        with database.session() as db:
            recipient = _recipient(db, claimed, sender)
        if isinstance(recipient, NotSent):
            mark_stopped(database, claimed, recipient.why)
            done.stopped += 1
            done.details.append({"message": claimed.id, "result": "stopped", "why": recipient.why})
            log.info("message %s (%s) not sent: %s", claimed.id, claimed.purpose, recipient.why)
            continue
        url = f"{sender.public_url}/c/{claimed.token}"
        try:
            sender.send(
                recipient, SUBJECTS[claimed.purpose], message_text(claimed, url, zone), claimed.message_id
            )
        except SendFailed as exc:
            gave_up = mark_failed(database, claimed, str(exc))
            done.failed += 1
            done.details.append(
                {"message": claimed.id, "result": "gave up" if gave_up else "failed", "why": str(exc)}
            )
            log.warning(
                "message %s (%s) try %s failed: %s", claimed.id, claimed.purpose, claimed.attempts, exc
            )
            continue
        mark_sent(database, claimed, recipient)
        done.sent += 1
        done.details.append({"message": claimed.id, "result": "sent"})
        log.info("message %s (%s) accepted by the %s server", claimed.id, claimed.purpose, claimed.channel)
    return done


def _reminder_hours(db: Session) -> int:
    value = get_setting(db, "reminder_hours_before_expiry").strip()
    return int(value) if value.isdigit() else 0


@dataclass(frozen=True)
class NotSent:
    """Why a message must not go (said in plain words on the client page)."""

    why: str


def _recipient(db: Session, claimed: Claimed, sender: Sender) -> str | NotSent:
    """Where the message goes now (the client's current contact), or why it must not go."""
    contact = current_contact(db, claimed.client_id)
    if contact is None or not contact.consent:
        return NotSent("not sent: the client has not agreed to be contacted")
    recipient = sender.recipient(contact)
    if not recipient:
        missing = "e-mail address" if claimed.channel == "email" else "mobile number"
        return NotSent(f"not sent: no {missing}")
    return recipient


class BackgroundWorker:
    """The worker inside the web application: a daemon thread, woken by :meth:`wake` when a
    page has queued a message, else every ``interval`` seconds; stopped with the app."""

    def __init__(self, database: Database, interval: float = POLL_SECONDS):
        self.database = database
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="attunement-delivery", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=15)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                run_once(self.database)
            except Exception as exc:  # a database hiccup must not end the thread
                log.error("delivery round failed: %s", type(exc).__name__)
            self._wake.wait(self.interval)
            self._wake.clear()

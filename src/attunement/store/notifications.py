"""Someone is told: when a safety alert opens, the client's clinician (and the clinic's duty
clinician, when one is named) gets a notice that shows on every page of the app until they open
the client's page, and an e-mail when the clinic has configured an SMTP server and they have an
address.

The e-mail carries no client data at all, only that there is something to see and a sign-in
link: mail passes through servers the clinic does not control. It is sent after the answers
are stored (never inside their transaction, so a slow or broken mail server cannot lose or
delay a client's answers); a notice whose e-mail could not be sent is tried again the next time
notices are delivered, and the in-app notice stands whatever happens to the e-mail.

SMTP settings come from the environment, like every secret: ``ATTUNEMENT_SMTP_HOST`` (no host:
no e-mail), ``ATTUNEMENT_SMTP_PORT`` (25), ``ATTUNEMENT_SMTP_FROM``, ``ATTUNEMENT_SMTP_USER`` and
``ATTUNEMENT_SMTP_PASSWORD`` (optional), ``ATTUNEMENT_SMTP_STARTTLS`` (``1`` to upgrade the
connection), and ``ATTUNEMENT_PUBLIC_URL``, the address clinicians sign in at.
"""

from __future__ import annotations

import logging
import os
import smtplib
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from attunement.store.clock import now
from attunement.store.models import Client, Episode, KeptAlert, Notification, User
from attunement.store.settings import get_setting

log = logging.getLogger("attunement.notifications")
#: Give up e-mailing a notice after this many failed tries (it stays in the app).
MAX_ATTEMPTS = 5
SUBJECT = "attunement: a client's answers need your attention"


def notify_safety(db: Session, episode: Episode, alert: KeptAlert) -> list[Notification]:
    """Notices for a safety alert that has just opened: the client's clinician, and the duty
    clinician when the clinic has named one."""
    client = db.get(Client, episode.client_id)
    people = [client.therapist_id]
    duty = get_setting(db, "duty_clinician").strip()
    if duty:
        duty_user = db.scalar(select(User).where(User.username == duty, User.active.is_(True)))
        if duty_user is not None and duty_user.id not in people:
            people.append(duty_user.id)
    moment = now()
    made = [
        Notification(
            user_id=user_id, client_id=client.id, alert_id=alert.id, created_at=moment, email_attempts=0
        )
        for user_id in people
    ]
    db.add_all(made)
    db.flush()
    return made


@dataclass(frozen=True)
class Notice:
    """A client with unopened notices, as the page header shows it."""

    client_public_id: str
    client_label: str
    latest: object


@dataclass(frozen=True)
class Notices:
    """The clients the user has unopened notices about (the most recent few) and how many in all."""

    shown: list[Notice]
    total: int

    def __bool__(self) -> bool:
        return self.total > 0

    def without(self, public_id: str) -> Notices:
        """The notices once the user has opened this client's page."""
        kept = [n for n in self.shown if n.client_public_id != public_id]
        return Notices(kept, self.total - (len(self.shown) - len(kept)))


def unopened(db: Session, user_id: int, limit: int = 5) -> Notices:
    """The clients the user has notices about that they have not opened, most recent first."""
    where = (Notification.user_id == user_id, Notification.opened_at.is_(None))
    total = db.scalar(select(func.count(func.distinct(Notification.client_id))).where(*where)) or 0
    if not total:
        return Notices([], 0)
    latest = func.max(Notification.created_at)
    rows = db.execute(
        select(Client.public_id, Client.label, latest)
        .join(Client, Client.id == Notification.client_id)
        .where(*where)
        .group_by(Client.id, Client.public_id, Client.label)
        .order_by(latest.desc())
        .limit(limit)
    ).all()
    return Notices([Notice(*row) for row in rows], int(total))


def mark_opened(db: Session, user_id: int, client_id: int) -> None:
    """The user has opened the client's page: their notices about this client are opened."""
    db.execute(
        update(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.client_id == client_id,
            Notification.opened_at.is_(None),
        )
        .values(opened_at=now())
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    sender: str
    user: str | None
    password: str | None
    starttls: bool
    public_url: str

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> MailSettings | None:
        """The SMTP settings, or None when no server is configured (notices stay in the app)."""
        env = os.environ if env is None else env
        host = env.get("ATTUNEMENT_SMTP_HOST", "").strip()
        if not host:
            return None
        return cls(
            host=host,
            port=int(env.get("ATTUNEMENT_SMTP_PORT", "25") or 25),
            sender=env.get("ATTUNEMENT_SMTP_FROM", "attunement@localhost"),
            user=env.get("ATTUNEMENT_SMTP_USER") or None,
            password=env.get("ATTUNEMENT_SMTP_PASSWORD") or None,
            starttls=env.get("ATTUNEMENT_SMTP_STARTTLS", "") == "1",
            public_url=env.get("ATTUNEMENT_PUBLIC_URL", "").rstrip("/"),
        )


def deliver(db: Session, settings: MailSettings | None = None) -> int:
    """E-mail the notices not yet e-mailed, to users with an address; returns how many were sent.

    Call it outside the transaction that stored the answers. Each sent notice is marked in the
    caller's transaction; a failure counts an attempt and is logged by its kind only."""
    settings = settings or MailSettings.from_environment()
    if settings is None:
        return 0
    pending = db.execute(
        select(Notification, User.email)
        .join(User, User.id == Notification.user_id)
        .where(
            Notification.emailed_at.is_(None),
            Notification.email_attempts < MAX_ATTEMPTS,
            User.email.is_not(None),
            User.active.is_(True),
        )
        .order_by(Notification.id)
    ).all()
    sent = 0
    for notice, address in pending:
        notice.email_attempts += 1
        try:
            _send(settings, address, _message(settings))
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("notice e-mail %s not sent: %s", notice.id, type(exc).__name__)
            continue
        notice.emailed_at = now()
        sent += 1
    db.flush()
    return sent


def _message(settings: MailSettings) -> str:
    where = f"Sign in to see it: {settings.public_url}/login" if settings.public_url else "Sign in to see it."
    return (
        "A client of yours has answered a question about their safety in a way that needs your "
        f"attention.\n\n{where}\n\nThis message holds no client information on purpose.\n"
    )


def _send(settings: MailSettings, address: str, body: str) -> None:
    message = EmailMessage()
    message["Subject"] = SUBJECT
    message["From"] = settings.sender
    message["To"] = address
    message.set_content(body)
    with smtplib.SMTP(settings.host, settings.port, timeout=10) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.user and settings.password:
            smtp.login(settings.user, settings.password)
        smtp.send_message(message)

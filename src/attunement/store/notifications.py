"""Someone is told: when a safety alert opens, the client's clinician (and the clinic's duty
clinician, when one is named) gets a notice that shows on every page of the app until they open
the client's page, and an e-mail when the clinic has configured an SMTP server and they have an
address.

The e-mail carries no client data at all, only that there is something to see and a sign-in
link: mail passes through servers the clinic does not control. It is sent after the answers
are stored (never inside their transaction, so a slow or broken mail server cannot lose or
delay a client's answers); a notice whose e-mail could not be sent is tried again the next time
notices are delivered, and the in-app notice stands whatever happens to the e-mail.

The SMTP settings and the sending are shared with client links: :mod:`attunement.store.mail`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from attunement.store.clock import now
from attunement.store.database import Database
from attunement.store.mail import SEND_ERRORS, MailSettings, send_mail
from attunement.store.models import Client, Episode, KeptAlert, Notification, User
from attunement.store.rowcount import changed_rows
from attunement.store.settings import get_setting

log = logging.getLogger("attunement.notifications")
#: Give up e-mailing a notice after this many failed tries (it stays in the app).
MAX_ATTEMPTS = 5
SUBJECT = "attunement: a client's answers need your attention"


def notify_safety(db: Session, episode: Episode, alert: KeptAlert) -> list[Notification]:
    """Notices for a new risk answer: the client's clinician, and the duty clinician when the
    clinic has named one (a notice lets its holder open the client's page, read only:
    :func:`has_notice`)."""
    client = db.get(Client, episode.client_id)
    if client is None:  # an episode's client is a foreign key: this is a broken database
        raise LookupError(f"episode {episode.id} has no client")
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


def has_notice(db: Session, user_id: int, client_id: int) -> bool:
    """Whether the user was told about this client's risk answer (a duty clinician may then open
    the client's page, read only, whatever their caseload)."""
    found = db.scalar(
        select(Notification.id)
        .where(Notification.user_id == user_id, Notification.client_id == client_id)
        .limit(1)
    )
    return found is not None


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


def deliver(database: Database, settings: MailSettings | None = None) -> int:
    """E-mail the notices not yet e-mailed, to users with an address; returns how many were sent.

    Runs outside any request's transaction (in the background after the response): each notice
    is first claimed in a short transaction of its own (an attempt counted only where nobody
    else counted it), then sent with no database lock held, then marked sent; so a slow or dead
    mail server never holds up clients or pages, and two deliveries at once never send one
    notice twice. A failure is logged by its kind only and tried again at a later delivery, up
    to :data:`MAX_ATTEMPTS` tries in all.
    """
    settings = settings if settings is not None else MailSettings.from_environment()
    if settings is None:
        return 0
    with database.session() as db:
        pending = db.execute(
            select(Notification.id, Notification.email_attempts, User.email)
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
    for notice_id, attempts, address in pending:
        if address is None:  # never: the query asks for users with an address
            continue
        with database.session() as db:
            claimed = db.execute(
                update(Notification)
                .where(
                    Notification.id == notice_id,
                    Notification.emailed_at.is_(None),
                    Notification.email_attempts == attempts,
                )
                .values(email_attempts=attempts + 1)
                .execution_options(synchronize_session=False)
            )
        if changed_rows(claimed) != 1:
            continue  # another delivery has it
        try:
            send_mail(settings, address, SUBJECT, _message(settings))
        except SEND_ERRORS as exc:
            log.warning("notice e-mail %s not sent: %s", notice_id, type(exc).__name__)
            continue
        with database.session() as db:
            db.execute(update(Notification).where(Notification.id == notice_id).values(emailed_at=now()))
        sent += 1
    return sent


def _message(settings: MailSettings) -> str:
    where = f"Sign in to see it: {settings.public_url}/login" if settings.public_url else "Sign in to see it."
    return (
        "A client has answered a question about their safety in a way that needs attention, and "
        f"you are among those told.\n\n{where}\n\nThis message holds no client information on purpose.\n"
    )

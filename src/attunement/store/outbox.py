"""The outbox: messages to clients that carry a link, one row per message.

A message is queued in the same transaction as what decided it (a new link sent by e-mail, a
resend, a reminder), so it exists exactly when that change was stored; the delivery worker
(:mod:`attunement.store.delivery`) sends it after that transaction, never inside a request.

Each row has an ``idempotency_key`` (the link and the purpose, unique): a second queueing of the
same message is refused by the database, and the key makes the e-mail's Message-ID.

Claiming: a worker takes one due row at a time in a short transaction and sets its lease
(``lease_until``) and counts the attempt. On PostgreSQL the row is picked with ``SELECT ... FOR
UPDATE SKIP LOCKED``, so two workers never pick the same row; SQLite takes its single write lock
at the start of every transaction (``BEGIN IMMEDIATE``), so the pick-and-lease runs alone. A row
whose lease ran out (its worker died) is due again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from attunement.errors import FieldProblem, InvalidInputError
from attunement.store.clock import aware, now
from attunement.store.contacts import mask
from attunement.store.database import Database
from attunement.store.models import LinkToken, OutboxMessage, User
from attunement.store.rowcount import changed_rows

#: How long a claimed row is a worker's own; after that another worker may take it again.
LEASE = timedelta(minutes=5)
#: A message not accepted after this many tries is given up (said on the client page).
MAX_ATTEMPTS = 6
#: The wait after the first failure; doubled after each further one, up to :data:`MAX_BACKOFF`.
FIRST_BACKOFF = timedelta(minutes=1)
MAX_BACKOFF = timedelta(hours=4)
PURPOSES = ("link", "resend", "reminder")


def queue_message(
    db: Session,
    link: LinkToken,
    token: str,
    purpose: str,
    user: User | None,
    channel: str = "email",
) -> OutboxMessage:
    """Queue one message carrying ``link`` (its ``token``, which only this row holds)."""
    if purpose == "resend":
        count = db.scalar(
            select(func.count()).where(OutboxMessage.link_id == link.id, OutboxMessage.purpose == "resend")
        )
        key = f"link-{link.id}-{channel}-resend-{(count or 0) + 1}"
    else:
        key = f"link-{link.id}-{channel}-{purpose}"
    moment = now()
    message = OutboxMessage(
        idempotency_key=key,
        client_id=link.client_id,
        link_id=link.id,
        purpose=purpose,
        channel=channel,
        token=token,
        created_at=moment,
        created_by=user.id if user else None,
        due_at=moment,
        attempts=0,
    )
    db.add(message)
    db.flush()
    return message


def queue_resend(db: Session, client_id: int, link_id: int, user: User) -> OutboxMessage:
    """Queue the same link again (a client who lost the message); refused for a link that is
    not this client's, was answered, has expired, or was never sent (its secret is not kept)."""
    link = db.get(LinkToken, link_id)
    if link is None or link.client_id != client_id:
        raise _resend_refused(link_id, "a link of this client")
    if link.used_at is not None:
        raise _resend_refused(link_id, "a link not answered yet (this one was answered)")
    if aware(link.expires_at) <= now():
        raise _resend_refused(link_id, "a link that has not expired (issue a new one)")
    token = db.scalar(
        select(OutboxMessage.token)
        .where(OutboxMessage.link_id == link_id, OutboxMessage.token.is_not(None))
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )
    if token is None:
        raise _resend_refused(
            link_id, "a link that was sent by e-mail (a copied link cannot be sent again: issue a new one)"
        )
    channel = db.scalar(
        select(OutboxMessage.channel)
        .where(OutboxMessage.link_id == link_id)
        .order_by(OutboxMessage.id)
        .limit(1)
    )
    return queue_message(db, link, token, "resend", user, channel or "email")


def _resend_refused(link_id: int, problem: str) -> InvalidInputError:
    return InvalidInputError("resend", [FieldProblem("link", f"link {link_id}", problem)])


def queue_reminders(db: Session, hours: int) -> int:
    """A reminder for every link sent to a client and not answered that expires within ``hours``
    (one per link and channel: its key is fixed). Returns how many were queued."""
    if hours <= 0:
        return 0
    moment = now()
    first = OutboxMessage.__table__.alias("first")
    reminded = OutboxMessage.__table__.alias("reminded")
    rows = db.execute(
        select(LinkToken, first.c.channel, first.c.token)
        .join(first, first.c.link_id == LinkToken.id)
        .where(
            first.c.purpose == "link",
            first.c.sent_at.is_not(None),
            first.c.token.is_not(None),
            LinkToken.used_at.is_(None),
            LinkToken.expires_at > moment,
            LinkToken.expires_at <= moment + timedelta(hours=hours),
            ~exists().where(
                reminded.c.link_id == LinkToken.id,
                reminded.c.purpose == "reminder",
                reminded.c.channel == first.c.channel,
            ),
        )
    ).all()
    queued = 0
    for link, channel, token in rows:
        try:
            with db.begin_nested():
                queue_message(db, link, token, "reminder", None, channel)
            queued += 1
        except IntegrityError:  # another worker queued it first
            continue
    return queued


def stop_spent(db: Session) -> int:
    """Messages whose link was answered or expired before they went are stopped, and the
    secret of every spent link is forgotten. Returns how many messages were stopped."""
    moment = now()
    spent = select(LinkToken.id).where(or_(LinkToken.used_at.is_not(None), LinkToken.expires_at <= moment))
    stopped = changed_rows(
        db.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.link_id.in_(spent),
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.stopped_at.is_(None),
            )
            .values(
                stopped_at=moment,
                last_error="not sent: the link was answered or had expired",
                lease_until=None,
            )
            .execution_options(synchronize_session=False)
        )
    )
    db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.link_id.in_(spent), OutboxMessage.token.is_not(None))
        .values(token=None)
        .execution_options(synchronize_session=False)
    )
    return stopped


@dataclass(frozen=True)
class Claimed:
    """A row a worker holds until its lease runs out."""

    id: int
    key: str
    client_id: int
    link_id: int
    purpose: str
    channel: str
    token: str
    attempts: int
    expires_at: datetime

    @property
    def message_id(self) -> str:
        """The same for every try of this message, different for every message (the token
        makes it unguessable without saying it)."""
        digest = hashlib.sha256(f"{self.key}:{self.token}".encode()).hexdigest()[:16]
        return f"{self.key}.{digest}"


def claim_one(database: Database, channels: list[str], lease: timedelta = LEASE) -> Claimed | None:
    """Take the next due message of one of ``channels``, in its own transaction."""
    if not channels:
        return None
    with database.session() as db:
        moment = now()
        query = (
            select(OutboxMessage.id)
            .where(
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.stopped_at.is_(None),
                OutboxMessage.token.is_not(None),
                OutboxMessage.channel.in_(channels),
                OutboxMessage.due_at <= moment,
                or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < moment),
            )
            .order_by(OutboxMessage.due_at, OutboxMessage.id)
            .limit(1)
        )
        if not database.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        row_id = db.scalar(query)
        if row_id is None:
            return None
        db.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id)
            .values(lease_until=moment + lease, attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        row = db.execute(
            select(OutboxMessage, LinkToken.expires_at)
            .join(LinkToken, LinkToken.id == OutboxMessage.link_id)
            .where(OutboxMessage.id == row_id)
        ).one()
        m = row[0]
        db.refresh(m)
        if m.token is None:  # never: the claim asks for a kept secret and holds the row
            raise LookupError(f"outbox message {m.id} has no secret to send")
        return Claimed(
            m.id,
            m.idempotency_key,
            m.client_id,
            m.link_id,
            m.purpose,
            m.channel,
            m.token,
            m.attempts,
            aware(row[1]),
        )


def mark_sent(database: Database, claimed: Claimed, recipient: str) -> None:
    """The server accepted the message: it is sent, and never tried again."""
    with database.session() as db:
        db.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == claimed.id, OutboxMessage.sent_at.is_(None))
            .values(sent_at=now(), recipient=recipient, lease_until=None, last_error=None)
            .execution_options(synchronize_session=False)
        )


def mark_failed(database: Database, claimed: Claimed, reason: str) -> bool:
    """Not accepted: tried again after a wait that doubles with each try, or given up after
    :data:`MAX_ATTEMPTS`. Returns whether it was given up."""
    moment = now()
    give_up = claimed.attempts >= MAX_ATTEMPTS
    wait = min(FIRST_BACKOFF * (2 ** (claimed.attempts - 1)), MAX_BACKOFF)
    values: dict[str, datetime | str | None] = {"lease_until": None, "last_error": reason[:200]}
    if give_up:
        values.update(
            stopped_at=moment, last_error=f"given up after {claimed.attempts} tries: {reason}"[:200]
        )
    else:
        values["due_at"] = moment + wait
    with database.session() as db:
        db.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == claimed.id, OutboxMessage.sent_at.is_(None))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    return give_up


def mark_stopped(database: Database, claimed: Claimed, reason: str) -> None:
    """Never to be sent (no consent, no address): said in plain words on the client page."""
    with database.session() as db:
        db.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == claimed.id, OutboxMessage.sent_at.is_(None))
            .values(stopped_at=now(), lease_until=None, last_error=reason[:200])
            .execution_options(synchronize_session=False)
        )


@dataclass(frozen=True)
class SentView:
    """One message as the client page lists it (the address masked)."""

    id: int
    link_id: int
    session: int
    purpose: str
    channel: str
    created_at: datetime
    sent_at: datetime | None
    stopped_at: datetime | None
    attempts: int
    due_at: datetime
    last_error: str | None
    to: str
    answered_at: datetime | None
    link_open: bool
    can_resend: bool

    @property
    def state(self) -> str:
        if self.sent_at is not None:
            return "sent"
        if self.stopped_at is not None:
            return "stopped"
        return "failing" if self.last_error else "waiting"


def messages_of(db: Session, client_id: int, limit: int = 20) -> list[SentView]:
    """The client's latest messages, latest first, each with its link's state."""
    moment = now()
    rows = db.execute(
        select(OutboxMessage, LinkToken.session, LinkToken.used_at, LinkToken.expires_at)
        .join(LinkToken, LinkToken.id == OutboxMessage.link_id)
        .where(OutboxMessage.client_id == client_id)
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    ).all()
    resendable = {
        link_id
        for (link_id,) in db.execute(
            select(OutboxMessage.link_id)
            .join(LinkToken, LinkToken.id == OutboxMessage.link_id)
            .where(
                OutboxMessage.client_id == client_id,
                OutboxMessage.token.is_not(None),
                and_(LinkToken.used_at.is_(None), LinkToken.expires_at > moment),
            )
        )
    }
    seen: set[int] = set()
    views = []
    for m, session, used_at, expires_at in rows:
        open_ = used_at is None and aware(expires_at) > moment
        views.append(
            SentView(
                id=m.id,
                link_id=m.link_id,
                session=session,
                purpose=m.purpose,
                channel=m.channel,
                created_at=m.created_at,
                sent_at=m.sent_at,
                stopped_at=m.stopped_at,
                attempts=m.attempts,
                due_at=m.due_at,
                last_error=m.last_error,
                to=mask(m.channel, m.recipient) if m.recipient else "",
                answered_at=used_at,
                link_open=open_,
                # One resend button per link, on its latest message.
                can_resend=m.link_id in resendable and m.link_id not in seen,
            )
        )
        seen.add(m.link_id)
    return views

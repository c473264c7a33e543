"""The append-only audit log: who viewed or changed which client's data, and when.

Entries carry internal ids and the kind of action only, never scores or answers. The database
refuses to change or remove an entry; on top of that the log is sealed now and then (after a
caseload view, or with ``attunement audit seal``): a seal holds the SHA-256 of the previous
seal and of every entry since, so :func:`verify` shows any later change to a sealed entry, even
one made by someone who could get round the database's own refusal.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from attunement.store.clock import aware, now
from attunement.store.models import AuditEvent, AuditSeal

#: The network address of the request being served; the web app sets it for each request, so
#: every entry says where it came from without each caller passing it along.
source_address: ContextVar[str | None] = ContextVar("audit_source_address", default=None)


def record(
    db: Session, actor: str, role: str, action: str, *, client_id: int | None = None, detail: str = ""
) -> None:
    db.add(
        AuditEvent(
            at=now(),
            actor=actor,
            role=role,
            action=action,
            client_id=client_id,
            detail=detail[:400],
            address=(source_address.get() or None),
        )
    )


def record_list(db: Session, actor: str, role: str, action: str, client_ids: Sequence[int]) -> None:
    """A list page: which clients it showed, by internal id, in as many entries as it takes."""
    ids = [str(i) for i in client_ids]
    chunk: list[str] = []
    for client_id in ids:
        if len(" ".join([*chunk, client_id])) > 360:
            record(db, actor, role, action, detail=f"{len(ids)} clients: {' '.join(chunk)}")
            chunk = []
        chunk.append(client_id)
    record(db, actor, role, action, detail=f"{len(ids)} clients: {' '.join(chunk)}")


def recent(db: Session, limit: int = 200) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)))


def last_views(db: Session, actor: str, client_ids: Sequence[int]) -> dict[int, datetime]:
    """When ``actor`` last opened each client's page (for "new since you last looked")."""
    if not client_ids:
        return {}
    rows = db.execute(
        select(AuditEvent.client_id, func.max(AuditEvent.at))
        .where(
            AuditEvent.actor == actor,
            AuditEvent.action == "view_client",
            AuditEvent.client_id.in_(list(client_ids)),
        )
        .group_by(AuditEvent.client_id)
    ).all()
    return {client_id: aware(at) for client_id, at in rows if client_id is not None}


#: Entries newer than this are left for the next seal: a transaction may still be committing an
#: entry with an earlier id (PostgreSQL hands out ids before commit).
SEAL_GRACE = timedelta(minutes=1)
#: At most this many entries per seal (a backlog is sealed over several).
SEAL_BATCH = 50_000


def _entry(event: AuditEvent) -> bytes:
    at = aware(event.at).astimezone(UTC).isoformat(timespec="microseconds")
    fields: tuple[object, ...] = (
        event.id,
        at,
        event.actor,
        event.role,
        event.action,
        event.client_id or "",
        event.detail or "",
    )
    if event.address:  # entries from before addresses were kept hash as they always did
        fields += (event.address,)
    return ("\x1f".join(str(f) for f in fields) + "\n").encode("utf-8")


def _chain(previous: str, events: Sequence[AuditEvent]) -> str:
    digest = hashlib.sha256(previous.encode("ascii"))
    for event in events:
        digest.update(_entry(event))
    return digest.hexdigest()


#: Page views seal the log at most this often in one process (``attunement audit seal`` seals at
#: any time): an entry waits a minute for its seal anyway, and a seal per caseload view would
#: add a durable commit to every view.
SEAL_EVERY = 30.0
_last_seal = [-SEAL_EVERY]
_seal_lock = threading.Lock()


def seal_if_due(db: Session) -> AuditSeal | None:
    """:func:`seal`, when this process has not tried for :data:`SEAL_EVERY` seconds."""
    with _seal_lock:
        if time.monotonic() - _last_seal[0] < SEAL_EVERY:
            return None
        _last_seal[0] = time.monotonic()
    return seal(db)


def seal(db: Session, grace: timedelta = SEAL_GRACE) -> AuditSeal | None:
    """Seal the entries since the last seal (those older than ``grace``); None when there are none
    yet, or when another sealer got there first (its seal stands)."""
    last = db.scalar(select(AuditSeal).order_by(AuditSeal.id.desc()).limit(1))
    start = last.last_event_id if last else 0
    events = list(
        db.scalars(
            select(AuditEvent)
            .where(AuditEvent.id > start, AuditEvent.at <= now() - grace)
            .order_by(AuditEvent.id)
            .limit(SEAL_BATCH)
        )
    )
    if not events:
        return None
    made = AuditSeal(
        previous_id=last.id if last else 0,
        last_event_id=events[-1].id,
        chain=_chain(last.chain if last else "", events),
        at=now(),
    )
    try:
        with db.begin_nested():
            db.add(made)
    except IntegrityError:
        return None
    return made


@dataclass(frozen=True)
class Verified:
    """What :func:`verify` found: sealed entries all unchanged (``broken`` None), or the first
    seal whose entries no longer give its chain, and how many entries await a seal."""

    seals: int
    sealed_entries: int
    unsealed_entries: int
    broken: tuple[int, int, int] | None  # (seal id, first entry id, last entry id)

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify(db: Session) -> Verified:
    """Recompute every seal from the entries; the first one that differs is reported."""
    previous, start, sealed = "", 0, 0
    seals = list(db.scalars(select(AuditSeal).order_by(AuditSeal.id)))
    expected_previous = 0
    for s in seals:
        events = list(
            db.scalars(
                select(AuditEvent)
                .where(AuditEvent.id > start, AuditEvent.id <= s.last_event_id)
                .order_by(AuditEvent.id)
            )
        )
        if s.previous_id != expected_previous or _chain(previous, events) != s.chain:
            return Verified(len(seals), sealed, _unsealed(db, start), (s.id, start + 1, s.last_event_id))
        previous, start, expected_previous = s.chain, s.last_event_id, s.id
        sealed += len(events)
    return Verified(len(seals), sealed, _unsealed(db, start), None)


def _unsealed(db: Session, after: int) -> int:
    return int(db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.id > after)) or 0)

"""The append-only audit log: who viewed or changed which client's data, and when.

Entries carry internal ids and the kind of action only, never scores or answers.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from attunement.store.clock import now
from attunement.store.models import AuditEvent


def record(
    db: Session, actor: str, role: str, action: str, *, client_id: int | None = None, detail: str = ""
) -> None:
    db.add(
        AuditEvent(at=now(), actor=actor, role=role, action=action, client_id=client_id, detail=detail[:400])
    )


def recent(db: Session, limit: int = 200) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)))

"""The append-only audit log: who viewed or changed which client's data, and when.

Entries carry internal ids and the kind of action only, never scores or answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from attunement.store.clock import aware, now
from attunement.store.models import AuditEvent


def record(
    db: Session, actor: str, role: str, action: str, *, client_id: int | None = None, detail: str = ""
) -> None:
    db.add(
        AuditEvent(at=now(), actor=actor, role=role, action=action, client_id=client_id, detail=detail[:400])
    )


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
    return {client_id: aware(at) for client_id, at in rows}

"""One client's whole record: exported for the client (a subject access or portability request)
or erased (a request to be forgotten), both audited.

:data:`CLIENT_TABLES` is the one list of where a client's data lives; a contract test fails when
a table is added that is neither listed here nor in :data:`NOT_CLIENT_DATA`, so a new table
cannot be left out of an export or an erasure.

Erasing is refused while the client has an active episode or an open safety alert: a risk
answer that nobody has dealt with is never removed. The audit log keeps that the erasure
happened and the internal id it had (its entries never held a client's answers or names).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Column, Table, delete, select
from sqlalchemy.orm import Session

from attunement.alerts.lifecycle import WAITING
from attunement.errors import FieldProblem, InvalidInputError
from attunement.store.audit import record
from attunement.store.clock import now
from attunement.store.models import Base, Client, Episode, KeptAlert, User
from attunement.store.rowcount import changed_rows

#: Where a client's data lives: table -> (the column that ties a row to the client, the table
#: that column's ids come from). Parents come before their children (erasing goes the other
#: way): submissions after the links they came from, measures and intake answers after them.
CLIENT_TABLES: dict[str, tuple[str, str | None]] = {
    "clients": ("id", None),
    "episodes": ("client_id", "clients"),
    "episode_events": ("episode_id", "episodes"),
    "therapy_sessions": ("episode_id", "episodes"),
    "link_tokens": ("client_id", "clients"),
    "submissions": ("client_id", "clients"),
    "measures": ("client_id", "clients"),
    "intake_answers": ("client_id", "clients"),
    "alerts": ("client_id", "clients"),
    "alert_events": ("alert_id", "alerts"),
    "notifications": ("client_id", "clients"),
    "client_summaries": ("client_id", "clients"),
    "supervision_notes": ("client_id", "clients"),
    "supervision_flags": ("client_id", "clients"),
    "episode_measures": ("client_id", "clients"),
    "client_contacts": ("client_id", "clients"),
    "outbox": ("client_id", "clients"),
    "link_schedules": ("client_id", "clients"),
    "scheduled_links": ("client_id", "clients"),
    "case_members": ("client_id", "clients"),
    "import_sources": ("client_id", "clients"),
}
#: Tables that hold no client's data: accounts, settings, the audit log (internal ids and kinds
#: of action only, kept for good), and fitted forecast models (trees and figures pooled over many
#: episodes, no row of any one client), and the clinic's licensed wordings of measures (clinic
#: configuration: the forms, who supplied them and the licence), and cases with their therapists
#: (the clinician's reference for a couple, family or group and who treats it: each participant's
#: data, their membership included, is theirs and goes with them).
NOT_CLIENT_DATA = frozenset(
    {
        "teams",
        "users",
        "password_links",
        "login_attempts",
        "settings",
        "audit_events",
        "audit_seals",
        "forecast_models",
        "licensed_wordings",
        "cases",
        "case_therapists",
    }
)
#: Left out of an export: a link's token hash and a queued message's token (secrets), and the
#: stored summary (derived from the rest, computed again on demand).
NOT_EXPORTED = {"link_tokens": {"token_hash"}, "outbox": {"token"}, "client_summaries": "all"}

EXPORT_FORMAT = "attunement client record"
EXPORT_VERSION = 1


@dataclass(frozen=True)
class Erased:
    client_id: int
    rows: dict[str, int]


def find_client(db: Session, public_id: str) -> Client:
    client = db.scalar(select(Client).where(Client.public_id == public_id)) if public_id else None
    if client is None:
        raise InvalidInputError(
            "client", [FieldProblem("client", public_id, "the id of a client (as in /clients/<id>)")]
        )
    return client


def export_record(db: Session, client: Client, actor: str, role: str) -> dict[str, Any]:
    """Every row of the client's data as plain JSON values, table by table; audited."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for name, ids in _row_ids(db, client).items():
        left_out = NOT_EXPORTED.get(name, set())
        if left_out == "all":
            continue
        table = _table(name)
        columns = [c for c in table.columns if c.name not in left_out]
        key = _key(table)
        tables[name] = (
            [
                {field: _plain(value) for field, value in row._mapping.items()}
                for row in db.execute(select(*columns).where(key.in_(ids)).order_by(key))
            ]
            if ids
            else []
        )
    therapist = db.get(User, client.therapist_id)
    record(db, actor, role, "export_client", client_id=client.id)
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": now().isoformat(),
        "client": {
            "id": client.public_id,
            "reference": client.label,
            "therapist": therapist.display_name if therapist else None,
        },
        "tables": tables,
    }


def export_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


def erase(db: Session, client: Client, actor: str, role: str) -> Erased:
    """Delete every row of the client's data, children first; refused while the client is in
    care or a safety alert of theirs is open."""
    problems = []
    if db.scalar(select(Episode.id).where(Episode.client_id == client.id, Episode.status == "active")):
        problems.append(FieldProblem("client", client.public_id, "a client whose episodes have all ended"))
    waiting = select(KeptAlert.id).where(
        KeptAlert.client_id == client.id, KeptAlert.kind == "safety", KeptAlert.status.in_(WAITING)
    )
    if db.scalar(waiting) is not None:
        problems.append(
            FieldProblem(
                "client", client.public_id, "no open safety alert: record what was done about it first"
            )
        )
    if problems:
        raise InvalidInputError("erase", problems)
    client_id = client.id
    counts: dict[str, int] = {}
    # Children first; a submission that corrects another goes in the same statement as it.
    for name, ids in reversed(_row_ids(db, client).items()):
        if ids:
            table = _table(name)
            counts[name] = changed_rows(db.execute(delete(table).where(_key(table).in_(ids))))
    record(db, actor, role, "erase_client", client_id=client_id, detail=_count_text(counts))
    return Erased(client_id, counts)


def _row_ids(db: Session, client: Client) -> dict[str, list[int]]:
    ids: dict[str, list[int]] = {"clients": [client.id]}
    for name, (column, parent) in CLIENT_TABLES.items():
        if parent is None:
            continue
        table = _table(name)
        parent_ids = ids[parent]
        ids[name] = (
            [row[0] for row in db.execute(select(_key(table)).where(table.c[column].in_(parent_ids)))]
            if parent_ids
            else []
        )
    return ids


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _key(table: Table) -> Column[Any]:
    (key,) = table.primary_key.columns
    return key


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return value


def _count_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in counts.items())

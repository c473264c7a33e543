"""The clinic's licensed wordings: FHIR Questionnaires a clinic supplies for measures whose
wording attunement may not ship, with who supplied each, when, and the licence statement.

A wording is stored only when it matches the shipped scoring definition item for item
(:func:`attunement.instruments.licensed.check_wording`); a refused upload stores nothing. An
upload never replaces another: every one is kept, and the newest of each measure is used. Clinic
configuration, not client data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from attunement.instruments.definition import Instrument
from attunement.instruments.licensed import (
    Wording,
    check_statement,
    check_wording,
    identify,
    read_questionnaire,
)
from attunement.store.audit import record
from attunement.store.clock import now
from attunement.store.models import LicensedWordingRow, User
from attunement.store.read_once import forget, read_once


@dataclass(frozen=True)
class Imported:
    id: int
    instrument: str
    short_name: str
    items: int
    supplied_by: str
    supplied_at: datetime
    licence_statement: str
    #: How many earlier uploads of the same measure are kept.
    earlier: int


def import_wording(
    db: Session,
    raw: bytes | str,
    licence_statement: str,
    supplied_by: str,
    *,
    instrument_id: str | None = None,
    actor: str = "cli",
    role: str = "admin",
    user: User | None = None,
) -> Imported:
    """Check an uploaded Questionnaire against the shipped definition and keep it; raises
    :class:`~attunement.errors.InvalidInputError` listing every problem, storing nothing."""
    statement, supplier = check_statement(licence_statement, supplied_by)
    data = read_questionnaire(raw)
    instrument = identify(data, instrument_id)
    check_wording(instrument, data)
    earlier = len(history(db, instrument.id))
    row = LicensedWordingRow(
        instrument=instrument.id,
        questionnaire=json.dumps(data, ensure_ascii=False),
        licence_statement=statement,
        supplied_by=supplier,
        supplied_at=now(),
        uploaded_by=user.id if user is not None else None,
    )
    forget(db)
    db.add(row)
    db.flush()
    record(db, actor, role, "import_wording", detail=f"{instrument.id}: upload {row.id}, by {supplier}"[:400])
    return _imported(row, instrument, earlier)


def history(db: Session, instrument_id: str) -> list[LicensedWordingRow]:
    """Every upload of one measure, newest first."""
    return list(
        db.scalars(
            select(LicensedWordingRow)
            .where(LicensedWordingRow.instrument == instrument_id)
            .order_by(LicensedWordingRow.supplied_at.desc(), LicensedWordingRow.id.desc())
        )
    )


def all_uploads(db: Session) -> list[LicensedWordingRow]:
    """Every upload, newest first (for the administrator's page)."""
    return list(
        db.scalars(
            select(LicensedWordingRow).order_by(
                LicensedWordingRow.supplied_at.desc(), LicensedWordingRow.id.desc()
            )
        )
    )


def current_wordings(db: Session) -> dict[str, Wording]:
    """The wording in use for each measure that has one: its newest upload."""
    found: dict[str, Wording] = {}
    for row in all_uploads(db):
        if row.instrument not in found:
            found[row.instrument] = Wording(json.loads(row.questionnaire), row.licence_statement)
    return found


def licensed_instruments(db: Session) -> frozenset[str]:
    """The measures the clinic holds wording for (read once a transaction: see :mod:`read_once`)."""
    return read_once(
        db,
        "licensed_instruments",
        lambda: frozenset(db.scalars(select(LicensedWordingRow.instrument).distinct())),
    )


def _imported(row: LicensedWordingRow, instrument: Instrument, earlier: int) -> Imported:
    return Imported(
        id=row.id,
        instrument=instrument.id,
        short_name=instrument.short_name,
        items=len(instrument.items),
        supplied_by=row.supplied_by,
        supplied_at=row.supplied_at,
        licence_statement=row.licence_statement,
        earlier=earlier,
    )

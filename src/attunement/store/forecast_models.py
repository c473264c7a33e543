"""Forecast models fitted on the clinic's own history, kept in the database.

``attunement fit --database`` reads the clinic's ended episodes as canonical tables
(:func:`ended_history`), fits, and stores the model as a candidate (:func:`store_candidate`). An
administrator activates one (:func:`activate`) or goes back to the bundled model
(:func:`use_bundled`); the previously active model is retired, never deleted, so every alert can
be traced to the model that raised it. The pages ask :func:`active_key` on every computation —
one small query of three columns — and read the model's JSON only when the active model changed.
"""

from __future__ import annotations

import hashlib
import json

import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, defer

from attunement.errors import FieldProblem, InvalidInputError
from attunement.store.clients import episodes_table, measures_table
from attunement.store.clock import now
from attunement.store.models import Client, Episode, ForecastModelRow
from attunement.store.read_once import forget, read_once

CANDIDATE, ACTIVE, RETIRED = "candidate", "active", "retired"


def count_ended(db: Session) -> int:
    """How many episodes of care have ended (each says how: the outcome a fit learns from)."""
    return int(db.scalar(select(func.count()).select_from(Episode).where(Episode.status == "ended")) or 0)


def ended_history(db: Session) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The canonical measures and episodes tables of every ended episode, one course per episode
    (active episodes are left out: how they end is not known yet)."""
    episodes = list(db.scalars(select(Episode).where(Episode.status == "ended").order_by(Episode.id)))
    groups = dict(
        db.execute(
            select(Client.id, Client.client_group).where(Client.id.in_({e.client_id for e in episodes}))
        ).all()
    )
    return measures_table(db, episodes), episodes_table(db, episodes, groups)


def store_candidate(
    db: Session, model_json: dict, name: str, created_by: str, comparison: dict | None = None
) -> ForecastModelRow:
    """Keep a fitted model (the model file's JSON) as a candidate an administrator may activate."""
    name = " ".join(name.split())
    if not name or len(name) > 120:
        raise InvalidInputError("forecast model", [FieldProblem("name", name[:40], "1 to 120 characters")])
    text = json.dumps(model_json, separators=(",", ":"), allow_nan=False)
    row = ForecastModelRow(
        name=name,
        created_at=now(),
        created_by=created_by[:80],
        trained_on=json.dumps(model_json.get("trained_on", {}), allow_nan=False),
        validation=json.dumps(model_json.get("validation", {}), allow_nan=False),
        model=text,
        digest=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        status=CANDIDATE,
        comparison=None if comparison is None else json.dumps(comparison, allow_nan=False),
    )
    db.add(row)
    db.flush()
    return row


def stored_models(db: Session) -> list[ForecastModelRow]:
    """Every stored model, newest first, without the (large) model JSON itself."""
    query = (
        select(ForecastModelRow).options(defer(ForecastModelRow.model)).order_by(ForecastModelRow.id.desc())
    )
    return list(db.scalars(query))


def active_key(db: Session) -> tuple[int, str, str] | None:
    """(id, name, digest) of the active stored model, or None when the bundled model is in use
    (read once a transaction: see :mod:`read_once`)."""

    def read() -> tuple[int, str, str] | None:
        row = db.execute(
            select(ForecastModelRow.id, ForecastModelRow.name, ForecastModelRow.digest).where(
                ForecastModelRow.status == ACTIVE
            )
        ).first()
        return None if row is None else (row.id, row.name, row.digest)

    return read_once(db, "active_model", read)


def model_text(db: Session, model_id: int) -> str | None:
    return db.scalar(select(ForecastModelRow.model).where(ForecastModelRow.id == model_id))


def activate(db: Session, model_id: int) -> tuple[ForecastModelRow, int | None]:
    """Make a stored model the active one; the one active before is retired (kept). Returns the
    model and the id of the one it replaced (None: the bundled model was in use)."""
    row = db.get(ForecastModelRow, model_id)
    if row is None:
        raise InvalidInputError("forecast model", [FieldProblem("model", str(model_id), "a stored model")])
    before = active_key(db)
    if before is not None and before[0] == row.id:
        return row, row.id
    _retire_active(db)
    row.status, row.activated_at = ACTIVE, now()
    db.flush()
    return row, None if before is None else before[0]


def use_bundled(db: Session) -> int | None:
    """Go back to the bundled model: the active stored model (if any) is retired; returns its id."""
    before = active_key(db)
    _retire_active(db)
    return None if before is None else before[0]


def _retire_active(db: Session) -> None:
    forget(db)  # the active model changes in this transaction
    db.execute(update(ForecastModelRow).where(ForecastModelRow.status == ACTIVE).values(status=RETIRED))
    db.flush()

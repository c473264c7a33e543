"""Clients, who may see them, and their records as canonical tables."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from attunement.errors import FieldProblem, InvalidInputError
from attunement.store.clock import now
from attunement.store.models import Client, Measure, Submission, User

GROUP_DEFAULT = "all"


def new_public_id() -> str:
    """An opaque identifier for URLs: no name, no sequence number."""
    return secrets.token_urlsafe(12)


def create_client(db: Session, therapist: User, label: str, client_group: str = "") -> Client:
    label = label.strip()
    problems = []
    if not label or len(label) > 80:
        problems.append(FieldProblem("label", label, "a short reference of 1 to 80 characters"))
    elif db.scalar(select(Client).where(Client.therapist_id == therapist.id, Client.label == label)):
        problems.append(FieldProblem("label", label, "a reference not already in your caseload"))
    if problems:
        raise InvalidInputError("client", problems)
    client = Client(
        public_id=new_public_id(),
        label=label,
        therapist_id=therapist.id,
        client_group=(client_group.strip() or GROUP_DEFAULT)[:40],
        status="ongoing",
        created_at=now(),
    )
    db.add(client)
    db.flush()
    return client


def visible_clients(db: Session, user: User) -> list[Client]:
    """The clients a user may see: a clinician their own, a supervisor their team's, admin none."""
    query = select(Client).join(User, Client.therapist_id == User.id)
    if user.role == "clinician":
        query = query.where(Client.therapist_id == user.id)
    elif user.role == "supervisor" and user.team_id is not None:
        query = query.where(User.team_id == user.team_id)
    else:
        return []
    return list(db.scalars(query.order_by(Client.label)))


def may_view(user: User, client: Client, therapist: User) -> bool:
    if user.role == "clinician":
        return client.therapist_id == user.id
    if user.role == "supervisor":
        return user.team_id is not None and therapist.team_id == user.team_id
    return False


def may_change(user: User, client: Client) -> bool:
    """Only the client's own clinician records, rates and issues links."""
    return user.role == "clinician" and client.therapist_id == user.id


MEASURE_COLUMNS = ("client_id", "session", "instrument", "rater", "item", "value", "score")


def measure_rows(db: Session, client_ids: Sequence[int]) -> list:
    """Every stored answer and score of these clients, as rows of :data:`MEASURE_COLUMNS`."""
    if not client_ids:
        return []
    columns = [getattr(Measure, name) for name in MEASURE_COLUMNS]
    return db.execute(select(*columns).where(Measure.client_id.in_(client_ids))).all()


def measures_table(db: Session, client_ids: list[int]) -> pd.DataFrame:
    """The canonical measures table of these clients (client_id is the internal id, as text)."""
    frame = pd.DataFrame(measure_rows(db, client_ids), columns=list(MEASURE_COLUMNS))
    frame["client_id"] = frame["client_id"].astype(str)
    for column in ("value", "score"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


def episodes_table(db: Session, clients: list[Client]) -> pd.DataFrame:
    """One canonical episodes row per client; sessions attended = the latest session recorded."""
    ids = [c.id for c in clients]
    latest = (
        dict(
            db.execute(
                select(Submission.client_id, func.max(Submission.session))
                .where(Submission.client_id.in_(ids))
                .group_by(Submission.client_id)
            ).all()
        )
        if ids
        else {}
    )
    return pd.DataFrame(
        {
            "client_id": [str(c.id) for c in clients],
            "therapist_id": [str(c.therapist_id) for c in clients],
            "end_reason": [c.status for c in clients],
            "client_group": [c.client_group for c in clients],
            "sessions_attended": [int(latest.get(c.id) or 0) for c in clients],
        }
    )


def latest_session(db: Session, client_id: int) -> int:
    return int(db.scalar(select(func.max(Submission.session)).where(Submission.client_id == client_id)) or 0)


def touch_client(db: Session, client_id: int) -> None:
    """Raise the client's change counter, first thing in a transaction that changes the client.

    Derived data (the stored summaries) is current only while it carries the latest counter; the
    row lock this takes also makes two changes to one client run one after the other.
    """
    db.execute(
        update(Client)
        .where(Client.id == client_id)
        .values(data_version=Client.data_version + 1)
        .execution_options(synchronize_session=False)
    )

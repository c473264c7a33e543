"""Clients, who may see them, and their records as canonical tables (one row per episode)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import date

import pandas as pd
from sqlalchemy import Row, func, select, update
from sqlalchemy.orm import Session

from attunement.errors import FieldProblem, InvalidInputError
from attunement.store.changes import touch_client
from attunement.store.clock import now
from attunement.store.episodes import current_episodes, first_episode
from attunement.store.models import Client, Episode, EpisodeEvent, Measure, Submission, User
from attunement.store.score_rows import counted_rows
from attunement.store.settings import clinic_today
from attunement.tables.schema import RATERS

GROUP_DEFAULT = "all"


def new_public_id() -> str:
    """An opaque identifier for URLs: no name, no sequence number. Never starting with "-", so
    that it can be typed after a command (``attunement client erase ID``) without being read as
    an option."""
    while (token := secrets.token_urlsafe(12)).startswith("-"):
        continue
    return token


def create_client(
    db: Session, therapist: User, label: str, client_group: str = "", started_on: date | None = None
) -> Client:
    """A new client with their first episode of care, started ``started_on`` (default today)."""

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
        created_at=now(),
    )
    db.add(client)
    db.flush()
    first_episode(db, client, therapist, started_on or clinic_today(db))
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


def client_with_id(db: Session, public_id: str) -> tuple[Client, User] | None:
    """The client with this public id and their therapist, or None when there is no such client."""
    client = db.scalar(select(Client).where(Client.public_id == public_id))
    return None if client is None else (client, db.get_one(User, client.therapist_id))


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


def measure_rows(db: Session, episode_ids: Sequence[int]) -> Sequence[Row]:
    """Every stored answer and score of these episodes, as rows of :data:`MEASURE_COLUMNS`
    followed by the submission id (later submissions have higher ids)."""
    if not episode_ids:
        return []
    columns = [getattr(Measure, name) for name in MEASURE_COLUMNS]
    return db.execute(
        select(*columns, Measure.submission_id).where(Measure.episode_id.in_(list(episode_ids)))
    ).all()


def measures_table(db: Session, episodes: Sequence[Episode]) -> pd.DataFrame:
    """The canonical measures table of these episodes (client_id is the internal id, as text;
    ``episode_id`` too). Of two submissions of one form in a session, only the later one's rows
    are kept, as the pages count them. A caregiver's report on a young person is not one of the
    table's raters (client, therapist) and stays out."""
    rows = [
        (*row[:7], str(episode.id))
        for episode in episodes
        for row in counted_rows(measure_rows(db, [episode.id]))
        if row[3] in RATERS
    ]
    frame = pd.DataFrame(rows, columns=[*MEASURE_COLUMNS, "episode_id"])
    frame.insert(1, "episode_id", frame.pop("episode_id"))
    frame["client_id"] = frame["client_id"].astype(str)
    for column in ("value", "score"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


def episodes_table(db: Session, episodes: Sequence[Episode], groups: dict[int, str]) -> pd.DataFrame:
    """One canonical episodes row per episode; sessions attended = the latest session answered."""
    ids = [e.id for e in episodes]
    latest = (
        dict(
            db.execute(
                select(Submission.episode_id, func.max(Submission.session))
                .where(Submission.episode_id.in_(ids))
                .group_by(Submission.episode_id)
            ).all()
        )
        if ids
        else {}
    )
    return pd.DataFrame(
        {
            "client_id": [str(e.client_id) for e in episodes],
            "episode_id": [str(e.id) for e in episodes],
            "therapist_id": [str(e.therapist_id) for e in episodes],
            "end_reason": ["ongoing" if e.active else e.end_reason for e in episodes],
            "start_date": [e.started_on for e in episodes],
            "end_date": [e.ended_on for e in episodes],
            "client_group": [groups.get(e.client_id, GROUP_DEFAULT) for e in episodes],
            "sessions_attended": [int(latest.get(e.id) or 0) for e in episodes],
        }
    )


def reassign_clients(db: Session, source: User, target: User, by: User | None = None) -> int:
    """Move every client of ``source`` to ``target`` (an active clinician); the active episodes
    go with them, ended episodes keep the therapist they had. Each client's current episode keeps
    the change in its history (who before, who after, who moved them). Returns how many clients
    moved."""
    problems = []
    if target.role != "clinician" or not target.active:
        problems.append(FieldProblem("to", target.username, "an active clinician"))
    if target.id == source.id:
        problems.append(FieldProblem("to", target.username, "another clinician"))
    if problems:
        raise InvalidInputError("reassigning clients", problems)
    clients = list(db.scalars(select(Client).where(Client.therapist_id == source.id)))
    for client in clients:
        touch_client(db, client.id)
        client.therapist_id = target.id
    if clients:
        db.execute(
            update(Episode)
            .where(Episode.client_id.in_([c.id for c in clients]), Episode.status == "active")
            .values(therapist_id=target.id)
            .execution_options(synchronize_session=False)
        )
        at = now()
        db.add_all(
            EpisodeEvent(
                episode_id=episode.id,
                action="reassigned",
                at=at,
                by_user=by.id if by is not None else None,
                from_therapist_id=source.id,
                to_therapist_id=target.id,
            )
            for episode in current_episodes(db, [c.id for c in clients]).values()
        )
    return len(clients)

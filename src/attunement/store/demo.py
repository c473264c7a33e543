"""The demo clinic: one team, a supervisor, three clinicians, an administrator and about 60
simulated clients with realistic histories, seeded into an empty database.

Histories come from the simulated clinic (``attunement.simulation``), so they follow the
calibrated trajectory, dropout and rupture model. Most courses are cut at a random session and
kept as ongoing, so the caseload looks like a working clinic rather than a closed cohort.
The log-ins are for local demonstration only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from attunement.simulation import simulate
from attunement.store.accounts import create_team, create_user
from attunement.store.clients import new_public_id
from attunement.store.clock import now
from attunement.store.models import Client, Measure, Submission, User


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str


DEMO_LOGINS = (
    DemoLogin("clinician", "demo-clinician", "clinician"),
    DemoLogin("clinician2", "demo-clinician2", "clinician"),
    DemoLogin("clinician3", "demo-clinician3", "clinician"),
    DemoLogin("supervisor", "demo-supervisor", "supervisor"),
    DemoLogin("admin", "demo-admin-password", "admin"),
)
DEMO_CLIENTS = 60
DEMO_SEED = 7
#: Share of simulated courses kept as ongoing (cut at a random session); a demonstration choice.
ONGOING_SHARE = 0.75


def is_empty(db: Session) -> bool:
    return not db.scalar(select(func.count()).select_from(User))


def seed_demo(db: Session, clients: int = DEMO_CLIENTS, seed: int = DEMO_SEED) -> int:
    """Seed the demo clinic; returns the number of clients. The caller checks the database is empty."""
    team = create_team(db, "Demo team")
    clinicians = []
    for login in DEMO_LOGINS:
        user = create_user(
            db,
            login.username,
            login.password,
            login.role,
            display_name=_display_name(login.username),
            team_id=team.id if login.role != "admin" else None,
        )
        if login.role == "clinician":
            clinicians.append(user)
    clinic = simulate(clients, seed)
    rng = np.random.default_rng(seed)
    measures = clinic.measures
    episodes = clinic.episodes.reset_index(drop=True)
    today = now()
    for index, episode in episodes.iterrows():
        attended = int(episode["sessions_attended"])
        ongoing = rng.random() < ONGOING_SHARE and attended >= 2
        last = int(rng.integers(2, attended + 1)) if ongoing else attended
        client = Client(
            public_id=new_public_id(),
            label=f"Client {index + 1:02d}",
            therapist_id=clinicians[index % len(clinicians)].id,
            client_group=str(episode.get("client_group", "all")),
            status="ongoing" if ongoing else str(episode["end_reason"]),
            created_at=today - timedelta(weeks=last),
        )
        db.add(client)
        db.flush()
        rows = measures[(measures["client_id"] == episode["client_id"]) & (measures["session"] <= last)]
        _add_rows(db, client, rows, today, last)
    return len(episodes)


def _add_rows(db: Session, client: Client, rows: pd.DataFrame, today, last: int) -> None:
    for (session, rater), part in rows.groupby(["session", "rater"]):
        when = today - timedelta(weeks=last - int(session), hours=1)
        submission = Submission(
            client_id=client.id, session=int(session), rater=str(rater), submitted_at=when
        )
        db.add(submission)
        db.flush()
        db.add_all(
            Measure(
                client_id=client.id,
                submission_id=submission.id,
                session=int(session),
                instrument=str(row.instrument),
                rater=str(row.rater),
                item=None if pd.isna(row.item) else str(row.item),
                value=None if pd.isna(row.value) else float(row.value),
                score=None if pd.isna(row.score) else float(row.score),
                recorded_at=when,
            )
            for row in part.itertuples()
        )


def _display_name(username: str) -> str:
    names = {
        "clinician": "Dr Alex Demo",
        "clinician2": "Sam Example",
        "clinician3": "Robin Sample",
        "supervisor": "Jo Supervisor",
        "admin": "Clinic Admin",
    }
    return names.get(username, username)

"""The demo clinic's couples, families and groups, written by hand so that every part of the
room pages shows something real: a couple whose second partner's check-in has just fallen while
the first's holds (a split alliance, open), a family of two parents and a young person where the
young person has drifted away (a split), and a group of eight members where one member's
cohesion is falling, one has not answered the latest session yet and one more left after the
fourth session. Every participant also answers PHQ-9 and GAD-7, with plausible courses.

The numbers are demonstration choices, not clinical figures; they are chosen so that the alerts
above fire and nothing else in the room does.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
from sqlalchemy.orm import Session

from attunement.instruments import get_instrument
from attunement.instruments.roles import checkin_for
from attunement.store.clients import new_public_id
from attunement.store.clock import now
from attunement.store.models import (
    Case,
    CaseMember,
    CaseTherapist,
    Client,
    Episode,
    EpisodeEvent,
    TherapySession,
    User,
)
from attunement.store.settings import clinic_today, clinic_zone
from attunement.store.submissions import store_table_rows

#: (reference, role, check-in by case session from session 2 on (None: not answered), PHQ-9
#: total at session 1 and at the latest session).
Person = tuple[str, str, list[float | None], tuple[int, int]]

COUPLE: list[Person] = [
    ("Sam", "partner", [8, 7, 8, 8, 8, 8], (14, 9)),
    ("Alex", "partner", [7, 8, 8, 7, 8, 3], (12, 13)),
]
FAMILY: list[Person] = [
    ("Dana", "parent", [7, 8, 8, 7, 8], (10, 7)),
    ("Chris", "parent", [8, 7, 8, 8, 7], (8, 6)),
    ("Jo", "young_person", [7, 8, 7, 8, 3], (16, 17)),
]
#: Eight current members (Fay has not answered session 8 yet; Dee's cohesion is falling) and
#: Ivy, who left after session 4.
GROUP: list[Person] = [
    ("Ash", "group_member", [8, 8, 7, 8, 8, 7, 8], (15, 9)),
    ("Bo", "group_member", [7, 8, 8, 7, 8, 8, 8], (13, 8)),
    ("Cal", "group_member", [8, 7, 8, 8, 7, 8, 7], (18, 12)),
    ("Dee", "group_member", [8, 8, 8, 7, 5, 4, 3], (14, 15)),
    ("Eli", "group_member", [7, 7, 8, 8, 8, 7, 8], (11, 7)),
    ("Fay", "group_member", [8, 8, 7, 8, 7, 8, None], (16, 11)),
    ("Gus", "group_member", [7, 8, 7, 7, 8, 8, 7], (12, 8)),
    ("Hal", "group_member", [8, 7, 8, 7, 8, 7, 8], (17, 10)),
]
LEFT: Person = ("Ivy", "group_member", [7, 6, 6], (15, 15))


def seed_rooms(db: Session, lead: User, colleague: User, other: User) -> list[Case]:
    """The three cases, led by ``lead``; ``colleague`` co-treats the family and ``other`` co-leads
    the group."""
    today = clinic_today(db)
    writer = _Writer(db, today)
    couple = writer.case("Couple 01", "couple", [lead], COUPLE, last_day=today - timedelta(days=1))
    family = writer.case("Family 02", "family", [lead, colleague], FAMILY, last_day=today - timedelta(days=3))
    group = writer.case("Tuesday group", "group", [lead, other], GROUP, last_day=today - timedelta(days=2))
    writer.member(group, LEFT, sessions=4, last_day=today - timedelta(days=2, weeks=4), left=True)
    db.flush()
    return [couple, family, group]


class _Writer:
    def __init__(self, db: Session, today: date):
        self.db, self.today, self.zone = db, today, clinic_zone(db)

    def case(self, label: str, format_id: str, therapists: list[User], people: list[Person], last_day: date):
        sessions = max(len(p[2]) for p in people) + 1
        first_day = last_day - timedelta(weeks=sessions - 1)
        case = Case(
            public_id=new_public_id(),
            label=label,
            format=format_id,
            team_id=therapists[0].team_id,
            created_by=therapists[0].id,
            created_at=self._at(first_day - timedelta(days=7), time(12, 0)),
            status="open",
        )
        self.db.add(case)
        self.db.flush()
        self.db.add_all(
            CaseTherapist(
                case_id=case.id, user_id=u.id, added_on=first_day - timedelta(days=7), added_by=u.id
            )
            for u in therapists
        )
        self.lead = therapists[0]
        for person in people:
            self.member(case, person, sessions=sessions, last_day=last_day, left=False)
        return case

    def member(self, case: Case, person: Person, *, sessions: int, last_day: date, left: bool) -> None:
        label, role_id, checkins, (phq_first, phq_last) = person
        first_day = last_day - timedelta(weeks=sessions - 1)
        client = Client(
            public_id=new_public_id(),
            label=label,
            therapist_id=case.created_by,
            client_group="all",
            created_at=self._at(first_day - timedelta(days=7), time(0, 0)),
        )
        self.db.add(client)
        self.db.flush()
        episode = Episode(
            client_id=client.id,
            number=1,
            therapist_id=case.created_by,
            status="active",
            started_on=first_day - timedelta(days=7),
            created_at=self._at(first_day - timedelta(days=7), time(9, 0)),
        )
        self.db.add(episode)
        self.db.flush()
        self.db.add(
            EpisodeEvent(
                episode_id=episode.id,
                action="opened",
                on_date=episode.started_on,
                at=episode.created_at,
                by_user=case.created_by,
            )
        )
        self.db.add(
            CaseMember(
                case_id=case.id,
                client_id=client.id,
                role=role_id,
                first_session=1,
                own_first_session=1,
                joined_on=episode.started_on,
                left_on=last_day + timedelta(days=3) if left else None,
                left_reason="moved to another town" if left else None,
                last_session=sessions if left else None,
                added_by=case.created_by,
            )
        )
        for session in range(1, sessions + 1):
            day = first_day + timedelta(weeks=session - 1)
            self.db.add(
                TherapySession(
                    episode_id=episode.id,
                    number=session,
                    planned_on=day,
                    planned_time=time(18, 0),
                    created_at=self._at(day - timedelta(days=7), time(19, 0)),
                    created_by=case.created_by,
                )
            )
            checkin = checkins[session - 2] if session >= 2 else 0.0
            if checkin is None:
                continue  # not answered (yet)
            share = (session - 1) / max(sessions - 1, 1)
            phq = round(phq_first + (phq_last - phq_first) * share)
            rows = _items("phq9", phq, 3, keep_zero=("phq9_9",)) + _items("gad7", round(phq * 0.8), 3)
            if session >= 2:
                rows += _checkin_rows(role_id, float(checkin))
            when = min(now() - timedelta(minutes=30), self._at(day, time(17, 15 + session % 30)))
            store_table_rows(self.db, episode, session, "client", pd.DataFrame(rows), when)
        if not left:  # the next session is booked
            self.db.add(
                TherapySession(
                    episode_id=episode.id,
                    number=sessions + 1,
                    planned_on=last_day + timedelta(weeks=1),
                    planned_time=time(18, 0),
                    created_at=self._at(last_day, time(19, 0)),
                    created_by=case.created_by,
                )
            )

    def _at(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, tzinfo=self.zone).astimezone(UTC)


def _items(instrument: str, total: int, top: int, keep_zero: tuple[str, ...] = ()) -> list[dict]:
    """Item answers adding up to ``total`` (each 0 to ``top``), spread evenly; ``keep_zero`` items 0."""
    items = [i for i in get_instrument(instrument).scoring.items if i not in keep_zero]
    total = max(0, min(total, top * len(items)))
    values = [total // len(items) + (1 if n < total % len(items) else 0) for n in range(len(items))]
    rows = [_row(instrument, item, v) for item, v in zip(items, values, strict=True)]
    return rows + [_row(instrument, item, 0) for item in keep_zero]


def _checkin_rows(role_id: str, total: float) -> list[dict]:
    """The role's check-in answered so that its total is ``total`` (reversed items the other way)."""
    instrument = get_instrument(checkin_for(role_id))
    reverse = set(instrument.scoring.reverse)
    return [
        _row(instrument.id, item, 10 - total if item in reverse else total)
        for item in instrument.scoring.items
    ]


def _row(instrument: str, item: str, value: float) -> dict:
    return {"instrument": instrument, "rater": "client", "item": item, "value": float(value), "score": None}

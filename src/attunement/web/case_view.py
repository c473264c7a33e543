"""What the case page and the group session page show, built from the store (no HTTP here).

The case page puts every participant's outcome and relationship check-in on shared axes (case
sessions), one line per participant, with the same numbers as a table; each participant's open
alerts; the room alerts (split alliance, falling cohesion) with their reason and support steps;
and, for a group, the group's cohesion level and trend. The group session page shows, for one
case session, every current member's answers at a glance (risk answers first) and who has not
answered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from attunement.alerts.room import ROOM_KINDS, RoomRatings, cohesion_summary
from attunement.charts.room import room_chart
from attunement.instruments import get_instrument
from attunement.instruments.roles import checkin_for
from attunement.prediction.measures import charted_measures
from attunement.store.cases import CaseRecord, Participant, latest_case_session
from attunement.store.episodes import current_episodes
from attunement.store.models import Client, Submission
from attunement.store.rooms import room_ratings
from attunement.store.summaries import AlertView, ClientSummary
from attunement.store.summary_store import summaries_for
from attunement.tailoring.engine import Recommendation, format_recommendations


@dataclass(frozen=True)
class Line:
    """One participant's values on the case's sessions (None where not answered)."""

    participant: Participant
    values: list[float | None]


@dataclass(frozen=True)
class Chart:
    title: str
    svg: str
    sessions: list[int]
    lines: list[Line]
    note: str = ""


@dataclass(frozen=True)
class CaseView:
    record: CaseRecord
    summaries: dict[int, ClientSummary]
    latest_session: int
    outcome: Chart | None
    relationship: Chart | None
    room_alerts: list[tuple[Participant, AlertView]]
    cohesion: dict | None = None
    can_change: bool = False
    own_clients: list[Client] = field(default_factory=list)
    #: The recommendations for this kind of case, each tied to its evidence entry.
    recommendations: list[Recommendation] = field(default_factory=list)

    def open_alerts(self, person: Participant) -> list[AlertView]:
        summary = self.summaries.get(person.client.id)
        return [] if summary is None else summary.open_alerts


def case_view(db: Session, record: CaseRecord, *, can_change: bool, own_clients=()) -> CaseView:
    people = record.participants
    summaries = summaries_for(db, [p.client for p in people])
    ratings = room_ratings(db, record)
    latest = latest_case_session(db, record.case)
    room_alerts = [
        (p, a)
        for p in record.current
        for a in summaries[p.client.id].open_alerts
        if a.alert.kind in ROOM_KINDS
    ]
    return CaseView(
        record=record,
        summaries=summaries,
        latest_session=latest,
        outcome=_outcome_chart(record, summaries, latest),
        relationship=_relationship_chart(record, ratings),
        room_alerts=room_alerts,
        cohesion=_cohesion(ratings) if record.case.format == "group" else None,
        can_change=can_change,
        own_clients=list(own_clients),
        recommendations=format_recommendations(record.case.format),
    )


def _outcome_chart(record: CaseRecord, summaries: dict[int, ClientSummary], latest: int) -> Chart | None:
    """The outcome measure most participants answered, each on the case's sessions."""
    series = {p.client.id: summaries[p.client.id].series() for p in record.participants}
    counts = {
        m: sum(any(v is not None for v in s.get(m, [])) for s in series.values()) for m in charted_measures()
    }
    measure = max(counts, key=lambda m: counts[m], default=None)
    if measure is None or counts[measure] == 0 or latest < 1:
        return None
    sessions = list(range(1, latest + 1))
    lines = []
    for person in record.participants:
        own = series[person.client.id].get(measure, [])
        values: list[float | None] = [None] * latest
        for index, value in enumerate(own):
            at = person.case_session(index + 1)
            if value is not None and 1 <= at <= latest and at >= person.row.first_session:
                values[at - 1] = value
        lines.append(Line(person, values))
    instrument = get_instrument(measure)
    low, high = (float(v) for v in instrument.scoring.range) if instrument.scoring.range else (0.0, 10.0)
    missing = [ln.participant.client.label for ln in lines if all(v is None for v in ln.values)]
    svg = room_chart(
        sessions,
        [(_line_name(record, ln.participant), ln.values) for ln in lines],
        low=low,
        high=high,
        measure=instrument.short_name,
        higher_is_better=instrument.direction == "higher_is_better",
        chart_id="case-outcome",
    )
    note = f"No {instrument.short_name} answers yet from {', '.join(missing)}." if missing else ""
    return Chart(instrument.short_name, svg, sessions, lines, note)


def _relationship_chart(record: CaseRecord, ratings: RoomRatings | None) -> Chart | None:
    """Each participant's check-in total (their role's check-in) on the case's sessions; the
    ratings hold the participants in the record's order."""
    if ratings is None:
        return None
    sessions = [int(s) for s in ratings.sessions]
    lines = [
        Line(person, [None if math.isnan(v) else float(v) for v in row])
        for person, row in zip(record.participants, ratings.values, strict=True)
    ]
    svg = room_chart(
        sessions,
        [(_line_name(record, ln.participant), ln.values) for ln in lines],
        low=0.0,
        high=10.0,
        measure="Check-in",
        higher_is_better=True,
        chart_id="case-relationship",
    )
    return Chart("Relationship check-in", svg, sessions, lines)


def _line_name(record: CaseRecord, person: Participant) -> str:
    """A line's name: with the role in a couple or family, the reference alone in a group (where
    everyone is a member)."""
    return person.client.label if record.case.format == "group" else person.name


def _cohesion(ratings: RoomRatings | None) -> dict | None:
    """The group's level per session (mean of the members answering), who answered, and the trend."""
    if ratings is None:
        return None
    found = cohesion_summary(ratings)
    rows = [
        {
            "session": int(s),
            "level": None if math.isnan(level) else round(float(level), 1),
            "answered": int(answered),
            "members": int(members),
        }
        for s, level, answered, members in zip(
            found.sessions, found.level, found.answered, found.members, strict=True
        )
    ]
    return {"rows": rows, "trend": found.trend, "falling": found.falling}


@dataclass(frozen=True)
class MemberAnswers:
    """One current member's answers for one case session, as the group page shows them."""

    participant: Participant
    own_session: int
    answered: bool
    checkin: float | None
    outcome: tuple[str, float] | None
    risk: bool
    open_safety: bool
    #: The member's open split-alliance or falling-cohesion alerts, shown by their label.
    room_alerts: tuple[AlertView, ...] = ()


def session_answers(db: Session, record: CaseRecord, case_session: int) -> list[MemberAnswers]:
    """Every member in the group at ``case_session``: risk answers first, then those who answered,
    then who has not answered, each in the order they joined."""
    people = [
        p
        for p in record.participants
        if p.row.first_session <= case_session
        and (p.row.last_session is None or case_session <= p.row.last_session)
    ]
    if not people:
        return []
    summaries = summaries_for(db, [p.client for p in people])
    episodes = current_episodes(db, [p.client.id for p in people])
    answered = {
        (client_id, session)
        for client_id, session in db.execute(
            select(Submission.client_id, Submission.session).where(
                Submission.episode_id.in_([e.id for e in episodes.values()]), Submission.rater == "client"
            )
        ).all()
    }
    ratings = room_ratings(db, record)
    column = None
    if ratings is not None and case_session in ratings.sessions:
        column = int(np.searchsorted(ratings.sessions, case_session))
    index = {pid: i for i, pid in enumerate(ratings.participants)} if ratings is not None else {}
    out = []
    for person in people:
        own = person.own_session(case_session)
        summary = summaries[person.client.id]
        checkin = None
        if column is not None and ratings is not None:
            value = ratings.values[index[person.client.public_id], column]
            checkin = None if math.isnan(value) else round(float(value), 1)
        outcome = _outcome_at(summary, own)
        item9 = _at(summary.phq9_item9, own)
        out.append(
            MemberAnswers(
                participant=person,
                own_session=own,
                answered=(person.client.id, own) in answered,
                checkin=checkin,
                outcome=outcome,
                risk=item9 is not None and item9 > 0,
                open_safety=summary.has_open_safety,
                room_alerts=tuple(a for a in summary.open_alerts if a.alert.kind in ROOM_KINDS),
            )
        )
    out.sort(key=lambda m: (not (m.risk or m.open_safety), not m.answered))
    return out


def _at(values: list[float | None], session: int) -> float | None:
    return values[session - 1] if 1 <= session <= len(values) else None


def _outcome_at(summary: ClientSummary, session: int) -> tuple[str, float] | None:
    series = summary.series()
    for measure in charted_measures():
        value = _at(series.get(measure, []), session)
        if value is not None:
            return get_instrument(measure).short_name, value
    return None


def checkin_of(person: Participant) -> str:
    """The check-in the participant answers (their role's)."""
    return get_instrument(checkin_for(person.row.role)).short_name

"""The room of a case: every participant's relationship check-in read side by side, on the case's
session numbers, and the room alerts (split alliance, falling cohesion) it raises.

Each participant answers the check-in of their role (:func:`~attunement.instruments.roles.checkin_for`),
in their own episode; their own session s is case session ``first_session + s - own_first_session``
(:class:`~attunement.store.cases.Participant`), and they count as in the room from the case
session they joined at up to the last one before they left. The rules are the core's
(:mod:`attunement.alerts.room`); a room alert is kept on the participant it is about, like any
alert of theirs (:mod:`attunement.store.summary_store`), at their own session number.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from attunement.alerts import Alert
from attunement.alerts.room import RoomRatings, room_alerts
from attunement.instruments.roles import checkin_for
from attunement.store.cases import CaseRecord, Participant, case_record
from attunement.store.clients import measure_rows
from attunement.store.episodes import current_episodes
from attunement.store.models import Case, CaseMember
from attunement.store.score_rows import Series, series_by_client


def room_ratings(db: Session, record: CaseRecord) -> RoomRatings | None:
    """The case's relationship ratings (participants x case sessions), or None before any
    participant has answered a check-in."""
    people = record.participants
    if not people:
        return None
    episodes = current_episodes(db, [p.client.id for p in people])
    # One query for the room, scored as every page scores a client's forms.
    series = series_by_client(measure_rows(db, [e.id for e in episodes.values()]))
    values = {p.client.id: _checkins(p, series.get(p.client.id, {})) for p in people}
    # The sessions someone rated: a first session's link asks no check-in (there was no session
    # to ask about yet), and nobody is counted as missing a check-in that was never asked.
    rated = sorted({session for v in values.values() for session in v})
    if not rated:
        return None
    sessions = np.array(rated, dtype=np.int64)
    table = np.full((len(people), len(sessions)), np.nan)
    member = np.zeros((len(people), len(sessions)), dtype=bool)
    column = {session: i for i, session in enumerate(rated)}
    for row, person in enumerate(people):
        for session, value in values[person.client.id].items():
            table[row, column[session]] = value
        until = person.row.last_session if person.row.last_session is not None else rated[-1]
        member[row] = (sessions >= person.row.first_session) & (sessions <= until)
    return RoomRatings(
        case_id=record.case.public_id,
        format=record.case.format,
        participants=tuple(p.client.public_id for p in people),
        names=tuple(p.name for p in people),
        roles=tuple(p.row.role for p in people),
        sessions=sessions,
        values=table,
        member=member,
    )


def _checkins(person: Participant, series: Series) -> dict[int, float]:
    """The participant's check-in totals by case session (sessions of the room only), from the
    scores of their current episode."""
    out = {}
    for session, total in series.get(checkin_for(person.row.role), {}).items():
        case_session = person.case_session(session)
        if case_session >= max(1, person.row.first_session):
            out[case_session] = total
    return out


def room_alerts_for(db: Session, client_ids: Sequence[int]) -> dict[int, list[Alert]]:
    """The room alerts firing now on each of these clients who is a current member of a case, by
    client id: each alert names the client by their internal id (as the kept alerts do) and is at
    their own session number."""
    if not client_ids:
        return {}
    case_ids = set(
        db.scalars(
            select(CaseMember.case_id).where(
                CaseMember.client_id.in_(list(client_ids)), CaseMember.left_on.is_(None)
            )
        )
    )
    wanted = set(client_ids)
    out: dict[int, list[Alert]] = defaultdict(list)
    for case in db.scalars(select(Case).where(Case.id.in_(case_ids)).order_by(Case.id)):
        record = case_record(db, case)
        ratings = room_ratings(db, record)
        if ratings is None:
            continue
        by_public = {p.client.public_id: p for p in record.current if p.client.id in wanted}
        for found in room_alerts(ratings):
            person = by_public.get(found.participant)
            if person is None:
                continue
            alert = found.alert()
            out[person.client.id].append(
                replace(alert, client_id=str(person.client.id), session=person.own_session(found.session))
            )
    return dict(out)

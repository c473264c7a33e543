"""The sessions of an episode: numbered by the system, planned for a date, offered for a link.

A clinician never types a session number. Sessions are numbered 1, 2, ... within the episode in
the order they are created: by planning an appointment, by issuing a link for "the next
session", or by rating a session that had neither. The rules:

- **Planning** gives a date (and optionally a time) to the latest session when it has neither a
  date nor any answers yet (a link issued for "the next session" before it was planned) and no
  session is planned later; otherwise it creates a session for that date, numbered in date
  order: the sessions after it that nobody has answered yet move up one number, with their
  waiting links, and if one after it has answers the new session simply comes last.
- **A link** is for one session without client answers: a planned one from today on, or one that
  already has a link waiting (a resend), or a new next session.
- **A rating** is for a session without a rating of the therapist's yet; changing a rating is a
  separate, explicit edit (see :mod:`attunement.store.submissions`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from attunement.errors import FieldProblem, InvalidInputError
from attunement.store.clock import aware, local_time, local_today, now
from attunement.store.episodes import require_active
from attunement.store.models import Episode, LinkToken, Submission, TherapySession, User
from attunement.store.settings import clinic_today

#: How far ahead a session may be planned (a project choice: a year covers any course).
MAX_DAYS_AHEAD = 366


@dataclass(frozen=True)
class SessionState:
    """What the pages need to know of one session of an episode."""

    number: int
    planned_on: date | None
    planned_time: time | None
    client_answered: tuple[datetime, ...]
    therapist_rated: tuple[datetime, ...]
    #: Links issued and not yet used: (issued, expires).
    links_waiting: tuple[tuple[datetime, datetime], ...]

    @property
    def has_client_answers(self) -> bool:
        return bool(self.client_answered)

    @property
    def is_rated(self) -> bool:
        return bool(self.therapist_rated)


def session_states(db: Session, episode_id: int) -> list[SessionState]:
    """Every session of the episode in order, with its answers, ratings and waiting links."""
    sessions = list(
        db.scalars(
            select(TherapySession)
            .where(TherapySession.episode_id == episode_id)
            .order_by(TherapySession.number)
        )
    )
    answered: dict[tuple[int, str], list[datetime]] = {}
    for number, rater, at in db.execute(
        select(Submission.session, Submission.rater, Submission.submitted_at)
        .where(Submission.episode_id == episode_id)
        .order_by(Submission.id)
    ):
        answered.setdefault((number, rater), []).append(aware(at))
    moment = now()
    waiting: dict[int, list[tuple[datetime, datetime]]] = {}
    for number, created, expires in db.execute(
        select(LinkToken.session, LinkToken.created_at, LinkToken.expires_at)
        .where(LinkToken.episode_id == episode_id, LinkToken.used_at.is_(None))
        .order_by(LinkToken.id)
    ):
        if aware(expires) > moment:
            waiting.setdefault(number, []).append((aware(created), aware(expires)))
    return [
        SessionState(
            number=s.number,
            planned_on=s.planned_on,
            planned_time=s.planned_time,
            client_answered=tuple(answered.get((s.number, "client"), ())),
            therapist_rated=tuple(answered.get((s.number, "therapist"), ())),
            links_waiting=tuple(waiting.get(s.number, ())),
        )
        for s in sessions
    ]


def next_number(db: Session, episode_id: int) -> int:
    latest = db.scalar(select(func.max(TherapySession.number)).where(TherapySession.episode_id == episode_id))
    return int(latest or 0) + 1


def link_choices(states: Sequence[SessionState], today: date) -> list[SessionState]:
    """Sessions a link may be for: no client answers yet, and planned from today on, undated, or
    with a link already waiting (a resend). Ordered by session number."""
    return [
        s
        for s in states
        if not s.has_client_answers and (s.planned_on is None or s.planned_on >= today or s.links_waiting)
    ]


def default_link_choice(choices: Sequence[SessionState], today: date) -> int | None:
    """The session a new link is for unless the clinician picks another: the earliest planned from
    today on, else the earliest with a link waiting or no date; None for a new session."""
    planned = [s for s in choices if s.planned_on is not None and s.planned_on >= today]
    if planned:
        return min(planned, key=lambda s: (s.planned_on, s.number)).number
    return choices[0].number if choices else None


def rating_choices(states: Sequence[SessionState], today: date) -> list[SessionState]:
    """Sessions the therapist may rate for the first time: not rated yet, and held already as far
    as the app can tell (answered by the client, planned for today or earlier, or undated with no
    link waiting). A session still to come is not offered."""
    return [s for s in states if not s.is_rated and _held(s, today)]


def _held(state: SessionState, today: date) -> bool:
    if state.has_client_answers:
        return True
    if state.planned_on is not None:
        return state.planned_on <= today
    return not state.links_waiting


def default_rating_choice(choices: Sequence[SessionState]) -> int | None:
    """The latest session the therapist may rate (the one that has just happened), if any."""
    return choices[-1].number if choices else None


def new_session(
    db: Session,
    episode: Episode,
    user: User | None,
    planned_on: date | None = None,
    planned_time: time | None = None,
) -> TherapySession:
    """The episode's next session (numbered here, never by the clinician)."""
    require_active(episode, "session")
    row = TherapySession(
        episode_id=episode.id,
        number=next_number(db, episode.id),
        planned_on=planned_on,
        planned_time=planned_time,
        created_at=now(),
        created_by=user.id if user is not None else None,
    )
    db.add(row)
    db.flush()
    return row


def session_row(db: Session, episode_id: int, number: int) -> TherapySession | None:
    return db.scalar(
        select(TherapySession).where(TherapySession.episode_id == episode_id, TherapySession.number == number)
    )


def session_today(db: Session, episode: Episode, user: User) -> TherapySession:
    """A session held today that was neither planned nor linked (for a rating given after it),
    numbered in date order among the planned ones."""
    require_active(episode, "session")
    return _place(db, episode, user, session_states(db, episode.id), clinic_today(db), None)


def plan_session(
    db: Session, episode: Episode, user: User, planned_on: date, planned_time: time | None
) -> TherapySession:
    """Plan an appointment, keeping session numbers in date order (see :func:`_place`)."""
    today = clinic_today(db)
    if planned_on < today or (planned_on - today).days > MAX_DAYS_AHEAD:
        raise InvalidInputError(
            "planning a session",
            [
                FieldProblem(
                    "date", planned_on.isoformat(), f"a date from today ({today:%d %b %Y}) up to a year ahead"
                )
            ],
        )
    require_active(episode, "planning a session")
    states = session_states(db, episode.id)
    last = states[-1] if states else None
    if (
        last is not None
        and last.planned_on is None
        and not last.client_answered
        and not last.therapist_rated
        and all(s.planned_on is None or s.planned_on <= planned_on for s in states)
    ):
        row = session_row(db, episode.id, last.number)
        if row is None:  # every state is read from a session row
            raise LookupError(f"episode {episode.id} has no session {last.number}")
        row.planned_on, row.planned_time = planned_on, planned_time
        db.flush()
        return row
    return _place(db, episode, user, states, planned_on, planned_time)


def _place(
    db: Session,
    episode: Episode,
    user: User,
    states: Sequence[SessionState],
    planned_on: date,
    planned_time: time | None,
) -> TherapySession:
    """A new session for ``planned_on``: after the sessions planned before it. When sessions that
    nobody has answered yet are planned later, they move up one number (with their waiting
    links), so that the numbers follow the dates; a session with answers never changes number,
    so if one lies after the new date the new session simply comes last."""
    when = (planned_on, planned_time or time.min)
    later = [
        s for s in states if s.planned_on is not None and (s.planned_on, s.planned_time or time.min) > when
    ]
    if not later:
        return new_session(db, episode, user, planned_on, planned_time)
    first = min(s.number for s in later)
    moving = [s for s in states if s.number >= first]
    if any(s.client_answered or s.therapist_rated for s in moving):
        return new_session(db, episode, user, planned_on, planned_time)
    for state in sorted(moving, key=lambda s: -s.number):  # from the end: numbers stay unique
        db.execute(
            update(TherapySession)
            .where(TherapySession.episode_id == episode.id, TherapySession.number == state.number)
            .values(number=state.number + 1)
        )
        db.execute(
            update(LinkToken)
            .where(LinkToken.episode_id == episode.id, LinkToken.session == state.number)
            .values(session=state.number + 1)
        )
    row = TherapySession(
        episode_id=episode.id,
        number=first,
        planned_on=planned_on,
        planned_time=planned_time,
        created_at=now(),
        created_by=user.id,
    )
    db.add(row)
    db.flush()
    return row


@dataclass(frozen=True)
class EpisodeFacts:
    """What a caseload card says of an episode's dates: the working list's columns."""

    last_answered: datetime | None
    next_planned: date | None
    next_planned_time: time | None
    links_waiting: int
    #: When the last of the waiting links expires.
    waiting_until: datetime | None
    answered_today: bool
    planned_today: bool


def episode_facts(db: Session, episode_ids: Sequence[int], zone: ZoneInfo) -> dict[int, EpisodeFacts]:
    """The last client answer, next planned session and waiting links of each episode, in three
    grouped queries (a caseload has many episodes)."""
    ids = list(episode_ids)
    if not ids:
        return {}
    today = local_today(zone)
    last = dict(
        db.execute(
            select(Submission.episode_id, func.max(Submission.submitted_at))
            .where(Submission.episode_id.in_(ids), Submission.rater == "client")
            .group_by(Submission.episode_id)
        ).all()
    )
    upcoming: dict[int, tuple[date, time | None]] = {}
    for episode_id, planned_on, planned_time in db.execute(
        select(TherapySession.episode_id, TherapySession.planned_on, TherapySession.planned_time)
        .where(TherapySession.episode_id.in_(ids), TherapySession.planned_on >= today)
        .order_by(TherapySession.planned_on, TherapySession.number)
    ):
        if planned_on is not None:  # never NULL here: the query asks for dates from today
            upcoming.setdefault(episode_id, (planned_on, planned_time))
    moment = now()
    waiting = {
        episode_id: (count, until)
        for episode_id, count, until in db.execute(
            select(LinkToken.episode_id, func.count(), func.max(LinkToken.expires_at))
            .where(LinkToken.episode_id.in_(ids), LinkToken.used_at.is_(None), LinkToken.expires_at > moment)
            .group_by(LinkToken.episode_id)
        ).all()
    }
    out = {}
    for episode_id in ids:
        answered = aware(last[episode_id]) if last.get(episode_id) is not None else None
        planned_on, planned_time = upcoming.get(episode_id, (None, None))
        count, until = waiting.get(episode_id, (0, None))
        out[episode_id] = EpisodeFacts(
            last_answered=answered,
            next_planned=planned_on,
            next_planned_time=planned_time,
            links_waiting=int(count),
            waiting_until=aware(until) if until is not None else None,
            answered_today=answered is not None and local_time(answered, zone).date() == today,
            planned_today=planned_on == today,
        )
    return out

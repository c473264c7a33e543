"""An episode's link schedule: links created and sent without a clinician.

The treating clinician chooses, per episode, one of

- **off** (the default: links are made by hand only),
- **before each planned session**: a link for that session
  ``schedule_hours_before_session`` hours (a clinic setting) before it starts, once per session;
  a session planned without a time counts as starting at :data:`DAY_START` (clinic time),
- **every N days** (1 to :data:`MAX_EVERY_DAYS`): a link when N days have passed since the
  episode's last link (any link, made by hand or by the schedule); the first one at once when the
  episode has no link yet,

and the channel (e-mail, or text message when the clinic has a gateway and the client a mobile
number and consent). A change is a new row; the earlier ones stay.

The delivery worker (:mod:`attunement.store.delivery`) calls :func:`create_due_links` each round.
A link is made only while the episode is active, the client has agreed to be contacted and has
an address for the channel, and the channel is configured. Each link the schedule makes has a
row in ``scheduled_links`` keyed by episode and slot ("session-<session id>" or
"due-<UTC date and minute>"), unique in the database: a restarted worker or two workers at
once never make two links for one slot. The link is made by the same code as the page's
(:func:`attunement.store.client_links.make_link`: the episode's chosen measures, the next part of
the intake questions while any is left) and queued in the outbox in the same transaction, so
the outbox's reminder before expiry applies to it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from attunement.errors import FieldProblem, InvalidInputError
from attunement.store.audit import record
from attunement.store.changes import lock_client
from attunement.store.client_links import make_link
from attunement.store.clock import aware, now
from attunement.store.contacts import current_contact
from attunement.store.database import Database
from attunement.store.episodes import require_active
from attunement.store.models import (
    Episode,
    LinkSchedule,
    LinkToken,
    ScheduledLink,
    Submission,
    TherapySession,
    User,
)
from attunement.store.outbox import queue_message
from attunement.store.schedule import default_link_choice, link_choices, new_session, session_states
from attunement.store.settings import clinic_zone, get_setting

log = logging.getLogger("attunement.schedules")

KINDS = {"off": "Off", "sessions": "Before each planned session", "days": "Every N days"}
CHANNELS = {"email": "e-mail", "sms": "text message"}
MAX_EVERY_DAYS = 60
#: When a session planned without a time is taken to start (clinic time).
DAY_START = time(9, 0)


@dataclass(frozen=True)
class ScheduleInput:
    kind: str
    every_days: int | None
    channel: str


def parse_schedule(kind: str, every: str, channel: str, *, sms_possible: str | None) -> ScheduleInput:
    """The clinician's choice, or every problem with it. ``sms_possible`` is None when a text
    message can be chosen, else why not (in plain words)."""
    problems: list[FieldProblem] = []
    kind = (kind or "").strip()
    if kind not in KINDS:
        expected = "off, before each planned session, or every N days"
        problems.append(FieldProblem("schedule", kind[:40], expected))
    every_days = None
    if kind == "days":
        raw = (every or "").strip()
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_EVERY_DAYS:
            expected = f"a whole number of days from 1 to {MAX_EVERY_DAYS}"
            problems.append(FieldProblem("every how many days", raw[:40], expected))
        else:
            every_days = int(raw)
    channel = (channel or "email").strip()
    if kind in ("sessions", "days"):
        if channel not in CHANNELS:
            problems.append(FieldProblem("send by", channel[:40], "e-mail or text message"))
        elif channel == "sms" and sms_possible is not None:
            problems.append(FieldProblem("send by", "text message", sms_possible))
    else:
        channel = "email"
    if problems:
        raise InvalidInputError("schedule", problems)
    return ScheduleInput(kind, every_days, channel)


def schedule_history(db: Session, episode_id: int) -> list[LinkSchedule]:
    """Every choice of the episode's schedule, latest first."""
    return list(
        db.scalars(
            select(LinkSchedule)
            .where(LinkSchedule.episode_id == episode_id)
            .order_by(LinkSchedule.valid_from.desc(), LinkSchedule.id.desc())
        )
    )


def current_schedule(db: Session, episode_id: int) -> LinkSchedule | None:
    history = schedule_history(db, episode_id)
    return history[0] if history and history[0].kind != "off" else None


def set_schedule(db: Session, episode: Episode, user: User, given: ScheduleInput) -> str | None:
    """Store the choice from now on (a new row); what changed, or None when nothing did."""
    require_active(episode, "schedule")
    current = current_schedule(db, episode.id)
    if current is None and given.kind == "off":
        return None
    if current is not None and (current.kind, current.every_days, current.channel) == (
        given.kind,
        given.every_days,
        given.channel,
    ):
        return None
    db.add(
        LinkSchedule(
            client_id=episode.client_id,
            episode_id=episode.id,
            kind=given.kind,
            every_days=given.every_days,
            channel=given.channel,
            valid_from=now(),
            set_by=user.id,
        )
    )
    db.flush()
    return describe(given.kind, given.every_days, given.channel)


def describe(kind: str, every_days: int | None, channel: str) -> str:
    if kind == "off":
        return "off"
    when = "before each planned session" if kind == "sessions" else f"every {every_days} days"
    return f"{when} by {CHANNELS.get(channel, channel)}"


def lead_hours(db: Session) -> int:
    value = get_setting(db, "schedule_hours_before_session").strip()
    return int(value) if value.isdigit() else 24


@dataclass(frozen=True)
class Slot:
    """The schedule's next link: when it is due, its key, and the session it is for (None: the
    session the link form would choose, or a new one)."""

    due_at: datetime
    key: str
    session: int | None
    session_start: datetime | None = None


def session_start(row: TherapySession, zone: ZoneInfo) -> datetime:
    """When a planned session starts: its date, at its time or else the start of the day."""
    if row.planned_on is None:
        raise ValueError(f"session {row.number} has no date")
    return datetime.combine(row.planned_on, row.planned_time or DAY_START, zone)


def next_slot(
    db: Session, episode: Episode, schedule: LinkSchedule, lead: int, zone: ZoneInfo
) -> Slot | None:
    """The next link the schedule will make for the episode, or None (no planned session ahead)."""
    moment = now()
    taken = set(db.scalars(select(ScheduledLink.slot).where(ScheduledLink.episode_id == episode.id)))
    if schedule.kind == "sessions":
        answered = set(
            db.scalars(
                select(Submission.session).where(
                    Submission.episode_id == episode.id, Submission.rater == "client"
                )
            )
        )
        waiting = set(
            db.scalars(
                select(LinkToken.session).where(
                    LinkToken.episode_id == episode.id,
                    LinkToken.used_at.is_(None),
                    LinkToken.expires_at > moment,
                )
            )
        )
        rows = db.scalars(
            select(TherapySession)
            .where(TherapySession.episode_id == episode.id, TherapySession.planned_on.is_not(None))
            .order_by(TherapySession.planned_on, TherapySession.number)
        )
        for row in rows:
            start = session_start(row, zone)
            key = f"session-{row.id}"
            if start <= moment or key in taken or row.number in answered or row.number in waiting:
                continue
            return Slot(start - timedelta(hours=lead), key, row.number, start)
        return None
    if schedule.kind == "days" and schedule.every_days:
        last = db.scalar(select(func.max(LinkToken.created_at)).where(LinkToken.episode_id == episode.id))
        every = timedelta(days=schedule.every_days)
        due = aware(last) + every if last is not None else aware(schedule.valid_from)
        return Slot(due, f"due-{due.astimezone(UTC):%Y-%m-%dT%H:%M}", None)
    return None


def blocked(db: Session, episode: Episode, schedule: LinkSchedule, channels: list[str]) -> str | None:
    """Why the schedule makes no link now (plain words), or None."""
    if not episode.active:
        return "the episode has ended"
    contact = current_contact(db, episode.client_id)
    if contact is None or not contact.consent:
        return "the client has not agreed to be contacted"
    if schedule.channel == "email" and not contact.email:
        return "no e-mail address is recorded"
    if schedule.channel == "sms" and not contact.mobile:
        return "no mobile number is recorded"
    if schedule.channel not in channels:
        return f"{CHANNELS.get(schedule.channel, schedule.channel)} is not configured on this server"
    return None


def create_due_links(database: Database, channels: list[str]) -> int:
    """Make every link that is due now (each episode in its own transaction). Returns how many."""
    with database.session() as db:
        latest = (
            select(LinkSchedule.episode_id, func.max(LinkSchedule.id).label("id"))
            .group_by(LinkSchedule.episode_id)
            .subquery()
        )
        wanted = db.execute(
            select(LinkSchedule.id, LinkSchedule.episode_id)
            .join(latest, latest.c.id == LinkSchedule.id)
            .join(Episode, Episode.id == LinkSchedule.episode_id)
            .where(LinkSchedule.kind != "off", Episode.status == "active")
        ).all()
    made = 0
    for schedule_id, episode_id in wanted:
        try:
            with database.session() as db:
                made += _make_due_link(db, schedule_id, episode_id, channels)
        except IntegrityError:  # another worker made this slot's link first
            continue
    return made


def _make_due_link(db: Session, schedule_id: int, episode_id: int, channels: list[str]) -> int:
    episode = db.get(Episode, episode_id)
    if episode is None:
        return 0  # the client's record was erased meanwhile
    lock_client(db, episode.client_id)  # one change to a client at a time
    schedule = current_schedule(db, episode_id)
    if schedule is None or schedule.id != schedule_id:
        return 0  # changed meanwhile: the next round reads the new choice
    if blocked(db, episode, schedule, channels) is not None:
        return 0
    zone = clinic_zone(db)
    slot = next_slot(db, episode, schedule, lead_hours(db), zone)
    if slot is None or slot.due_at > now():
        return 0
    therapist = db.get(User, episode.therapist_id)
    if therapist is None:  # an episode's therapist is a foreign key: this is a broken database
        raise LookupError(f"episode {episode.id} has no therapist")
    if slot.session is not None:
        session = slot.session
    else:
        today = now().astimezone(zone).date()
        chosen = default_link_choice(link_choices(session_states(db, episode.id), today), today)
        session = chosen if chosen is not None else new_session(db, episode, therapist).number
    made = make_link(db, episode, therapist, session)  # with the next intake part, if any
    token, link = made.token, made.link
    db.add(
        ScheduledLink(
            client_id=episode.client_id,
            episode_id=episode.id,
            slot=slot.key,
            link_id=link.id,
            schedule_id=schedule.id,
            created_at=now(),
        )
    )
    db.flush()  # a second link for this slot fails here, and the whole change is rolled back
    queue_message(db, link, token, "link", None, schedule.channel)
    record(
        db,
        "schedule",
        "system",
        "scheduled_link",
        client_id=episode.client_id,
        detail=f"episode {episode.number} session {session} ({slot.key})",
    )
    log.info("scheduled link made for episode %s (%s)", episode.id, slot.key)
    return 1


def scheduled_link_ids(db: Session, client_id: int) -> set[int]:
    return set(db.scalars(select(ScheduledLink.link_id).where(ScheduledLink.client_id == client_id)))

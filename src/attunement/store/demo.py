"""The demo clinic: one team, a supervisor, three clinicians, an administrator and about 60
simulated clients with realistic histories, seeded into an empty database.

Histories come from the simulated clinic (``attunement.simulation``), so they follow the
calibrated trajectory, dropout and rupture model. Each course is one episode of care with weekly
sessions dated back from today. Most courses are cut at a random session and kept active, with
the next session planned (some today, the rest this week) and some links waiting; the others
ended weeks or months ago (completed, dropped out, a few referred on). One client has returned
for a second episode after completing a first; one session was answered twice and one rating
was corrected, so every part of the record can be seen. The supervisor has left notes on two of
the first clinician's clients and flagged one of them for supervision. The first clinician also
sees a couple, a family and a group (:mod:`attunement.store.demo_rooms`), with co-therapists.
The log-ins are for local demonstration only.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from attunement.errors import InvalidInputError
from attunement.instruments.measure_sets import for_session
from attunement.instruments.registry import get_instrument
from attunement.profile import Profile, build_profile
from attunement.profile.parts import intake_parts
from attunement.simulation import simulate
from attunement.store.accounts import create_team, create_user
from attunement.store.clients import new_public_id
from attunement.store.clock import aware, now
from attunement.store.demo_rooms import seed_rooms
from attunement.store.intake import store_intake
from attunement.store.models import (
    Client,
    ClientContact,
    Episode,
    EpisodeEvent,
    EpisodeMeasures,
    LinkToken,
    Measure,
    Submission,
    SupervisionFlag,
    SupervisionNote,
    TherapySession,
    User,
)
from attunement.store.settings import clinic_today, clinic_zone, get_setting, offered_instruments, set_setting
from attunement.store.submissions import store_table_rows, token_hash


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
#: Demonstration choices, not clinical figures: the share of courses kept active (cut at a random
#: session), of active ones answered this morning, and of active ones seen today with a link waiting.
ONGOING_SHARE = 0.75
ANSWERED_TODAY_SHARE = 0.12
PLANNED_TODAY_SHARE = 0.13
#: Ended courses relabelled "referred on" and "other" (the simulation knows only completed/dropout).
REFERRED, OTHER = 2, 1


def is_empty(db: Session) -> bool:
    return not db.scalar(select(func.count()).select_from(User))


def seed_demo(
    db: Session, clients: int = DEMO_CLIENTS, seed: int = DEMO_SEED, ongoing_share: float = ONGOING_SHARE
) -> int:
    """Seed the demo clinic; returns the number of clients. The caller checks the database is empty.

    ``ongoing_share`` is the share of courses kept active; 0 gives a clinic whose courses (all but
    the first client's) have ended, a history to fit a forecast model on.

    The database is marked as a demo clinic's: every page says so, and no real administrator can
    be created in it."""
    set_setting(db, "demo_data", "yes")
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
        elif login.role == "supervisor":
            supervisor = user
    # One course more than clients: the first episode of the client who came back.
    clinic = simulate(clients + 1, seed)
    # Intake answers and ways of working draw from their own generator, so the histories stay
    # what they were.
    ways = _Ways(np.random.default_rng([seed, 1]), clinicians)
    seeder = _Seeder(db, clinic.measures, np.random.default_rng(seed), clinic_today(db), ways)
    courses = clinic.episodes.reset_index(drop=True)
    earlier = courses.iloc[clients]
    relabelled = showcased = 0
    for index, course in courses.iloc[:clients].iterrows():
        therapist = clinicians[index % len(clinicians)]
        client = Client(
            public_id=new_public_id(),
            label=f"Client {index + 1:02d}",
            therapist_id=therapist.id,
            client_group=str(course.get("client_group", "all")),
            created_at=now(),
        )
        db.add(client)
        db.flush()
        number = 1
        if index == 0:  # the returning client: a completed first course about ten months ago
            seeder.ended_course(client, therapist, earlier, 1, "completed", weeks_ago=44)
            number = 2
        attended = int(course["sessions_attended"])
        if index == 0 or (seeder.rng.random() < ongoing_share and attended >= 2):
            last = attended if index == 0 else int(seeder.rng.integers(2, attended + 1))
            showcase = index > 0 and not showcased and last >= 3
            showcased += showcase
            seeder.active_course(client, therapist, course, number, last, showcase=showcase)
        else:
            reason = str(course["end_reason"])
            if reason == "completed" and relabelled < REFERRED + OTHER:
                reason = "referred" if relabelled < REFERRED else "other"
                relabelled += 1
            seeder.ended_course(
                client, therapist, course, number, reason, weeks_ago=int(seeder.rng.integers(1, 27))
            )
        client.created_at = seeder.start_of(seeder.first_day)
    _supervision(db, supervisor, clinicians[0], clinic_today(db), clinic_zone(db))
    _measures(db, clinicians[0], clinic_today(db), clinic_zone(db))
    _delivery(db, clinicians[0])
    seed_rooms(db, clinicians[0], clinicians[1], clinicians[2])
    return clients


def _delivery(db: Session, clinician: User) -> None:
    """One of the first clinician's active clients agreed to be contacted by e-mail (a made-up
    address at example.org): their last answered link and their waiting one were sent by e-mail
    (accepted by the mail server), and a second copy of the waiting one waits in the outbox (the
    demo has no mail server: nothing is ever sent)."""
    from attunement.store.contacts import ContactInput, record_contact
    from attunement.store.outbox import queue_message

    candidates = db.scalars(
        select(Client)
        .join(Episode, Episode.client_id == Client.id)
        .where(Client.therapist_id == clinician.id, Episode.status == "active")
        .order_by(Client.label)
    ).all()
    for client in candidates:
        waiting = db.scalars(
            select(LinkToken)
            .where(LinkToken.client_id == client.id, LinkToken.used_at.is_(None))
            .where(LinkToken.expires_at > now())
            .order_by(LinkToken.id)
        ).all()
        answered = db.scalar(
            select(Submission)
            .where(Submission.client_id == client.id, Submission.rater == "client")
            .order_by(Submission.submitted_at.desc())
            .limit(1)
        )
        if waiting and answered is not None:
            break
    else:
        return
    # The demo's answers were stored without their links: the last one gets the link it came from.
    done = aware(answered.submitted_at)
    used = LinkToken(
        token_hash=token_hash(secrets.token_urlsafe(32)),
        client_id=client.id,
        episode_id=answered.episode_id,
        session=answered.session,
        instruments=waiting[-1].instruments,
        created_by=clinician.id,
        created_at=done - timedelta(hours=20),
        expires_at=done - timedelta(hours=20) + timedelta(days=7),
        used_at=done,
    )
    db.add(used)
    db.flush()
    answered.link_token_id = used.id
    number = client.label.split()[-1]
    record_contact(db, client.id, clinician, ContactInput(f"client{number}@example.org", None, True))
    contact_row = db.scalar(select(ClientContact).where(ClientContact.client_id == client.id))
    if contact_row is None:  # record_contact has just written it
        raise LookupError(f"client {client.id} has no contact row")
    first = min(aware(used.created_at), aware(waiting[-1].created_at)) - timedelta(days=1)
    contact_row.recorded_at = contact_row.consent_at = first
    waiting_token = secrets.token_urlsafe(32)
    for link, token in ((used, None), (waiting[-1], waiting_token)):
        if token is not None:  # the demo never showed this link: a known token, to send again
            link.token_hash = token_hash(token)
        message = queue_message(db, link, token or "", "link", clinician)
        message.token = token
        message.created_at = message.due_at = aware(link.created_at)
        message.sent_at = min(now(), aware(link.created_at) + timedelta(minutes=1))
        message.attempts = 1
        message.recipient = f"client{number}@example.org"
    resend = queue_message(db, waiting[-1], waiting_token, "resend", clinician)
    resend.created_at = resend.due_at = now()
    db.flush()
    _link_schedule(db, client, clinician, first)


def _link_schedule(db: Session, client: Client, clinician: User, since: datetime) -> None:
    """The same client's episode sends its links by e-mail before each planned session, and has
    a session planned at 14:00 a week after its latest planned one (three days from now when none
    is planned): its link goes a day before."""
    from attunement.store.link_schedules import ScheduleInput, set_schedule
    from attunement.store.models import LinkSchedule, TherapySession
    from attunement.store.schedule import plan_session
    from attunement.store.settings import clinic_today

    episode = db.scalar(select(Episode).where(Episode.client_id == client.id, Episode.status == "active"))
    if episode is None:  # the client was chosen for an active episode
        raise LookupError(f"client {client.id} has no active episode")
    set_schedule(db, episode, clinician, ScheduleInput("sessions", None, "email"))
    schedule = db.scalar(select(LinkSchedule).where(LinkSchedule.episode_id == episode.id))
    if schedule is None:  # set_schedule has just written it
        raise LookupError(f"episode {episode.id} has no link schedule")
    schedule.valid_from = since
    latest = db.scalar(
        select(func.max(TherapySession.planned_on)).where(TherapySession.episode_id == episode.id)
    )
    today = clinic_today(db)
    soonest = today + timedelta(days=3)
    ahead = max(latest + timedelta(days=7), soonest) if latest else soonest
    plan_session(db, episode, clinician, ahead, time(14, 0))
    db.flush()


#: The demo clinic also offers AUDIT-C and the readiness ruler (their wording is shipped; CORE-10's
#: is not, so it cannot be put on a client's form here).
DEMO_OFFERED = ("phq9", "gad7", "checkin", "auditc", "readiness_ruler", "phq4")
#: What the first clinician chose for one client whose drinking came up: demonstration data.
DEMO_CHOICE = ("phq9", "auditc", "gad7", "checkin")
#: Measures the first clinician chose at the start of two more episodes, answered at every
#: session since: AUDIT-C for a client whose drinking was part of the referral, PHQ-4 beside
#: PHQ-9 for another (demonstration data, drawn at random; not clinical examples).
DEMO_FROM_START = (("auditc", ("phq9", "gad7", "auditc", "checkin")), ("phq4", ("phq9", "phq4", "checkin")))


def _measures(db: Session, clinician: User, today: date, zone) -> None:
    """The clinic offers three more measures; the two of the first clinician's active episodes
    with the most answered sessions had AUDIT-C or PHQ-4 answered from their first session, and
    the fourth active episode (by client label) has AUDIT-C added two days ago."""
    set_setting(db, "link_instruments", ",".join(DEMO_OFFERED))
    active = list(
        db.scalars(
            select(Episode)
            .join(Client, Episode.client_id == Client.id)
            .where(Client.therapist_id == clinician.id, Episode.status == "active")
            .order_by(Client.label)
        )
    )
    rng = np.random.default_rng([DEMO_SEED, 2])  # its own draws: the other histories stay the same
    answered = dict(
        db.execute(
            select(Submission.episode_id, func.count())
            .where(Submission.rater == "client")
            .group_by(Submission.episode_id)
        ).all()
    )
    longest = sorted(active[:3] + active[4:], key=lambda e: -answered.get(e.id, 0))
    for episode, (measure, chosen) in zip(longest, DEMO_FROM_START, strict=False):
        _answered_from_start(db, episode, clinician, measure, chosen, rng)
    if len(active) < 4:
        return
    episode = active[3]
    at = datetime.combine(today - timedelta(days=2), time(17, 10), tzinfo=zone).astimezone(UTC)
    db.add(
        EpisodeMeasures(
            client_id=episode.client_id,
            episode_id=episode.id,
            instruments=",".join(DEMO_CHOICE),
            valid_from=at,
            set_by=clinician.id,
        )
    )
    db.flush()


def _answered_from_start(
    db: Session, episode: Episode, clinician: User, measure: str, chosen: tuple[str, ...], rng
) -> None:
    """``chosen`` for ``episode`` from before its first answers, and ``measure`` answered in every
    client submission: item answers that drift down from a start drawn at random."""
    submissions = db.scalars(
        select(Submission)
        .where(Submission.episode_id == episode.id, Submission.rater == "client")
        .order_by(Submission.session, Submission.id)
    ).all()
    if not submissions:
        return
    db.add(
        EpisodeMeasures(
            client_id=episode.client_id,
            episode_id=episode.id,
            instruments=",".join(chosen),
            valid_from=aware(submissions[0].submitted_at) - timedelta(days=1),
            set_by=clinician.id,
        )
    )
    items = get_instrument(measure).items
    codes = _item_codes(measure)
    top = max(int(spec.high) for spec in items.values())
    start = rng.uniform(0.55, 0.85) * top
    last = max(s.session for s in submissions)
    for submission in submissions:
        level = start * (1 - 0.5 * (submission.session - 1) / max(last - 1, 1))
        # A question the same form already asked (PHQ-4's are PHQ-9's and GAD-7's first two, by
        # their LOINC codes) gets the same answer, as one client answering both would give.
        asked = _answers_by_code(db, submission.id)
        db.add_all(
            Measure(
                client_id=episode.client_id,
                episode_id=episode.id,
                submission_id=submission.id,
                session=submission.session,
                instrument=measure,
                rater="client",
                item=item,
                value=asked.get(
                    codes.get(item, ""), float(np.clip(round(level + rng.normal(0, 0.6)), 0, top))
                ),
                score=None,
                recorded_at=submission.submitted_at,
            )
            for item in items
        )
    db.flush()


def _drawn(level: float, top: int, rng: np.random.Generator) -> float:
    """An item answer near ``level`` (drawn even where the answer is copied, so that the rest of
    the demo is the same whichever measures overlap)."""
    return float(np.clip(round(level + rng.normal(0, 0.6)), 0, top))


@cache
def _item_codes(instrument_id: str) -> dict[str, str]:
    """Each item's LOINC code, where its definition gives one."""
    found: dict[str, str] = {}

    def walk(nodes: list[dict]) -> None:
        for node in nodes:
            for code in node.get("code", [])[:1]:
                found[node["linkId"]] = str(code.get("code", ""))
            walk(node.get("item", []))

    walk(get_instrument(instrument_id).questionnaire.get("item", []))
    return found


def _answers_by_code(db: Session, submission_id: int) -> dict[str, float]:
    """The answers already stored with one submission, by their item's LOINC code."""
    rows = db.execute(
        select(Measure.instrument, Measure.item, Measure.value).where(
            Measure.submission_id == submission_id, Measure.item.is_not(None), Measure.value.is_not(None)
        )
    ).all()
    by_code: dict[str, float] = {}
    for instrument, item, value in rows:
        code = _item_codes(instrument).get(item or "")
        if code and value is not None:
            by_code[code] = float(value)
    return by_code


#: What the demo supervisor wrote: demonstration text, not clinical advice.
DEMO_NOTES = (
    "Let's look at this client's course together in Thursday's supervision: what do you make of "
    "the last few check-ins? Bring the formulation.",
    "Thanks for the update after the last session. Keep an eye on the goals item of the check-in.",
)


def _supervision(db: Session, supervisor: User, clinician: User, today: date, zone) -> None:
    """Two notes from the supervisor to the first clinician, on two of their active clients, and
    the first of them flagged for supervision."""
    active = db.scalars(
        select(Client)
        .join(Episode, Episode.client_id == Client.id)
        .where(Client.therapist_id == clinician.id, Episode.status == "active")
        .order_by(Client.label)
    ).all()
    chosen = list(dict.fromkeys(active))[1:3]  # not the returning client (Client 01)
    for days, client, text in zip((3, 1), chosen, DEMO_NOTES, strict=False):
        at = datetime.combine(today - timedelta(days=days), time(12, 30), tzinfo=zone).astimezone(UTC)
        db.add(
            SupervisionNote(
                client_id=client.id, author_id=supervisor.id, text=text, withdrawn=False, written_at=at
            )
        )
    if chosen:
        at = datetime.combine(today - timedelta(days=3), time(12, 35), tzinfo=zone).astimezone(UTC)
        db.add(
            SupervisionFlag(
                client_id=chosen[0].id,
                action="raised",
                reason="For Thursday's supervision group",
                by_user=supervisor.id,
                at=at,
            )
        )
    db.flush()


class _Seeder:
    """Writes one simulated course as an episode with dated, weekly sessions."""

    def __init__(
        self, db: Session, measures: pd.DataFrame, rng: np.random.Generator, today: date, ways: _Ways
    ):
        self.db, self.rng, self.today, self.ways = db, rng, today, ways
        self.by_client = dict(tuple(measures.groupby("client_id")))
        self.zone = clinic_zone(db)
        self.link_days = int(get_setting(db, "link_valid_days"))
        self.instruments = ",".join(offered_instruments(db))
        self.first_day = today

    def active_course(
        self, client: Client, therapist: User, course: pd.Series, number: int, last: int, *, showcase: bool
    ) -> None:
        draw = self.rng.random()
        if draw < ANSWERED_TODAY_SHARE:
            last_day, next_day, link = self.today, self.today + timedelta(days=7), False
        elif draw < ANSWERED_TODAY_SHARE + PLANNED_TODAY_SHARE:
            last_day, next_day, link = self.today - timedelta(days=7), self.today, True
        else:
            last_day = self.today - timedelta(days=int(self.rng.integers(1, 7)))
            next_day = last_day + timedelta(days=7)
            link = (next_day - self.today).days <= 2 and self.rng.random() < 0.6
        episode = self._episode(client, therapist, number, last_day - timedelta(weeks=last - 1), None, None)
        self._sessions(client, episode, course, last, last_day, therapist)
        if self.rng.random() < 0.9:  # most have their next session booked
            planned = TherapySession(
                episode_id=episode.id,
                number=last + 1,
                planned_on=next_day,
                planned_time=self._slot(),
                created_at=self._at(last_day, time(18, 0)),
                created_by=therapist.id,
            )
            self.db.add(planned)
            if link:
                self._waiting_link(client, episode, last + 1, therapist, next_day - timedelta(days=1))
        if showcase:
            self._answered_twice(client, episode)

    def ended_course(
        self, client: Client, therapist: User, course: pd.Series, number: int, reason: str, weeks_ago: int
    ) -> None:
        last = int(course["sessions_attended"])
        last_day = self.today - timedelta(weeks=weeks_ago, days=int(self.rng.integers(0, 5)))
        ended_on = last_day + timedelta(days=int(self.rng.integers(0, 8)) if reason != "completed" else 0)
        ended_on = min(ended_on, self.today)
        episode = self._episode(
            client, therapist, number, last_day - timedelta(weeks=max(last, 1) - 1), reason, ended_on
        )
        self._sessions(client, episode, course, last, last_day, therapist)

    def _episode(
        self,
        client: Client,
        therapist: User,
        number: int,
        started: date,
        reason: str | None,
        ended: date | None,
    ) -> Episode:
        self.first_day = min(self.first_day, started)
        episode = Episode(
            client_id=client.id,
            number=number,
            therapist_id=therapist.id,
            status="ended" if reason else "active",
            started_on=started,
            end_reason=reason,
            ended_on=ended,
            created_at=self._at(started, time(9, 0)),
        )
        self.db.add(episode)
        self.db.flush()
        events: list[tuple[str, str | None, date]] = [("opened", None, started)]
        if reason:
            if ended is None:
                raise ValueError("an ended episode needs the day it ended")
            events.append(("ended", reason, ended))
        self.db.add_all(
            EpisodeEvent(
                episode_id=episode.id,
                action=action,
                end_reason=why,
                on_date=on,
                note=None,
                at=self._at(on, time(17, 30)),
                by_user=therapist.id,
            )
            for action, why, on in events
        )
        return episode

    def _sessions(
        self, client: Client, episode: Episode, course: pd.Series, last: int, last_day: date, therapist: User
    ) -> None:
        rows = self.by_client.get(course["client_id"])
        rows = rows[rows["session"] <= last] if rows is not None else pd.DataFrame()
        for session in range(1, last + 1):
            day = last_day - timedelta(weeks=last - session)
            slot = self._slot()
            self.db.add(
                TherapySession(
                    episode_id=episode.id,
                    number=session,
                    planned_on=day,
                    planned_time=slot,
                    created_at=self._at(day - timedelta(days=7), time(18, 0)),
                    created_by=therapist.id,
                )
            )
            part = rows[rows["session"] == session] if len(rows) else rows
            for rater, answers in part.groupby("rater") if len(part) else ():
                # Clients answer about an hour before the session; therapists rate just after it.
                # Both draws are made whatever the time of day, so the demo (and every figure the
                # tests read from it) is the same clinic at midnight as at noon; a time still to
                # come today is moved to a little before now.
                hour = (slot.hour - 1) if rater == "client" else (slot.hour + 1)
                minute, earlier = int(self.rng.integers(0, 60)), int(self.rng.integers(5, 90))
                when = self._at(day, time(max(hour, 7), minute))
                if when > now():
                    when = now() - timedelta(minutes=earlier)
                sent = self._submission(client, episode, session, str(rater), answers, when)
                if rater == "client":
                    self.ways.intake(self.db, client, sent)
                else:
                    sent.approach = self.ways.approach(therapist, client)

    def _submission(
        self,
        client: Client,
        episode: Episode,
        session: int,
        rater: str,
        answers: pd.DataFrame,
        when: datetime,
        supersedes: int | None = None,
    ) -> Submission:
        return store_table_rows(self.db, episode, session, rater, answers, when, supersedes)

    def _answered_twice(self, client: Client, episode: Episode) -> None:
        """A second set of answers for the latest answered session (a resent link answered too)
        and a corrected therapist rating of an earlier session, both kept beside the first."""
        first = self.db.scalars(
            select(Submission).where(Submission.episode_id == episode.id).order_by(Submission.id)
        ).all()
        client_last = next((s for s in reversed(first) if s.rater == "client"), None)
        rated = next(
            (
                s
                for s in reversed(first)
                if s.rater == "therapist" and s.session != getattr(client_last, "session", 0)
            ),
            None,
        )
        if client_last is not None:
            rows = self._rows(client_last.id)
            item = rows["item"].notna() & (rows["instrument"] == "phq9") & (rows["item"] != "phq9_9")
            rows.loc[item, "value"] = (rows.loc[item, "value"] + 1).clip(upper=3)
            later = min(now(), aware(client_last.submitted_at) + timedelta(minutes=25))
            self._submission(client, episode, client_last.session, "client", rows, later)
        if rated is not None:
            rows = self._rows(rated.id)
            rows["score"] = (rows["score"] - 2).clip(lower=0)
            later = min(now(), aware(rated.submitted_at) + timedelta(days=1))
            self._submission(client, episode, rated.session, "therapist", rows, later, supersedes=rated.id)

    def _rows(self, submission_id: int) -> pd.DataFrame:
        rows = self.db.scalars(select(Measure).where(Measure.submission_id == submission_id)).all()
        return pd.DataFrame(
            [
                {
                    "instrument": m.instrument,
                    "rater": m.rater,
                    "item": m.item,
                    "value": m.value,
                    "score": m.score,
                }
                for m in rows
            ]
        )

    def _waiting_link(
        self, client: Client, episode: Episode, session: int, therapist: User, day: date
    ) -> None:
        issued = min(now(), self._at(day, time(18, 0)))
        self.db.add(
            LinkToken(
                token_hash=token_hash(secrets.token_urlsafe(32)),  # the demo never shows the token
                client_id=client.id,
                episode_id=episode.id,
                session=session,
                instruments=",".join(for_session(self.instruments.split(","), session)),
                created_by=therapist.id,
                created_at=issued,
                expires_at=issued + timedelta(days=self.link_days),
                used_at=None,
            )
        )

    def _slot(self) -> time:
        return time(int(self.rng.integers(9, 17)), 0)

    def start_of(self, day: date) -> datetime:
        """Midnight at the start of ``day`` in the clinic's time zone."""
        return self._at(day, time(0, 0))

    def _at(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, tzinfo=self.zone).astimezone(UTC)


class _Ways:
    """The demo's intake answers and the ways its clinicians work, so that tailoring and the check
    for "one approach for everyone" have something to show: the first clinician works the same
    way with everyone, the second follows each client's wishes and reactance, the third varies
    without regard to the client. Demonstration choices, not clinical figures."""

    #: Share of intake questions a demo client leaves unanswered, and of ratings without an approach.
    SKIPPED, NOT_SAID = 0.15, 0.1
    TEXTS = {
        "ip_language": ("English", "English", "English", "English", "Polish", "Urdu", "Portuguese"),
        "ip_pref_therapist": ("", "", "", "A woman therapist", "Someone who understands my faith"),
        "ip_life_events": ("", "", "Lost my job in the spring", "My father died last year", "Moved city"),
    }
    #: Wishes for a kind of therapy that the second clinician follows as they are.
    FOLLOWED = frozenset({"skills", "insight", "person_centred", "systemic"})

    def __init__(self, rng: np.random.Generator, clinicians: list[User]):
        self.rng = rng
        self.style = {user.id: index for index, user in enumerate(clinicians)}
        self.profiles: dict[int, Profile | None] = {}
        self.answers: dict[int, dict[str, float | str] | None] = {}
        self.given: dict[int, int] = {}

    def intake(self, db: Session, client: Client, submission: Submission) -> None:
        """The intake answers, a part with each of the client's first answers, as links ask them."""
        if client.id not in self.profiles:
            self.answers[client.id] = self._answers(client)
        given = self.given.get(client.id, 0)
        parts = intake_parts()
        if self.answers[client.id] is None or given >= len(parts):
            return
        self.given[client.id] = given + 1
        part = parts[given].items
        answers = {k: v for k, v in (self.answers[client.id] or {}).items() if k in part}
        store_intake(db, client.id, submission.id, answers)

    def _answers(self, client: Client) -> dict[str, float | str] | None:
        """Every intake answer the client will give (None when the mapping refuses the set)."""
        answers: dict[str, float | str] = {}
        for link_id, spec in get_instrument("intake_profile").items.items():
            if self.rng.random() < self.SKIPPED:
                continue
            if link_id in self.TEXTS:
                text = str(self.rng.choice(self.TEXTS[link_id]))
                if text:
                    answers[link_id] = text
            elif spec.type == "choice" and spec.allowed:
                answers[link_id] = float(self.rng.choice(sorted(spec.allowed)))
        try:
            profile = build_profile(answers, client_id=client.public_id)
        except InvalidInputError:  # an answer set the mapping refuses: the client has no profile
            self.profiles[client.id] = None
            return None
        self.profiles[client.id] = profile
        return answers

    def approach(self, therapist: User, client: Client) -> str | None:
        if self.rng.random() < self.NOT_SAID:
            return None
        style = self.style.get(therapist.id, 0)
        if style == 0:
            return "skills"
        if style == 1:
            profile = self.profiles.get(client.id)
            wish = profile.therapy_type.value if profile and profile.therapy_type else None
            if wish in self.FOLLOWED:
                return wish
            reactance = profile.reactance.value if profile and profile.reactance else None
            return "person_centred" if reactance == "high" else "integrative"
        return str(self.rng.choice(["skills", "insight", "integrative"]))


def _display_name(username: str) -> str:
    names = {
        "clinician": "Dr Alex Demo",
        "clinician2": "Sam Example",
        "clinician3": "Robin Sample",
        "supervisor": "Jo Supervisor",
        "admin": "Clinic Admin",
    }
    return names.get(username, username)

"""Cases with several participants (a couple, a family, a group): opening one, its participants
joining and leaving, its co-therapists, and who may open it.

Each participant is a client record of their own (:class:`~attunement.store.models.CaseMember`
ties it to the case), so their links, answers, risk answers, alerts and summaries work exactly
as an individual client's do. What the case adds is the room: the participants' relationship
ratings read side by side (:mod:`attunement.store.rooms`), and access for every therapist of the
case to every participant's page. Nothing is overwritten: a member who leaves and a therapist who
stops keep their rows, with dates.

A change to a case changes what every member's room alerts say, so it raises every member's
change counter, in client id order (:func:`touch_room`); a change to one member takes every
member's lock in that order first (:func:`lock_room`), so two members answering at once wait for
each other instead of deadlocking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from attunement.errors import FieldProblem, InvalidInputError
from attunement.instruments.roles import FORMATS, format_of, role
from attunement.store.changes import lock_client, touch_client
from attunement.store.clients import create_client, new_public_id
from attunement.store.clock import now
from attunement.store.episodes import current_episode, current_episodes
from attunement.store.models import Case, CaseMember, CaseTherapist, Client, Submission, User
from attunement.store.settings import clinic_today

#: The formats a case can have: every format of more than one person.
CASE_FORMATS = tuple(f for f in FORMATS if format_of(f).alert is not None)
MAX_REASON = 500


@dataclass(frozen=True)
class Participant:
    """A member of a case as the pages show them."""

    row: CaseMember
    client: Client

    @property
    def current(self) -> bool:
        return self.row.left_on is None

    @property
    def role_label(self) -> str:
        return role(self.row.role).label

    @property
    def name(self) -> str:
        """How a reason names them: their reference and role, e.g. "Sam (Partner)"."""
        return f"{self.client.label} ({self.role_label.lower()})"

    def case_session(self, own_session: int) -> int:
        """The case session of their own episode's session ``own_session``."""
        return self.row.first_session + own_session - self.row.own_first_session

    def own_session(self, case_session: int) -> int:
        """Their own episode's session number for case session ``case_session``."""
        return case_session - self.row.first_session + self.row.own_first_session


@dataclass(frozen=True)
class CaseRecord:
    """A case with every member (those who left too, after the current ones) and its therapists
    now (with when each was added) and before."""

    case: Case
    participants: list[Participant]
    therapists: list[tuple[CaseTherapist, User]]

    @property
    def current(self) -> list[Participant]:
        return [p for p in self.participants if p.current]

    @property
    def left(self) -> list[Participant]:
        return [p for p in self.participants if not p.current]

    @property
    def current_therapists(self) -> list[tuple[CaseTherapist, User]]:
        return [(t, u) for t, u in self.therapists if t.removed_on is None]

    @property
    def format_label(self) -> str:
        return format_of(self.case.format).label


def create_case(db: Session, user: User, label: str, format_id: str) -> Case:
    """A new case of ``format_id`` (couple, family, group), with ``user`` as its therapist."""
    label, format_id = (label or "").strip(), (format_id or "").strip()
    problems = []
    if not label or len(label) > 80:
        problems.append(FieldProblem("label", label, "a short reference of 1 to 80 characters"))
    elif label in {c.case.label for c in cases_for(db, user)}:
        problems.append(FieldProblem("label", label, "a reference not already used for one of your cases"))
    if format_id not in CASE_FORMATS:
        choices = ", ".join(format_of(f).label.lower() for f in CASE_FORMATS)
        problems.append(FieldProblem("format", format_id, f"one of: {choices}"))
    if problems:
        raise InvalidInputError("case", problems)
    case = Case(
        public_id=new_public_id(),
        label=label,
        format=format_id,
        team_id=user.team_id,
        created_by=user.id,
        created_at=now(),
        status="open",
    )
    db.add(case)
    db.flush()
    db.add(CaseTherapist(case_id=case.id, user_id=user.id, added_on=clinic_today(db), added_by=user.id))
    db.flush()
    return case


def add_participant(
    db: Session,
    user: User,
    case: Case,
    role_id: str,
    *,
    label: str = "",
    existing: str = "",
    joined_on: date | None = None,
) -> Participant:
    """A participant joins the case in ``role_id`` at its next session: a new client record
    (``label``) or one of ``user``'s own clients in no case yet (``existing``, their public id),
    whose own sessions so far stay outside the room."""
    role_id, label, existing = (role_id or "").strip(), (label or "").strip(), (existing or "").strip()
    allowed = format_of(case.format).roles
    problems = []
    if role_id not in allowed:
        choices = ", ".join(role(r).label.lower() for r in allowed)
        problems.append(FieldProblem("role", role_id, f"one of: {choices}"))
    if bool(label) == bool(existing):
        problems.append(
            FieldProblem("label", label, "a reference for a new client, or one of your clients (not both)")
        )
    client = None
    if existing and not problems:
        client = db.scalar(select(Client).where(Client.public_id == existing))
        if client is None or client.therapist_id != user.id:
            problems.append(FieldProblem("existing", existing, "one of your own clients"))
        elif db.scalar(select(CaseMember.id).where(CaseMember.client_id == client.id)) is not None:
            problems.append(FieldProblem("existing", client.label, "a client who is not in a case already"))
        elif not current_episode(db, client.id).active:
            problems.append(FieldProblem("existing", client.label, "a client whose episode is active"))
    if problems:
        raise InvalidInputError("participant", problems)
    joined_on = joined_on or clinic_today(db)
    own_first = 1
    if client is None:
        client = create_client(db, user, label, started_on=joined_on)
    else:
        own_first = _latest_own_session(db, client.id) + 1
    member = CaseMember(
        case_id=case.id,
        client_id=client.id,
        role=role_id,
        first_session=latest_case_session(db, case) + 1,
        own_first_session=own_first,
        joined_on=joined_on,
        added_by=user.id,
    )
    db.add(member)
    db.flush()
    touch_room(db, client.id)
    return Participant(member, client)


def member_leaves(db: Session, case: Case, public_id: str, left_on: date | None, reason: str) -> Participant:
    """A current member leaves the case: their row stays, with the date, why (optional) and the
    last case session they were part of; their own episode goes on until it is ended."""
    reason = (reason or "").strip()
    found = next((p for p in case_record(db, case).current if p.client.public_id == public_id), None)
    problems = []
    if found is None:
        problems.append(FieldProblem("member", public_id, "a current member of this case"))
    if len(reason) > MAX_REASON:
        problems.append(FieldProblem("reason", reason[:40] + "...", f"at most {MAX_REASON} characters"))
    left_on = left_on or clinic_today(db)
    if found is not None and left_on < found.row.joined_on:
        problems.append(FieldProblem("left_on", left_on.isoformat(), "a date on or after they joined"))
    if left_on > clinic_today(db):
        problems.append(FieldProblem("left_on", left_on.isoformat(), "a date not after today"))
    if problems or found is None:
        raise InvalidInputError("leaving", problems)
    touch_room(db, found.client.id)
    found.row.left_on, found.row.left_reason = left_on, reason or None
    found.row.last_session = max(found.row.first_session - 1, latest_case_session(db, case))
    db.flush()
    return found


def add_co_therapist(db: Session, by: User, case: Case, username: str) -> User:
    """Another clinician treats the case too, from today."""
    username = (username or "").strip()
    other = db.scalar(select(User).where(User.username == username)) if username else None
    problems = []
    if other is None or other.role != "clinician" or not other.active:
        problems.append(FieldProblem("username", username, "the user name of an active clinician"))
    elif other.id in {u.id for _, u in case_record(db, case).current_therapists}:
        problems.append(FieldProblem("username", username, "a clinician not already treating this case"))
    if problems or other is None:
        raise InvalidInputError("co-therapist", problems)
    db.add(CaseTherapist(case_id=case.id, user_id=other.id, added_on=clinic_today(db), added_by=by.id))
    db.flush()
    return other


def remove_co_therapist(db: Session, by: User, case: Case, user_id: int) -> User:
    """A clinician stops treating the case (their row stays, with the date); a case always keeps
    at least one therapist."""
    current = case_record(db, case).current_therapists
    found = next(((t, u) for t, u in current if u.id == user_id), None)
    problems = []
    if found is None:
        problems.append(FieldProblem("therapist", str(user_id), "a clinician treating this case"))
    elif len(current) == 1:
        problems.append(FieldProblem("therapist", found[1].username, "another therapist added first"))
    if problems or found is None:
        raise InvalidInputError("co-therapist", problems)
    found[0].removed_on, found[0].removed_by = clinic_today(db), by.id
    db.flush()
    return found[1]


def case_with_id(db: Session, public_id: str) -> Case | None:
    return db.scalar(select(Case).where(Case.public_id == public_id)) if public_id else None


def may_open_case(db: Session, user: User, case: Case) -> bool:
    """A current therapist of the case, or the supervisor of its team (read only)."""
    if user.role == "clinician":
        return treats(db, user.id, case.id)
    if user.role == "supervisor":
        return user.team_id is not None and case.team_id == user.team_id
    return False


def treats(db: Session, user_id: int, case_id: int) -> bool:
    """Whether the user is a current therapist of the case."""
    return (
        db.scalar(
            select(CaseTherapist.id).where(
                CaseTherapist.case_id == case_id,
                CaseTherapist.user_id == user_id,
                CaseTherapist.removed_on.is_(None),
            )
        )
        is not None
    )


def co_treats(db: Session, user: User, client_id: int) -> bool:
    """Whether ``user`` is a current therapist of a case the client is (or was) a member of: a
    co-therapist opens and works with every participant's page as the client's own clinician does."""
    if user.role != "clinician":
        return False
    case_id = db.scalar(select(CaseMember.case_id).where(CaseMember.client_id == client_id))
    return case_id is not None and treats(db, user.id, case_id)


def cases_for(db: Session, user: User) -> list[CaseRecord]:
    """The cases a clinician treats now, or a supervisor's team's cases; by label."""
    query = select(Case)
    if user.role == "clinician":
        query = query.join(CaseTherapist, CaseTherapist.case_id == Case.id).where(
            CaseTherapist.user_id == user.id, CaseTherapist.removed_on.is_(None)
        )
    elif user.role == "supervisor" and user.team_id is not None:
        query = query.where(Case.team_id == user.team_id)
    else:
        return []
    return [case_record(db, c) for c in db.scalars(query.order_by(Case.label)).unique()]


def case_record(db: Session, case: Case) -> CaseRecord:
    members = db.execute(
        select(CaseMember, Client)
        .join(Client, Client.id == CaseMember.client_id)
        .where(CaseMember.case_id == case.id)
        .order_by(CaseMember.id)
    ).all()
    participants = [Participant(m, c) for m, c in members]
    participants.sort(key=lambda p: not p.current)  # current first, each in the order they joined
    therapists = db.execute(
        select(CaseTherapist, User)
        .join(User, User.id == CaseTherapist.user_id)
        .where(CaseTherapist.case_id == case.id)
        .order_by(CaseTherapist.id)
    ).all()
    return CaseRecord(case, participants, [(t, u) for t, u in therapists])


def membership(db: Session, client_id: int) -> tuple[Case, Participant] | None:
    """The case a client is a member of (now or before), and their part in it; None when none."""
    found = db.execute(
        select(CaseMember, Client, Case)
        .join(Client, Client.id == CaseMember.client_id)
        .join(Case, Case.id == CaseMember.case_id)
        .where(CaseMember.client_id == client_id)
    ).first()
    return None if found is None else (found[2], Participant(found[0], found[1]))


def latest_case_session(db: Session, case: Case) -> int:
    """The case's latest session anyone answered for, counted in case sessions (0 before any)."""
    members = list(db.scalars(select(CaseMember).where(CaseMember.case_id == case.id)))
    if not members:
        return 0
    episodes = current_episodes(db, [m.client_id for m in members])
    latest = dict(
        db.execute(
            select(Submission.client_id, func.max(Submission.session))
            .where(Submission.episode_id.in_([e.id for e in episodes.values()]))
            .group_by(Submission.client_id)
        ).all()
    )
    sessions = [
        m.first_session + int(latest[m.client_id]) - m.own_first_session
        for m in members
        if latest.get(m.client_id) and int(latest[m.client_id]) >= m.own_first_session
    ]
    return max([0, *sessions, *(m.last_session or 0 for m in members)])


def room_of(db: Session, client_id: int) -> list[int]:
    """Every member client id of the client's case (those who left too), sorted; the client alone
    when they are in no case."""
    case_id = select(CaseMember.case_id).where(CaseMember.client_id == client_id).scalar_subquery()
    ids = set(db.scalars(select(CaseMember.client_id).where(CaseMember.case_id == case_id)))
    return sorted(ids | {client_id})


def lock_room(db: Session, client_id: int) -> None:
    """Take every member's lock (client id order) before a change to one of them."""
    for member in room_of(db, client_id):
        lock_client(db, member)


def touch_room(db: Session, client_id: int) -> None:
    """Raise every member's change counter (client id order): their room alerts are read again."""
    for member in room_of(db, client_id):
        touch_client(db, member)


def _latest_own_session(db: Session, client_id: int) -> int:
    episode = current_episode(db, client_id)
    latest = db.scalar(select(func.max(Submission.session)).where(Submission.episode_id == episode.id))
    return int(latest or 0)


def clients_in_no_case(db: Session, user: User) -> list[Client]:
    """The clinician's own clients in no case (now or before), who may join one."""
    in_case = select(CaseMember.client_id)
    return list(
        db.scalars(
            select(Client)
            .where(Client.therapist_id == user.id, Client.id.not_in(in_case))
            .order_by(Client.label)
        )
    )


def participants_of(records: Sequence[CaseRecord]) -> set[int]:
    """The client ids of every current member of these cases."""
    return {p.client.id for r in records for p in r.current}

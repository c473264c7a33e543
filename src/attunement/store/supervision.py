"""Supervision that acts on a client: a supervisor's notes for the therapist, the "for
supervision" flag, and moving a client to another clinician of the team.

Nothing here is ever overwritten. A note is corrected or withdrawn by a new row that names it (the
earlier text stays and is shown); the flag is a history of raised and cleared steps; a change of
therapist is an episode event naming who treated the client before and who does from now on.
Each function checks its input and raises :class:`InvalidInputError` naming the field before it
writes anything, so a refused request stores nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from attunement.errors import FieldProblem, InvalidInputError
from attunement.store.changes import touch_client
from attunement.store.clock import now
from attunement.store.episodes import current_episode
from attunement.store.models import (
    Client,
    EpisodeEvent,
    LinkToken,
    SupervisionFlag,
    SupervisionNote,
    Team,
    User,
)

MAX_NOTE = 2000
MAX_REASON = 500
RAISED, CLEARED = "raised", "cleared"


# Notes ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteLine:
    """One note with every version of it, latest first: the first is what the note says now
    (or its withdrawal), the rest are the earlier texts."""

    versions: list[SupervisionNote]
    people: dict[int, str]

    @property
    def latest(self) -> SupervisionNote:
        return self.versions[0]

    @property
    def first(self) -> SupervisionNote:
        return self.versions[-1]

    @property
    def earlier(self) -> list[SupervisionNote]:
        return self.versions[1:]

    @property
    def withdrawn(self) -> bool:
        return self.latest.withdrawn

    @property
    def author_id(self) -> int:
        return self.first.author_id

    def by(self, note: SupervisionNote) -> str:
        return self.people.get(note.author_id, "a former user")


def _note_text(text: str, field: str = "note") -> str:
    text = text.strip()
    if not text or len(text) > MAX_NOTE:
        shown = "" if not text else f"{len(text)} characters"
        raise InvalidInputError(
            "supervision note", [FieldProblem(field, shown, f"a note of 1 to {MAX_NOTE} characters")]
        )
    return text


def _latest_of(db: Session, client: Client, author: User, note_id: int) -> SupervisionNote:
    """The note ``note_id`` of this client, still current (not corrected or withdrawn yet), and
    written by ``author`` (only the author corrects or withdraws a note)."""
    note = db.get(SupervisionNote, note_id)
    if note is None or note.client_id != client.id:
        raise InvalidInputError(
            "supervision note", [FieldProblem("note", str(note_id), "a note on this client")]
        )
    problem = None
    if note.withdrawn:
        problem = "a note that has not been withdrawn"
    elif db.scalar(select(SupervisionNote.id).where(SupervisionNote.corrects_id == note.id)) is not None:
        problem = "the latest version of the note: someone changed it meanwhile, please look again"
    elif note.author_id != author.id:
        problem = "a note you wrote (write a new note to add to another's)"
    if problem:
        raise InvalidInputError("supervision note", [FieldProblem("note", str(note_id), problem)])
    return note


def write_note(db: Session, client: Client, author: User, text: str) -> SupervisionNote:
    note = SupervisionNote(
        client_id=client.id, author_id=author.id, text=_note_text(text), withdrawn=False, written_at=now()
    )
    db.add(note)
    db.flush()
    return note


def correct_note(db: Session, client: Client, author: User, note_id: int, text: str) -> SupervisionNote:
    """A new version of one of the author's notes; the earlier one stays."""
    text = _note_text(text)
    earlier = _latest_of(db, client, author, note_id)
    if text == earlier.text:
        raise InvalidInputError("supervision note", [FieldProblem("note", "the same text", "a changed text")])
    return _next_version(db, earlier, text, withdrawn=False)


def withdraw_note(db: Session, client: Client, author: User, note_id: int, reason: str) -> SupervisionNote:
    """Withdraw one of the author's notes (why, optional); its text stays in the history."""
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise InvalidInputError(
            "supervision note",
            [FieldProblem("why", f"{len(reason)} characters", f"at most {MAX_REASON} characters")],
        )
    earlier = _latest_of(db, client, author, note_id)
    return _next_version(db, earlier, reason, withdrawn=True)


def _next_version(db: Session, earlier: SupervisionNote, text: str, *, withdrawn: bool) -> SupervisionNote:
    """A new row that corrects (or withdraws) ``earlier``, by the same author; ``earlier`` stays."""
    note = SupervisionNote(
        client_id=earlier.client_id,
        corrects_id=earlier.id,
        author_id=earlier.author_id,
        text=text,
        withdrawn=withdrawn,
        written_at=now(),
    )
    db.add(note)
    db.flush()
    return note


def notes_of(db: Session, client_id: int) -> list[NoteLine]:
    """Every note on the client with its versions, the most recently changed first."""
    rows = list(
        db.scalars(
            select(SupervisionNote).where(SupervisionNote.client_id == client_id).order_by(SupervisionNote.id)
        )
    )
    by_id = {n.id: n for n in rows}
    corrected = {n.corrects_id for n in rows if n.corrects_id is not None}
    ids = {n.author_id for n in rows}
    people = _names(db, ids)
    lines = []
    for head in rows:
        if head.id in corrected:
            continue
        versions = [head]
        while versions[-1].corrects_id is not None and versions[-1].corrects_id in by_id:
            versions.append(by_id[versions[-1].corrects_id])
        lines.append(NoteLine(versions, people))
    return sorted(lines, key=lambda line: -line.latest.id)


# The flag ---------------------------------------------------------------------------------------


def _latest_flags(db: Session, client_ids: Sequence[int]) -> dict[int, SupervisionFlag]:
    if not client_ids:
        return {}
    latest = (
        select(func.max(SupervisionFlag.id))
        .where(SupervisionFlag.client_id.in_(list(client_ids)))
        .group_by(SupervisionFlag.client_id)
    )
    return {f.client_id: f for f in db.scalars(select(SupervisionFlag).where(SupervisionFlag.id.in_(latest)))}


def flagged(db: Session, client_ids: Sequence[int]) -> dict[int, SupervisionFlag]:
    """The clients among ``client_ids`` flagged for supervision now, with the step that raised it."""
    return {c: f for c, f in _latest_flags(db, client_ids).items() if f.action == RAISED}


def flag_history(db: Session, client_id: int) -> list[SupervisionFlag]:
    """Every step of the client's flag, latest first."""
    return list(
        db.scalars(
            select(SupervisionFlag)
            .where(SupervisionFlag.client_id == client_id)
            .order_by(SupervisionFlag.id.desc())
        )
    )


def set_flag(db: Session, client: Client, by: User, action: str, reason: str = "") -> SupervisionFlag:
    """Raise or clear the client's flag (why, optional); a step that changes nothing is refused."""
    reason = reason.strip()
    problems = []
    if action not in (RAISED, CLEARED):
        problems.append(FieldProblem("flag", action[:20], "raise or clear"))
    if len(reason) > MAX_REASON:
        problems.append(FieldProblem("why", f"{len(reason)} characters", f"at most {MAX_REASON} characters"))
    if not problems:
        now_flagged = client.id in flagged(db, [client.id])
        if action == RAISED and now_flagged:
            problems.append(FieldProblem("flag", "raise", "a client not flagged already"))
        elif action == CLEARED and not now_flagged:
            problems.append(FieldProblem("flag", "clear", "a client who is flagged"))
    if problems:
        raise InvalidInputError("supervision flag", problems)
    step = SupervisionFlag(client_id=client.id, action=action, reason=reason or None, by_user=by.id, at=now())
    db.add(step)
    db.flush()
    return step


# Another therapist ------------------------------------------------------------------------------


def team_clinicians(db: Session, team_id: int | None) -> list[User]:
    """The active clinicians of a team, by name."""
    if team_id is None:
        return []
    return list(
        db.scalars(
            select(User)
            .where(User.team_id == team_id, User.role == "clinician", User.active.is_(True))
            .order_by(User.display_name)
        )
    )


def team_therapists(db: Session, team_id: int | None) -> dict[int, User]:
    """Every clinician of a team, switched off or not (they may still hold clients), by name."""
    query = select(User).where(User.team_id == team_id, User.role == "clinician")
    return {t.id: t for t in db.scalars(query.order_by(User.display_name))}


def team_members(db: Session, team_id: int | None) -> list[User]:
    """Everyone in a team, of any role, by name."""
    return list(db.scalars(select(User).where(User.team_id == team_id).order_by(User.display_name)))


def team_named(db: Session, team_id: int | None) -> Team | None:
    """The team with this id, or None (also for no id)."""
    return None if team_id is None else db.get(Team, team_id)


def reassign_client(
    db: Session, client: Client, by: User, target_id: int | None, note: str = ""
) -> EpisodeEvent:
    """Move one client to another active clinician of their therapist's team. The current episode
    goes with them when active (an ended one keeps the therapist who treated it); an episode event
    keeps who treated the client before and who does from now on."""
    source = db.get(User, client.therapist_id)
    target = db.get(User, target_id) if target_id is not None else None
    note = note.strip()
    problems = []
    if (
        target is None
        or source is None
        or target.role != "clinician"
        or not target.active
        or target.team_id is None
        or target.team_id != source.team_id
    ):
        problems.append(FieldProblem("new therapist", "", "an active clinician of the client's team"))
    elif target.id == source.id:
        problems.append(
            FieldProblem("new therapist", target.display_name, "a clinician other than the current one")
        )
    elif db.scalar(select(Client.id).where(Client.therapist_id == target.id, Client.label == client.label)):
        problems.append(
            FieldProblem(
                "new therapist",
                target.display_name,
                "a clinician without another client of the same reference",
            )
        )
    if len(note) > MAX_REASON:
        problems.append(FieldProblem("why", f"{len(note)} characters", f"at most {MAX_REASON} characters"))
    if problems:
        raise InvalidInputError("another therapist", problems)
    assert source is not None and target is not None
    touch_client(db, client.id)
    episode = current_episode(db, client.id)
    client.therapist_id = target.id
    if episode.active:
        episode.therapist_id = target.id
    event = EpisodeEvent(
        episode_id=episode.id,
        action="reassigned",
        note=note or None,
        at=now(),
        by_user=by.id,
        from_therapist_id=source.id,
        to_therapist_id=target.id,
    )
    db.add(event)
    db.flush()
    return event


def _names(db: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())


# The team's links -------------------------------------------------------------------------------


def clients_with_links(db: Session, client_ids: Sequence[int], state: str) -> set[int]:
    """The clients among ``client_ids`` with a link in ``state``: issued (any), completed
    (answered), expired (unused past its time) or waiting (unused, still valid)."""
    if not client_ids:
        return set()
    query = select(LinkToken.client_id).where(LinkToken.client_id.in_(list(client_ids))).distinct()
    if state == "completed":
        query = query.where(LinkToken.used_at.is_not(None))
    elif state == "expired":
        query = query.where(LinkToken.used_at.is_(None), LinkToken.expires_at <= now())
    elif state == "waiting":
        query = query.where(LinkToken.used_at.is_(None), LinkToken.expires_at > now())
    return set(db.scalars(query))


def link_counts(db: Session, client_ids: Sequence[int]) -> dict[str, int]:
    """How many links the clients were sent: issued, completed (answered), expired (unused past
    their time) and waiting (the rest)."""
    if not client_ids:
        return {"issued": 0, "completed": 0, "expired": 0, "waiting": 0}
    where = LinkToken.client_id.in_(list(client_ids))
    issued = db.scalar(select(func.count()).select_from(LinkToken).where(where)) or 0
    completed = (
        db.scalar(select(func.count()).select_from(LinkToken).where(where, LinkToken.used_at.is_not(None)))
        or 0
    )
    expired = (
        db.scalar(
            select(func.count())
            .select_from(LinkToken)
            .where(where, LinkToken.used_at.is_(None), LinkToken.expires_at <= now())
        )
        or 0
    )
    return {
        "issued": issued,
        "completed": completed,
        "expired": expired,
        "waiting": issued - completed - expired,
    }

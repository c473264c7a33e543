"""Episodes of care: a client's courses, opened, ended with a reason, reopened, started again.

A client has at least one episode (the first is opened with the client record) and at most one
active episode: the latest. Ending and reopening change the episode row and add an
:class:`EpisodeEvent`, so the earlier state is never lost: a reopened episode still shows when
and why it had ended. Ending an episode closes its waiting links, so no answer can arrive in an
ended episode. Each change raises the client's change counter (after its checks, before it
writes), so the stored summary, which holds the current episode's alerts, is recomputed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from attunement.errors import FieldProblem, InvalidInputError
from attunement.store.changes import touch_client
from attunement.store.clock import now
from attunement.store.models import END_REASONS, Client, Episode, EpisodeEvent, LinkToken, User
from attunement.store.rowcount import changed_rows
from attunement.store.settings import clinic_today

#: How each end reason reads on a page.
END_REASON_LABELS = {
    "completed": "completed",
    "dropout": "dropped out",
    "referred": "referred on",
    "other": "ended for another reason",
}
MAX_NOTE = 2000


def first_episode(db: Session, client: Client, therapist: User, started_on: date) -> Episode:
    """The episode every new client starts with."""
    return open_episode(db, client, therapist, 1, started_on, None)


def current_episode(db: Session, client_id: int) -> Episode:
    """The client's latest episode (the only one that may be active)."""
    episode = db.scalar(
        select(Episode).where(Episode.client_id == client_id).order_by(Episode.number.desc()).limit(1)
    )
    if episode is None:  # every client is created with an episode; this is a broken database
        raise LookupError(f"client {client_id} has no episode")
    return episode


def current_episodes(db: Session, client_ids: Sequence[int]) -> dict[int, Episode]:
    """Each client's latest episode, by client id."""
    if not client_ids:
        return {}
    latest = (
        select(Episode.client_id, func.max(Episode.number).label("number"))
        .where(Episode.client_id.in_(list(client_ids)))
        .group_by(Episode.client_id)
        .subquery()
    )
    rows = db.scalars(
        select(Episode).join(
            latest, (Episode.client_id == latest.c.client_id) & (Episode.number == latest.c.number)
        )
    )
    return {e.client_id: e for e in rows}


def episodes_of(db: Session, client_id: int) -> list[Episode]:
    """Every episode of a client, the latest first."""
    return list(
        db.scalars(select(Episode).where(Episode.client_id == client_id).order_by(Episode.number.desc()))
    )


def episode_numbered(db: Session, client_id: int, number: int) -> Episode | None:
    """The client's episode with this number, or None when they have no such episode."""
    return db.scalar(select(Episode).where(Episode.client_id == client_id, Episode.number == number))


def events_of(db: Session, episode_ids: Sequence[int]) -> dict[int, list[EpisodeEvent]]:
    """Each episode's history, oldest first."""
    out: dict[int, list[EpisodeEvent]] = {i: [] for i in episode_ids}
    if episode_ids:
        query = select(EpisodeEvent).where(EpisodeEvent.episode_id.in_(list(episode_ids)))
        for event in db.scalars(query.order_by(EpisodeEvent.id)):
            out[event.episode_id].append(event)
    return out


def require_active(episode: Episode, what: str) -> None:
    """Links, planned sessions and ratings are for an active episode only."""
    if not episode.active:
        raise InvalidInputError(
            what,
            [
                FieldProblem(
                    "episode",
                    f"episode {episode.number}",
                    "an active episode: this one has ended (reopen it, or start a new one)",
                )
            ],
        )


def end_episode(
    db: Session, episode: Episode, user: User, reason: str, ended_on: date | None, note: str = ""
) -> int:
    """End an active episode with its reason and date (today when not given); its waiting links
    are closed (:func:`close_waiting_links`), and how many is returned."""
    problems = []
    if not episode.active:
        problems.append(
            FieldProblem("episode", f"episode {episode.number}", "an active episode: this one has ended")
        )
    if reason not in END_REASONS:
        problems.append(
            FieldProblem("reason for ending", reason, "one of: " + ", ".join(END_REASON_LABELS.values()))
        )
    ended_on = ended_on or clinic_today(db)
    problems += _within(db, "end date", ended_on, episode.started_on, "the start")
    if problems:
        raise InvalidInputError("ending the episode", problems)
    touch_client(db, episode.client_id)
    episode.status, episode.end_reason, episode.ended_on = "ended", reason, ended_on
    episode_event(db, episode, user, "ended", reason, ended_on, note)
    return close_waiting_links(db, episode)


def close_waiting_links(db: Session, episode: Episode) -> int:
    """Links of an episode that has ended stop working (a client who opens one is told it has
    expired and to ask their therapist): answers must never arrive in an episode nobody is
    watching. Returns how many were closed."""
    moment = now()
    closed = db.execute(
        update(LinkToken)
        .where(LinkToken.episode_id == episode.id, LinkToken.used_at.is_(None), LinkToken.expires_at > moment)
        .values(expires_at=moment)
        .execution_options(synchronize_session=False)
    )
    return changed_rows(closed)


def reopen_episode(db: Session, episode: Episode, user: User, note: str = "") -> None:
    """Make the client's latest, ended episode active again; its ending stays in the history."""
    latest = current_episode(db, episode.client_id)
    problems = []
    if episode.active:
        problems.append(
            FieldProblem("episode", f"episode {episode.number}", "an ended episode: this one is active")
        )
    elif latest.id != episode.id:
        problems.append(
            FieldProblem(
                "episode",
                f"episode {episode.number}",
                f"the latest episode ({latest.number}): an earlier one cannot be reopened",
            )
        )
    if problems:
        raise InvalidInputError("reopening the episode", problems)
    touch_client(db, episode.client_id)
    episode.status, episode.end_reason, episode.ended_on = "active", None, None
    episode_event(db, episode, user, "reopened", None, clinic_today(db), note)


def new_episode(
    db: Session, client: Client, therapist: User, started_on: date | None, note: str = ""
) -> Episode:
    """Open the next episode for a returning client, once the latest has ended."""
    latest = current_episode(db, client.id)
    started_on = started_on or clinic_today(db)
    problems = []
    if latest.active:
        problems.append(
            FieldProblem(
                "episode",
                f"episode {latest.number}",
                "an ended latest episode: end the current episode before starting a new one",
            )
        )
    else:
        problems += _within(
            db, "start date", started_on, latest.ended_on, f"the end of episode {latest.number}"
        )
    if problems:
        raise InvalidInputError("starting a new episode", problems)
    touch_client(db, client.id)
    return open_episode(db, client, therapist, latest.number + 1, started_on, note)


def _within(db: Session, field: str, value: date, earliest: date | None, after: str) -> list[FieldProblem]:
    """A date from ``earliest`` (the start, or the end of the episode before) up to today."""
    if earliest is not None and value < earliest:
        return [FieldProblem(field, value.isoformat(), f"a date on or after {after}, {earliest:%d %b %Y}")]
    if value > clinic_today(db):
        return [FieldProblem(field, value.isoformat(), "today or an earlier date")]
    return []


def open_episode(
    db: Session, client: Client, therapist: User, number: int, started_on: date, note: str | None
) -> Episode:
    """A new active episode numbered ``number``, with its "opened" event (unchecked: the callers
    check the number and the date; a restore gives the numbers it reads)."""
    episode = Episode(
        client_id=client.id,
        number=number,
        therapist_id=therapist.id,
        status="active",
        started_on=started_on,
        end_reason=None,
        ended_on=None,
        created_at=now(),
    )
    db.add(episode)
    db.flush()
    episode_event(db, episode, therapist, "opened", None, started_on, note or "")
    return episode


def episode_event(
    db: Session,
    episode: Episode,
    user: User,
    action: str,
    reason: str | None,
    on_date: date | None,
    note: str,
) -> None:
    """One step of an episode's history (opened, ended, reopened), kept beside the episode's
    current state so the earlier state is never lost."""
    db.add(
        EpisodeEvent(
            episode_id=episode.id,
            action=action,
            end_reason=reason,
            on_date=on_date,
            note=(note or "").strip()[:MAX_NOTE] or None,
            at=now(),
            by_user=user.id,
        )
    )
    db.flush()

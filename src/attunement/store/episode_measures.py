"""The measures each episode's links carry: the clinician's choice, kept with its history.

An episode starts with the clinic's default for its service type (``measure_sets.json``), kept
to the measures the clinic offers. A clinician's change is a new row valid from the moment it is
made; the earlier rows stay, so what an episode used at any time can be read back. A link takes
the set in force when it is issued and keeps it (the link row holds its own list), so changing
the measures never changes a link already sent. PHQ-9 is in every set: it carries the safety
question, so a client's risk answer is always asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from attunement.errors import FieldProblem, InvalidInputError
from attunement.instruments import get_instrument
from attunement.instruments.measure_sets import ALWAYS_OFFERED, for_session, service_defaults
from attunement.store.clock import now
from attunement.store.episodes import require_active
from attunement.store.models import Episode, EpisodeMeasures, User
from attunement.store.settings import get_setting, offered_instruments


@dataclass(frozen=True)
class MeasureChoice:
    """One stretch of an episode's measures: who chose them and from when (``None``: the
    clinic's default, in force from the episode's start)."""

    instruments: tuple[str, ...]
    valid_from: datetime | None
    set_by: int | None


def clinic_default(db: Session) -> list[str]:
    return service_defaults(get_setting(db, "service_type"), offered_instruments(db))


def measure_history(db: Session, episode_id: int) -> list[MeasureChoice]:
    """Every choice of the episode's measures, earliest first; the clinic default alone when the
    clinician never chose."""
    rows = db.scalars(
        select(EpisodeMeasures)
        .where(EpisodeMeasures.episode_id == episode_id)
        .order_by(EpisodeMeasures.valid_from, EpisodeMeasures.id)
    ).all()
    return [MeasureChoice(tuple(r.instruments.split(",")), r.valid_from, r.set_by) for r in rows]


def current_measures(db: Session, episode: Episode) -> list[str]:
    """The measures a link issued now carries (before leaving out those about the session): the
    latest choice, kept to what the clinic offers now, PHQ-9 always."""
    history = measure_history(db, episode.id)
    if not history:
        return clinic_default(db)
    wanted = set(history[-1].instruments) | set(ALWAYS_OFFERED)
    return [i for i in offered_instruments(db) if i in wanted]


def measures_used(db: Session, episode: Episode) -> list[str]:
    """Every measure the episode's links carried at any time (each choice, or the clinic default
    when none was made), each once, in the order first chosen."""
    history = measure_history(db, episode.id)
    if not history:
        return clinic_default(db)
    return list(dict.fromkeys(i for choice in history for i in (*choice.instruments, *ALWAYS_OFFERED)))


def link_measures(db: Session, episode: Episode, session: int) -> list[str]:
    """What a link for ``session`` of the episode carries: the current measures, without those
    about the session before the first session."""
    return for_session(current_measures(db, episode), session)


def set_measures(db: Session, episode: Episode, user: User, chosen: list[str]) -> list[str] | None:
    """Store the clinician's choice from now on; the new set, or ``None`` when nothing changed.

    Every chosen measure must be one the clinic offers; nothing is stored otherwise. PHQ-9 is
    added whatever was ticked.
    """
    require_active(episode, "measures")
    offered = offered_instruments(db)
    names = ", ".join(get_instrument(i).short_name for i in offered)
    problems = [
        FieldProblem("measures", raw[:40], f"one of the measures your clinic offers ({names})")
        for raw in dict.fromkeys(chosen)
        if raw not in offered
    ]
    if problems:
        raise InvalidInputError("measures", problems)
    wanted = set(chosen) | set(ALWAYS_OFFERED)
    new = [i for i in offered if i in wanted]
    if new == current_measures(db, episode):
        return None
    db.add(
        EpisodeMeasures(
            client_id=episode.client_id,
            episode_id=episode.id,
            instruments=",".join(new),
            valid_from=now(),
            set_by=user.id,
        )
    )
    db.flush()
    return new

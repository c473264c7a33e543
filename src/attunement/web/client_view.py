"""What the client page shows of one episode: the summary and charts, every session with its
dates and submissions, what can be done next (link, plan, rate, end or reopen), earlier episodes.

The current (latest) episode's summary is the stored one; an earlier episode is computed when
it is opened, read only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from attunement.instruments import get_instrument, instrument_ids
from attunement.store.clock import local_today
from attunement.store.episode_record import episode_record
from attunement.store.episodes import END_REASON_LABELS, episodes_of, events_of
from attunement.store.intake import is_first_contact, latest_intake
from attunement.store.models import END_REASONS, AlertRecord, Client, Episode, Submission, User
from attunement.store.schedule import (
    default_link_choice,
    default_rating_choice,
    link_choices,
    next_number,
    rating_choices,
    session_states,
)
from attunement.store.settings import clinic_zone
from attunement.web.charts_slot import outcome_svg, relationship_svg
from attunement.web.intake import IntakeView, intake_view
from attunement.web.questionnaires import build_form
from attunement.web.summaries import ClientSummary
from attunement.web.summary_store import episode_summary, histories_of, summaries_for


@dataclass(frozen=True)
class EarlierEpisode:
    episode: Episode
    summary: ClientSummary


def client_context(
    db: Session, user: User, client: Client, episode: Episode | None, *, can_change: bool
) -> dict[str, Any]:
    """Everything the client page template needs for ``episode`` (the current one when None)."""
    episodes = episodes_of(db, client.id)
    current = episodes[0]
    episode = episode or current
    is_current = episode.id == current.id
    summary = summaries_for(db, [client])[client.id] if is_current else episode_summary(db, client, episode)
    histories = histories_of(client, summary)
    zone = clinic_zone(db)
    today = local_today(zone)
    states = session_states(db, episode.id)
    changeable = can_change and is_current and episode.active
    links = link_choices(states, today) if changeable else []
    ratings = rating_choices(states, today) if changeable else []
    return {
        "client": client,
        "therapist": db.get(User, episode.therapist_id),
        "episode": episode,
        "is_current": is_current,
        "episodes": episodes,
        "earlier": [
            EarlierEpisode(e, episode_summary(db, client, e)) for e in episodes if e.id != episode.id
        ],
        "events": events_of(db, [episode.id])[episode.id],
        "end_reasons": [(r, END_REASON_LABELS[r]) for r in END_REASONS],
        "end_labels": END_REASON_LABELS,
        "summary": summary,
        "sessions": episode_record(db, episode.id),
        "upcoming": [s for s in states if s.planned_on is not None and s.planned_on >= today],
        "comments": _comments(db, episode.id),
        "records": {
            (r.session, r.kind): r
            for r in db.scalars(select(AlertRecord).where(AlertRecord.episode_id == episode.id))
        },
        "can_change": can_change and is_current,
        "can_work": changeable,
        "zone": zone,
        "today": today,
        "link_choices": links,
        "link_default": default_link_choice(links, today),
        "rating_choices": ratings,
        "rating_default": default_rating_choice(ratings),
        "new_number": next_number(db, episode.id),
        "rating_form": build_form("checkin_therapist"),
        "instrument_names": {i: get_instrument(i).short_name for i in instrument_ids()},
        "intake": _intake_view(db, client),
        "first_contact": can_change and is_first_contact(db, client.id),
        "outcome_svg": outcome_svg(histories, 0, "phq9") if histories is not None else None,
        "anxiety_svg": outcome_svg(histories, 0, "gad7") if histories is not None else None,
        "relationship_svg": relationship_svg(histories, 0) if histories is not None else None,
        "problems": [],
        "values": {},
    }


def _comments(db: Session, episode_id: int) -> list[Submission]:
    return list(
        db.scalars(
            select(Submission)
            .where(Submission.episode_id == episode_id, Submission.comment.is_not(None))
            .order_by(Submission.id.desc())
            .limit(10)
        )
    )


def _intake_view(db: Session, client: Client) -> IntakeView | None:
    """The client's profile and tailoring from their latest intake answers (None when none)."""
    answers = latest_intake(db, [client.id]).get(client.id)
    return None if answers is None else intake_view(answers, client.label)

"""What the client page shows of one episode: the summary and charts, every session with its
dates and submissions, what can be done next (link, plan, rate, end or reopen), earlier episodes.

The current (latest) episode's summary is the stored one; an earlier episode is computed when
it is opened, read only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from attunement.instruments import get_instrument, instrument_ids
from attunement.instruments.measure_sets import ALWAYS_OFFERED, about_the_session, not_offered
from attunement.instruments.roles import role
from attunement.profile.parts import intake_parts
from attunement.store.approaches import approach_choices
from attunement.store.caregiver import caregiver_reports
from attunement.store.cases import membership
from attunement.store.clock import local_today
from attunement.store.episode_measures import current_measures, measure_history
from attunement.store.episode_record import episode_record
from attunement.store.episodes import END_REASON_LABELS, episodes_of, events_of
from attunement.store.forecast_source import model_in_use
from attunement.store.intake import current_intake, intake_state
from attunement.store.kept_alerts import alert_history, kept_alerts
from attunement.store.licensed_wording import licensed_instruments
from attunement.store.models import END_REASONS, AlertEvent, Client, Episode, KeptAlert, Submission, User
from attunement.store.schedule import (
    default_link_choice,
    default_rating_choice,
    link_choices,
    rating_choices,
    session_states,
)
from attunement.store.settings import clinic_zone, get_setting, offered_instruments
from attunement.store.summaries import AlertView, ClientSummary
from attunement.store.summary_store import episode_summary, histories_of, summaries_for
from attunement.web.charts_slot import client_charts
from attunement.web.delivery_view import delivery_context, schedule_context
from attunement.web.intake import IntakeView, intake_view
from attunement.web.questionnaires import build_form
from attunement.web.supervision_view import supervision_context


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
    forecast = model_in_use(db)
    zone = clinic_zone(db)
    today = local_today(zone)
    states = session_states(db, episode.id)
    charts = client_charts(histories, summary.measures(), forecast.model, forecast.key)
    changeable = can_change and is_current and episode.active
    links = link_choices(states, today) if changeable else []
    ratings = rating_choices(states, today) if changeable else []
    events = events_of(db, [episode.id])[episode.id]
    moved = {i for e in events for i in (e.from_therapist_id, e.to_therapist_id) if i is not None}
    return {
        "membership": (member := membership(db, client.id)),
        "young_person": (young := member is not None and role(member[1].row.role).young),
        "caregiver_reports": caregiver_reports(db, episode.id) if young else [],
        "client": client,
        "therapist": db.get(User, episode.therapist_id),
        "event_people": dict(db.execute(select(User.id, User.display_name).where(User.id.in_(moved))).all())
        if moved
        else {},
        "episode": episode,
        "is_current": is_current,
        "episodes": episodes,
        "earlier": [
            EarlierEpisode(e, episode_summary(db, client, e)) for e in episodes if e.id != episode.id
        ],
        "events": events,
        "end_reasons": [(r, END_REASON_LABELS[r]) for r in END_REASONS],
        "end_labels": END_REASON_LABELS,
        "summary": summary,
        "sessions": episode_record(db, episode.id, states),
        "upcoming": [s for s in states if s.planned_on is not None and s.planned_on >= today],
        "comments": _comments(db, episode.id),
        "alert_log": episode_alert_log(db, episode.id),
        "support": merged_support(summary.alerts),
        "can_change": can_change and is_current,
        "can_work": changeable,
        "zone": zone,
        "today": today,
        "link_choices": links,
        "link_default": default_link_choice(links, today),
        "rating_choices": ratings,
        "rating_default": default_rating_choice(ratings),
        "new_number": states[-1].number + 1 if states else 1,  # states: every session, in order
        "rating_form": build_form("checkin_therapist"),
        "approaches": approach_choices(),
        "instrument_names": {i: get_instrument(i).short_name for i in instrument_ids()},
        "intake": intake_of(db, client),
        "measures": _measures_view(db, episode),
        "intake_state": intake_state(db, client.id),
        "intake_parts_count": len(intake_parts()),
        "outcome_charts": charts[0],
        "forecast_name": forecast.name,
        "relationship_svg": charts[1],
        **supervision_context(db, user, client),
        **delivery_context(db, client, can_change=can_change),
        **schedule_context(db, episode),
        "problems": [],
        "values": {},
    }


@dataclass(frozen=True)
class LoggedAlert:
    """A kept alert with its whole history, for the episode's alert log."""

    alert: KeptAlert
    events: list[AlertEvent]
    people: dict[int, str]

    def by(self, event: AlertEvent) -> str:
        return "attunement" if event.by_user is None else self.people.get(event.by_user, "a former user")


def episode_alert_log(db: Session, episode_id: int) -> list[LoggedAlert]:
    """Every alert the episode has had, latest first, each with every step of its history."""
    alerts = kept_alerts(db, [episode_id])[episode_id]
    history = alert_history(db, [a.id for a in alerts])
    ids = {e.by_user for events in history.values() for e in events if e.by_user is not None}
    people = dict(db.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()) if ids else {}
    return [LoggedAlert(a, history[a.id], people) for a in reversed(alerts)]


def merged_support(alerts: Sequence[AlertView]) -> list[str]:
    """The support steps of all the client's alerts in one list, the most urgent alert's first,
    each step once. Steps that quote their alert's reason quote it as "the alert shown above",
    so that the steps several alerts share are not listed once per alert."""
    steps = (
        step.replace(a.alert.reason, "the alert shown above") for a in alerts for step in a.alert.support
    )
    return list(dict.fromkeys(steps))


def _comments(db: Session, episode_id: int) -> list[Submission]:
    return list(
        db.scalars(
            select(Submission)
            .where(Submission.episode_id == episode_id, Submission.comment.is_not(None))
            .order_by(Submission.id.desc())
            .limit(10)
        )
    )


@dataclass(frozen=True)
class MeasuresView:
    """The episode's measures for the page: in use now, the clinic's offer, what cannot be
    offered and why, and every earlier choice with who made it."""

    current: list[str]
    offered: list[str]
    always: tuple[str, ...]
    about_session: list[str]
    not_offered: list
    history: list
    people: dict[int, str]


def _measures_view(db: Session, episode: Episode) -> MeasuresView:
    history = measure_history(db, episode.id)
    ids = {h.set_by for h in history if h.set_by is not None}
    people = dict(db.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()) if ids else {}
    current = current_measures(db, episode)
    return MeasuresView(
        current=current,
        offered=offered_instruments(db),
        always=ALWAYS_OFFERED,
        about_session=[i for i in current if i in about_the_session()],
        not_offered=not_offered(licensed_instruments(db)),
        history=list(reversed(history)),
        people=people,
    )


def intake_of(db: Session, client: Client) -> IntakeView | None:
    """The client's profile and tailoring from their intake answers so far (None when none)."""
    answers = current_intake(db, [client.id]).get(client.id)
    language = get_setting(db, "service_language")
    if answers is None:
        return None
    return _intake_view(json.dumps(answers, sort_keys=True), client.label, language)


@lru_cache(maxsize=256)
def _intake_view(answers: str, label: str, language: str) -> IntakeView:
    """The profile and tailoring of exactly these answers, remembered: building them reads the
    evidence and ranks every recommendation, the same work on every view until the client answers
    again."""
    return intake_view(json.loads(answers), label, service_language=language)

"""Printable reports of one episode of care: the episode report (the whole episode) and the
one-page session summary (one attended session). One rendering function for both the web pages
and ``attunement report`` (PDF): the same templates, the same numbers.

Every clinical number comes from the core: severity bands from the instrument definitions, change
from :mod:`attunement.change` (Jacobson & Truax reliable change and the instrument's caseness
cut-off; the NHS Talking Therapies paired outcomes when both PHQ-9 and GAD-7 were given at both
ends), the charts from :mod:`attunement.charts`. Scores only: no item wording is shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from attunement.change import (
    ChangeAssessment,
    assess_change,
    cutoff_for,
    direction_for,
    paired_outcomes,
    threshold_for,
)
from attunement.errors import AttunementError, FieldProblem, InvalidInputError
from attunement.instruments import get_instrument
from attunement.store.clock import local_today
from attunement.store.episode_measures import measures_used
from attunement.store.episode_record import SessionRecord, episode_record
from attunement.store.episodes import END_REASON_LABELS, episodes_of, events_of
from attunement.store.forecast_source import model_in_use
from attunement.store.models import Client, Episode, Submission, User
from attunement.store.schedule import session_states
from attunement.store.settings import clinic_zone
from attunement.store.summaries import ClientSummary
from attunement.store.summary_store import episode_summary, histories_of, summaries_for
from attunement.web.charts_slot import outcome_svgs, relationship_svg
from attunement.web.client_view import episode_alert_log, intake_of
from attunement.web.pages import TEMPLATES

REPORT_CSS = Path(__file__).with_name("static") / "report.css"
#: How many alerts open at a session its one-page summary lists (the latest first), each with
#: its latest step; the rest are counted and are in the episode report. A layout choice.
SUMMARY_ALERTS = 3
#: Alert history steps that record what the clinician did.
ACTIONS = {
    "acknowledged": "marked as seen",
    "actioned": "what was done",
    "outcome": "what happened next",
    "set_aside": "set aside",
    "resolved": "resolved",
}
CHANGE_LABELS = {
    "improved": "reliable improvement",
    "deteriorated": "reliable deterioration",
    "no_change": "no reliable change",
    "unchanged": "no reliable change",
}


@dataclass(frozen=True)
class ScoreLine:
    """One outcome measure from its first score of the episode to a later one."""

    instrument: str
    name: str
    first: float | None
    first_session: int | None
    last: float | None
    last_session: int | None
    band: str | None
    change: ChangeAssessment | None
    #: Whether the measure has published reliable-change parameters (else no change statistic).
    assessed: bool = True

    @property
    def difference(self) -> float | None:
        """The latest score less the first, in points (None with fewer than two scores)."""
        if self.first is None or self.last is None or self.first_session == self.last_session:
            return None
        return self.last - self.first

    @property
    def change_label(self) -> str:
        if not self.assessed:
            return "no published reliable-change parameters"
        if self.change is None:
            return "not enough scores yet"
        return CHANGE_LABELS.get(self.change.reliable_change, self.change.reliable_change.replace("_", " "))


@dataclass(frozen=True)
class PairedLine:
    """The NHS Talking Therapies outcome of the episode (both measures at both ends)."""

    reliable_improvement: bool
    reliable_deterioration: bool
    recovery: bool | None
    reliable_recovery: bool | None
    caseness_first: bool
    #: Thresholds and definitions not yet checked against their source, with their tags.
    unverified: tuple[str, ...] = ()


def find_episode(db: Session, reference: str) -> tuple[Client, Episode]:
    """The client and episode of ``CLIENT_ID/N`` (as in ``/clients/<id>/episodes/<n>``), or of a
    bare ``CLIENT_ID`` (their current episode)."""
    wanted = "a client's id and episode number, CLIENT_ID/N, as in /clients/<id>/episodes/<n>"
    client_id, _, number = reference.strip().partition("/")
    client = db.scalar(select(Client).where(Client.public_id == client_id)) if client_id else None
    episodes = episodes_of(db, client.id) if client is not None else []
    if client is None or not episodes:
        raise InvalidInputError("episode", [FieldProblem("episode", reference, wanted)])
    if not number:
        return client, episodes[0]
    episode = next((e for e in episodes if number.isdigit() and e.number == int(number)), None)
    if episode is None:
        raise InvalidInputError("episode", [FieldProblem("episode", reference, wanted)])
    return client, episode


def attended(record: SessionRecord) -> bool:
    """A session someone answered or rated: one a summary can be written of."""
    return bool(record.client or record.therapist)


def report_context(
    db: Session, client: Client, episode: Episode, session: int | None = None
) -> dict[str, Any]:
    """What the episode report (``session`` None) or the session summary needs."""
    current = episodes_of(db, client.id)[0]
    summary = (
        summaries_for(db, [client])[client.id]
        if episode.id == current.id
        else episode_summary(db, client, episode)
    )
    zone = clinic_zone(db)
    records = episode_record(db, episode.id, session_states(db, episode.id))
    if session is not None:
        record = next((r for r in records if r.number == session and attended(r)), None)
        if record is None:
            raise InvalidInputError(
                "session",
                [FieldProblem("session", str(session), "a session of this episode with answers or a rating")],
            )
    histories = histories_of(client, summary)
    model = model_in_use(db).model
    through = session if session is not None else summary.sessions
    log = episode_alert_log(db, episode.id)
    more_alerts = 0
    if session is not None:
        log = [item for item in log if item.alert.opened_session <= session <= item.alert.last_session]
        more_alerts, log = max(0, len(log) - SUMMARY_ALERTS), log[:SUMMARY_ALERTS]
    events = events_of(db, [episode.id])[episode.id]
    measures = summary.measures(measures_used(db, episode))
    return {
        "client": client,
        "episode": episode,
        "therapist": db.get(User, episode.therapist_id),
        "zone": zone,
        "today": local_today(zone),
        "end_labels": END_REASON_LABELS,
        "summary": summary,
        "session": session,
        "record": next((r for r in records if r.number == session), None),
        "sessions": [r for r in records if attended(r)],
        "measures": measures,
        "measure_names": {m: get_instrument(m).short_name for m in measures},
        "series": summary.series(),
        "scores": [_score_line(summary, i, through) for i in measures],
        "paired": _paired(summary) if session is None else None,
        "checkin": _at(summary.checkin, session) if session else None,
        "checkin_therapist": _at(summary.checkin_therapist, session) if session else None,
        "alert_log": log,
        "more_alerts": more_alerts,
        "actions": ACTIONS,
        "events": events,
        "event_people": _people(
            db, {i for e in events for i in (e.by_user, e.from_therapist_id, e.to_therapist_id)}
        ),
        "comments": _comments(db, episode.id, session),
        "intake": intake_of(db, client),
        "outcome_charts": outcome_svgs(histories, 0, measures, model, through=session),
        "relationship_svg": relationship_svg(histories, 0)
        if histories is not None and session is None
        else None,
        "forecast_name": model_in_use(db).name,
    }


def render_report(
    db: Session, client: Client, episode: Episode, session: int | None = None, *, standalone: bool = False
) -> str:
    """The episode report, or with ``session`` the session summary, as one HTML page.

    ``standalone`` inlines the style sheet (for a file printed to PDF, which fetches nothing);
    the web page links it instead, as the pages' Content-Security-Policy wants.
    """
    context = report_context(db, client, episode, session)
    context["css"] = REPORT_CSS.read_text(encoding="utf-8") if standalone else None
    context["standalone"] = standalone
    template = "report_session.html" if session is not None else "report_episode.html"
    return TEMPLATES.env.get_template(template).render(context)


def _at(values: list[float | None], session: int | None) -> float | None:
    return values[session - 1] if session is not None and 0 < session <= len(values) else None


def _score_line(summary: ClientSummary, instrument: str, through: int) -> ScoreLine:
    definition = get_instrument(instrument)
    values = list(summary.series().get(instrument, []))[:through]
    given = [(s + 1, v) for s, v in enumerate(values) if v is not None]
    first_session, first = given[0] if given else (None, None)
    last_session, last = given[-1] if given else (None, None)
    threshold = _or_none(threshold_for, definition)  # no published parameters: no change statistic
    cutoff = _or_none(cutoff_for, definition)
    change = None
    if len(given) >= 2 and threshold is not None and first is not None and last is not None:
        change = assess_change(first, last, threshold, direction=direction_for(definition), cutoff=cutoff)
    bands = definition.scoring.bands
    band = bands.classify(last) if last is not None and bands is not None else None
    return ScoreLine(
        instrument,
        definition.short_name,
        first,
        first_session,
        last,
        last_session,
        band,
        change,
        assessed=threshold is not None,
    )


def _or_none(find, definition):
    try:
        return find(definition)
    except AttunementError:
        return None


def _paired(summary: ClientSummary) -> PairedLine | None:
    def ends(values: list[float | None]) -> tuple[float, float]:
        given = [v for v in values if v is not None]
        return (given[0], given[-1]) if len(given) >= 2 else (math.nan, math.nan)

    (d_first, d_last), (a_first, a_last) = ends(summary.phq9), ends(summary.gad7)
    if any(math.isnan(v) for v in (d_first, d_last, a_first, a_last)):
        return None
    table = pd.DataFrame(
        {"phq9_first": [d_first], "phq9_last": [d_last], "gad7_first": [a_first], "gad7_last": [a_last]}
    )
    outcomes = paired_outcomes(table)
    row = outcomes.table.iloc[0]

    def flag(name: str) -> bool | None:
        value = row.get(name)
        return None if value is None or pd.isna(value) else bool(value)

    return PairedLine(
        reliable_improvement=bool(flag("reliable_improvement")),
        reliable_deterioration=bool(flag("reliable_deterioration")),
        recovery=flag("recovery"),
        reliable_recovery=flag("reliable_recovery"),
        caseness_first=bool(flag("caseness_first")),
        unverified=tuple(outcomes.unverified),
    )


def _people(db: Session, ids: set[int | None]) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(db.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())


def _comments(db: Session, episode_id: int, session: int | None) -> list[Submission]:
    query = select(Submission).where(Submission.episode_id == episode_id, Submission.comment.is_not(None))
    if session is not None:
        query = query.where(Submission.session == session)
    return list(db.scalars(query.order_by(Submission.session, Submission.id)))


def report_title(client: Client, episode: Episode, session: int | None) -> str:
    what = f"Session {session} summary" if session is not None else "Episode report"
    return f"{what}, episode {episode.number}: {client.label}"

"""A caregiver's report on a young person: a link a parent or carer answers about the young
person they care for, stored on the young person's own record under the rater "caregiver".

The report is kept apart from the young person's own answers: it never enters their scores or
charts (those read the client's own forms), and it is listed on its own on their page. A risk
answer in it is a risk answer like any other: it raises the young person's safety alert
(:mod:`attunement.store.risk` reads the caregiver's forms too) and the notices that go with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from attunement.alerts.critical import Form, form_flags
from attunement.errors import FieldProblem, InvalidInputError
from attunement.instruments.roles import role
from attunement.store.cases import membership
from attunement.store.client_links import MadeLink
from attunement.store.clock import aware
from attunement.store.models import Episode, Measure, Submission, User
from attunement.store.schedule import new_session, next_number
from attunement.store.score_rows import form_total
from attunement.store.settings import get_setting
from attunement.store.submissions import issued_link

#: The caregiver's report, and who answers it.
REPORT, CAREGIVER = "caregiver_report", "caregiver"


@dataclass(frozen=True)
class CaregiverReport:
    session: int
    at: datetime
    total: float | None
    #: The answers to the report's critical items that flag (item -> answer, None: left blank).
    risk: dict[str, float | None]


def make_caregiver_link(db: Session, episode: Episode, by: User) -> MadeLink:
    """A link for a caregiver's report on the young person of ``episode``, for the episode's
    latest session (a new one when it has none yet); refused for anyone but a young person."""
    found = membership(db, episode.client_id)
    if found is None or not role(found[1].row.role).young:
        raise InvalidInputError(
            "caregiver link",
            [FieldProblem("caregiver", "", "a young person taking part in a family's care")],
        )
    latest = next_number(db, episode.id) - 1
    session = latest if latest >= 1 else new_session(db, episode, by).number
    days = int(get_setting(db, "link_valid_days"))
    token, link = issued_link(db, episode, by, session, [REPORT], days, rater=CAREGIVER)
    return MadeLink(token, link, None, days)


def caregiver_reports(db: Session, episode_id: int) -> list[CaregiverReport]:
    """Every caregiver's report of the episode, the latest first."""
    submissions = {
        s.id: s
        for s in db.scalars(
            select(Submission).where(Submission.episode_id == episode_id, Submission.rater == CAREGIVER)
        )
    }
    if not submissions:
        return []
    rows = db.execute(
        select(Measure.submission_id, Measure.item, Measure.value).where(
            Measure.submission_id.in_(list(submissions)), Measure.instrument == REPORT
        )
    ).all()
    answers: dict[int, dict[str, float]] = {}
    for submission_id, item, value in rows:  # every report is shown, the earlier ones too
        if submission_id is not None and item is not None and value is not None:
            answers.setdefault(submission_id, {})[item] = float(value)
    out = []
    for submission_id, s in sorted(submissions.items(), reverse=True):
        given = answers.get(submission_id, {})
        # The one safety rule (endorsed, or left blank on a sent form), as the alert reads it.
        risk = {f.item: f.value for f in form_flags(Form(submission_id, s.session, REPORT, given))}
        out.append(CaregiverReport(s.session, aware(s.submitted_at), form_total(REPORT, given), risk))
    return out

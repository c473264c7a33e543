"""One episode's record, session by session, for the client page: every submission with its date
and scores (the one that counts marked), planned dates and the links still waiting.

Nothing is left out: a second set of client answers for a session and a therapist rating that
was corrected both appear, with when they were given, beside the set that counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from attunement.store.clock import aware
from attunement.store.models import Measure, Submission
from attunement.store.schedule import SessionState
from attunement.store.score_rows import ITEM9, form_total


@dataclass(frozen=True)
class SubmissionView:
    id: int
    rater: str
    at: datetime
    #: Instrument id -> total (None when the form could not be scored).
    totals: dict[str, float | None]
    item9: float | None
    comment: str | None
    #: The latest submission of its session and rater: its forms are the ones that count.
    latest: bool
    supersedes_id: int | None


@dataclass(frozen=True)
class SessionRecord:
    number: int
    planned_on: date | None
    planned_time: time | None
    links_waiting: tuple[tuple[datetime, datetime], ...]
    client: list[SubmissionView] = field(default_factory=list)
    therapist: list[SubmissionView] = field(default_factory=list)

    @property
    def answered_at(self) -> datetime | None:
        """When the client's answers that count were given."""
        return self.client[0].at if self.client else None

    @property
    def rating(self) -> SubmissionView | None:
        return self.therapist[0] if self.therapist else None

    @property
    def has_history(self) -> bool:
        """More than one submission of the client's or the therapist's: both sets are shown."""
        return len(self.client) > 1 or len(self.therapist) > 1


def episode_record(db: Session, episode_id: int, states: Sequence[SessionState]) -> list[SessionRecord]:
    """Every session of the episode in order (``states``, as :func:`session_states` read them),
    each with all its submissions (latest first)."""
    answers: dict[int, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    given: dict[int, dict[str, float]] = defaultdict(dict)
    for submission_id, instrument, item, value, score in db.execute(
        select(Measure.submission_id, Measure.instrument, Measure.item, Measure.value, Measure.score).where(
            Measure.episode_id == episode_id
        )
    ):
        if submission_id is None:
            continue  # a row without a submission is shown with none of the submissions
        if score is not None:
            given[submission_id][instrument] = float(score)
        elif item is not None and value is not None:
            answers[submission_id][instrument][item] = float(value)
    submissions = list(
        db.scalars(
            select(Submission).where(Submission.episode_id == episode_id).order_by(Submission.id.desc())
        )
    )
    by_session: dict[tuple[int, str], list[SubmissionView]] = defaultdict(list)
    for s in submissions:
        forms = answers.get(s.id, {})
        totals = {instrument: form_total(instrument, items) for instrument, items in forms.items()}
        totals.update(given.get(s.id, {}))
        views = by_session[(s.session, s.rater)]
        views.append(
            SubmissionView(
                id=s.id,
                rater=s.rater,
                at=aware(s.submitted_at),
                totals=totals,
                item9=forms.get(ITEM9[0], {}).get(ITEM9[1]),
                comment=s.comment,
                latest=not views,
                supersedes_id=s.supersedes_id,
            )
        )
    return [
        SessionRecord(
            number=state.number,
            planned_on=state.planned_on,
            planned_time=state.planned_time,
            links_waiting=state.links_waiting,
            client=by_session.get((state.number, "client"), []),
            therapist=by_session.get((state.number, "therapist"), []),
        )
        for state in states
    ]

"""How each therapist worked with each client, and the caseload check for "one approach for
everyone" run on it.

The task forces list imposing one relationship style or treatment on every client among the
practices that do not work. A therapist says how they worked in a session when they rate it;
this module collects, per therapist, the approach of every session's counting rating (a
corrected rating counts, the one it corrects is kept but not counted) and each client's intake
profile, and hands both to :func:`attunement.tailoring.approach_check.check_approaches`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from attunement.errors import FieldProblem, InvalidInputError
from attunement.profile import Profile, build_profile
from attunement.store.intake import current_intake
from attunement.store.models import Episode, Submission
from attunement.tailoring.approach_check import ApproachCheck, check_approaches, load_settings


def approach_choices() -> dict[str, str]:
    """id -> plain label of the ways of working a therapist can record."""
    return dict(load_settings().approaches.choices)


def parse_approach(value: str) -> str | None:
    """The form's approach: empty for not said, else one of the listed ids."""
    value = value.strip()
    if not value:
        return None
    if value not in approach_choices():
        raise InvalidInputError(
            "approach",
            [FieldProblem("approach", value[:40], "one of the listed ways of working, or none")],
        )
    return value


@dataclass(frozen=True)
class TherapistApproaches:
    """One therapist's check, or why there is none yet (``check`` None and ``missing`` said)."""

    therapist_id: int
    sessions: int
    check: ApproachCheck | None
    missing: str | None = None


@lru_cache(maxsize=256)
def _checked(sessions: tuple[tuple[str, str], ...], profiles: tuple[tuple[str, str], ...]) -> ApproachCheck:
    """The check of exactly these sessions and profiles, remembered: it runs a chi-square test per
    profile dimension (some tens of milliseconds each), and the team page asks for every
    therapist's on every view while the answers behind them change only now and then."""
    return check_approaches(
        [{"client_id": c, "approach": a} for c, a in sessions],
        {c: Profile.model_validate_json(text) for c, text in profiles},
    )


def approach_checks(db: Session, therapist_ids: Sequence[int]) -> dict[int, TherapistApproaches]:
    """The caseload check for each therapist, from the sessions they rated with an approach."""
    if not therapist_ids:
        return {}
    counting = (
        select(func.max(Submission.id))
        .where(Submission.rater == "therapist")
        .group_by(Submission.episode_id, Submission.session)
    )
    # Who worked that way: the one who rated, or for ratings brought in from tables (no one
    # signed in), the episode's therapist.
    who = func.coalesce(Submission.submitted_by, Episode.therapist_id)
    rows = db.execute(
        select(who, Submission.client_id, Submission.approach)
        .join(Episode, Episode.id == Submission.episode_id)
        .where(
            Submission.id.in_(counting),
            Submission.approach.is_not(None),
            who.in_(list(therapist_ids)),
        )
    ).all()
    labels = approach_choices()
    intake = current_intake(db, sorted({client_id for _, client_id, _ in rows}))
    profiles: dict[str, Profile] = {}
    for client_id, answers in intake.items():
        try:
            profiles[str(client_id)] = build_profile(answers, client_id=str(client_id))
        except InvalidInputError:
            continue  # answers to questions since changed: the client has no usable profile
    found: dict[int, TherapistApproaches] = {}
    for therapist_id in therapist_ids:
        sessions = [
            {"client_id": str(client_id), "approach": labels.get(approach, approach)}
            for who, client_id, approach in rows
            if who == therapist_id and approach is not None
        ]
        if not sessions:
            found[therapist_id] = TherapistApproaches(
                therapist_id, 0, None, "No session rated with how you worked yet."
            )
            continue
        mine = {c: profiles[c] for c in {s["client_id"] for s in sessions} if c in profiles}
        check = _checked(
            tuple((s["client_id"], s["approach"]) for s in sessions),
            tuple(sorted((c, p.model_dump_json()) for c, p in mine.items())),
        )
        found[therapist_id] = TherapistApproaches(therapist_id, len(sessions), check)
    return found

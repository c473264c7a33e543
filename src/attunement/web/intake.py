"""The intake profile on the web: its questions on the client's form, their answers checked,
and the profile and tailoring shown to the clinician (pure: no HTTP, no database).

Every intake question is optional (unless its definition says otherwise), so a blank answer is
simply not recorded; an answer that is given must be one the form offers, and a problem names
the question. The profile is built by :func:`attunement.profile.build_profile` and the
recommendations by :func:`attunement.tailoring.tailor`, so the web shows what the CLI shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache

from attunement.errors import FieldProblem, InvalidInputError
from attunement.instruments import get_instrument
from attunement.instruments.definition import Status, status_tag
from attunement.profile import Profile, build_profile, label
from attunement.profile.intake import answer_codes, load_mapping
from attunement.profile.model import CATEGORIES
from attunement.profile.parts import IntakePart
from attunement.tailoring import tailor
from attunement.tailoring.engine import DEFAULT_SERVICE_LANGUAGE, Caution, Recommendation, TailoringResult
from attunement.web.questionnaires import MAX_TEXT, Form, build_form, question_label

INTAKE = "intake_profile"

#: How the client page names each profile dimension.
DIMENSION_TITLES = {
    "reactance": "Reaction to direction (reactance)",
    "directiveness": "Who leads the sessions",
    "emotional_intensity": "Focus on feelings",
    "time_focus": "Past or present",
    "support_style": "Kind of response that helps",
    "between_session_tasks": "Work between sessions",
    "therapy_type": "Preferred kind of therapy",
    "therapy_type_other": "Other kind of therapy wanted",
    "therapist_wishes": "Wishes about the therapist",
    "cultural_background": "Cultural background",
    "language": "Language for sessions",
    "cultural_adaptation": "Cultural adaptation",
    "rs_importance": "Importance of religion or spirituality",
    "rs_inclusion": "Religion or spirituality in therapy",
    "stage": "Stage of change",
    "importance": "Importance of change",
    "confidence": "Confidence about change",
    "coping_style": "Coping style",
    "attachment_anxiety": "Attachment anxiety",
    "attachment_avoidance": "Attachment avoidance",
    "social_support": "Social support",
    "life_events": "Recent life events",
    "expectations": "Expectations of therapy",
}
#: A yes/unsure/no wish in the wishes list, where the question title already names what is wished.
_ANSWER = {"wants": "yes", "is unsure about": "not sure", "does not want": "no"}


def _strongly(value: str, strength: str | None) -> str:
    return f"{value} (strongly)" if strength == "strong" else value


#: How many recommendations and cautions the client page shows at once; the rest are one click away.
#: A clinician reads the page between sessions: a few ranked lines get read, ten do not.
SHOWN_RECOMMENDATIONS = 3
SHOWN_CAUTIONS = 2
#: Categories whose label reads as a verb phrase ("wants", "is unsure about").
_WISH = {"cultural_adaptation": "cultural adaptation", "rs_inclusion": "religion or spirituality in therapy"}


@cache
def intake_form(part: IntakePart | None = None) -> Form:
    """The intake questions of one part (None: every question), under a title saying which."""
    form = build_form(INTAKE)
    if part is None:
        return form
    return replace(
        form,
        title=f"{form.title}, {part.name}: {part.title}",
        questions=tuple(q for q in form.questions if q.field in part.items),
    )


def parse_intake(
    form: Mapping[str, str], part: IntakePart | None = None
) -> tuple[dict[str, float | str], list[FieldProblem]]:
    """The answered intake questions of ``part`` (None: all), by linkId, and a problem for each
    answer that is not valid; answers to questions outside the part are not read."""
    instrument = get_instrument(INTAKE)
    codes = answer_codes(instrument)
    values: dict[str, float | str] = {}
    problems: list[FieldProblem] = []
    for link_id, spec in instrument.items.items():
        if part is not None and link_id not in part.items:
            continue
        raw = (form.get(link_id) or "").strip()
        name = question_label(instrument, link_id)
        if raw == "":
            if spec.required:
                problems.append(FieldProblem(name, None, "an answer (please choose one)"))
            continue
        if spec.type in ("string", "text"):
            if len(raw) > MAX_TEXT:
                problems.append(FieldProblem(name, f"{len(raw)} characters", f"at most {MAX_TEXT}"))
            else:
                values[link_id] = raw
            continue
        number = codes.get(link_id, {}).get(raw)  # the form's text code, e.g. "strongly-agree"
        if number is None:
            try:
                number = float(raw)
            except ValueError:
                problems.append(FieldProblem(name, raw, spec.expected()))
                continue
        if not spec.accepts(number):
            problems.append(FieldProblem(name, raw, spec.expected()))
            continue
        values[link_id] = number
    if not problems and values:
        try:  # the profile builder has the last word on what it accepts
            build_profile(values)
        except InvalidInputError as exc:
            problems.extend(exc.problems)
    return values, problems


@dataclass(frozen=True)
class ProfileLine:
    dimension: str
    title: str
    value: str
    said: str
    tag: str


@dataclass(frozen=True)
class WishLine:
    """One thing the client asked for, as the client page lists it."""

    dimension: str
    title: str
    value: str
    said: str


@dataclass(frozen=True)
class IntakeView:
    """What the client page shows: the client's wishes, a handful of ranked recommendations and
    cautions (the rest one click away), any wish-versus-trait conflicts, and the profile."""

    lines: list[ProfileLine]
    result: TailoringResult
    not_recorded: list[str]
    problem: str | None = None
    wishes: list[WishLine] = field(default_factory=list)
    mapping_status: str = ""

    @property
    def top_recommendations(self) -> list[Recommendation]:
        return self.result.recommendations[:SHOWN_RECOMMENDATIONS]

    @property
    def more_recommendations(self) -> list[Recommendation]:
        return self.result.recommendations[SHOWN_RECOMMENDATIONS:]

    @property
    def top_cautions(self) -> list[Caution]:
        return self.result.cautions[:SHOWN_CAUTIONS]

    @property
    def more_cautions(self) -> list[Caution]:
        return self.result.cautions[SHOWN_CAUTIONS:]


def intake_view(
    answers: Mapping[str, float | str],
    client_id: str | None = None,
    *,
    service_language: str = DEFAULT_SERVICE_LANGUAGE,
) -> IntakeView:
    """The profile built from stored answers, and the ranked recommendations and cautions.

    ``service_language`` is the clinic's setting, passed in so that tailoring never reads the database."""
    try:
        profile = build_profile(answers, client_id=client_id)
    except InvalidInputError as exc:  # answers stored under an older form definition
        empty = Profile(client_id=client_id)
        problem = "; ".join(f"{p.field}: expected {p.expected}" for p in exc.problems)
        return IntakeView([], tailor(empty, service_language=service_language), [], problem)
    result = tailor(profile, service_language=service_language)
    wishes = [
        WishLine(
            w.dimension,
            DIMENSION_TITLES.get(w.dimension, w.dimension),
            _ANSWER.get(w.value, w.value) if w.dimension in _WISH else _strongly(w.value, w.strength),
            w.said,
        )
        for w in result.wishes
    ]
    status = load_mapping().intake.status
    return IntakeView(
        describe(profile, common=status),
        result,
        [DIMENSION_TITLES.get(d, d) for d in result.not_recorded],
        wishes=wishes,
        mapping_status=status.value,
    )


def describe(profile: Profile, common: Status | None = None) -> list[ProfileLine]:
    """One plain-words line per recorded dimension: what it is and what the client said.

    The status of the mapping from answer to category is said once for the whole profile
    (``common``); only a line whose mapping has another, unverified status carries a tag."""
    lines = []
    for dimension, obs in profile.observations().items():
        value = label(dimension, obs.value)
        if dimension in _WISH:
            value = f"{value} {_WISH[dimension]}"
        elif dimension in CATEGORIES and obs.strength == "some":
            value = f"{value} (somewhat)"
        title = DIMENSION_TITLES.get(dimension, dimension)
        tag = "" if common is not None and obs.status == common else status_tag(obs.status)
        lines.append(ProfileLine(dimension, title, value, obs.said(), tag))
    return lines

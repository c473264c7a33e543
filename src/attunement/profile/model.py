"""The client profile recorded at intake: the characteristics therapy can be fitted to.

The task forces found that adapting therapy to a client's reactance, preferences, culture,
religion or spirituality, stage of change and coping style goes with better outcomes, and that
attachment and expectations matter too. The profile holds one observation per dimension: the
category, how strongly it was expressed, what the client actually answered (so explanations can
quote it) and where it came from. Categories are a closed vocabulary so that rules, checklists
and the caseload check can rely on them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from attunement.datafiles import StrictModel
from attunement.errors import FieldProblem, InvalidInputError
from attunement.instruments.definition import Status

Strength = Literal["strong", "some"]

# Each categorical dimension with its allowed values and their plain-language labels.
CATEGORIES: dict[str, dict[str, str]] = {
    "reactance": {"low": "low", "moderate": "moderate", "high": "high"},
    "directiveness": {"therapist_led": "therapist-led", "client_led": "client-led"},
    "emotional_intensity": {"intense": "emotionally intense", "reserved": "emotionally reserved"},
    "time_focus": {"past": "focused on the past", "present": "focused on the present"},
    "support_style": {"warm_support": "warm support", "focused_challenge": "focused challenge"},
    "between_session_tasks": {"tasks": "tasks between sessions", "in_session": "work within sessions"},
    "therapy_type": {
        "skills": "skills-focused therapy",
        "insight": "insight-focused therapy",
        "person_centred": "person-centred therapy",
        "systemic": "couple or family therapy",
        "other": "another kind of therapy",
    },
    "cultural_adaptation": {"yes": "wants", "unsure": "is unsure about", "no": "does not want"},
    "rs_importance": {
        "not": "not important",
        "a_little": "a little important",
        "quite": "quite important",
        "very": "very important",
    },
    "rs_inclusion": {"yes": "wants", "unsure": "is unsure about", "no": "does not want"},
    "stage": {
        "precontemplation": "precontemplation",
        "contemplation": "contemplation",
        "preparation": "preparation",
        "action": "action",
        "maintenance": "maintenance",
    },
    "importance": {"low": "low", "middle": "middle", "high": "high"},
    "confidence": {"low": "low", "middle": "middle", "high": "high"},
    "coping_style": {"internalising": "internalising", "externalising": "externalising", "mixed": "mixed"},
    "attachment_anxiety": {"low": "low", "middle": "middle", "high": "high"},
    "attachment_avoidance": {"low": "low", "middle": "middle", "high": "high"},
    "social_support": {
        "several": "several people to turn to",
        "few": "one or two people to turn to",
        "none": "no one to turn to",
    },
    "expectations": {"low": "low", "uncertain": "uncertain", "moderate": "moderate", "high": "high"},
}
TEXTS = ("cultural_background", "language", "therapist_wishes", "therapy_type_other", "life_events")
DIMENSIONS = tuple(CATEGORIES) + TEXTS
#: What the client asked for in their own words or choices (a stated wish), as opposed to a trait
#: inferred from questionnaire items (reactance, coping style, attachment ...). A stated wish is
#: never dropped for an inferred trait: the preferences meta-analyses measured accommodating what
#: clients say they want, while a trait is only our reading of their answers.
STATED = (
    "directiveness",
    "emotional_intensity",
    "time_focus",
    "support_style",
    "between_session_tasks",
    "therapy_type",
    "therapy_type_other",
    "therapist_wishes",
    "language",
    "cultural_adaptation",
    "rs_inclusion",
)


class Observation(StrictModel):
    """One dimension of the profile as recorded."""

    value: str = Field(min_length=1)
    strength: Strength | None = None
    evidence: str | None = Field(default=None, description="what the client answered, in plain words")
    source: str = Field(default="profile file", description="instrument id or other origin")
    status: Status | None = Field(
        default=None, description="verification status of the rule that mapped answers to this value"
    )

    @model_validator(mode="before")
    @classmethod
    def _from_bare_value(cls, data: Any) -> Any:
        # A hand-written profile file may say "reactance": "high".
        if isinstance(data, str):
            return {"value": data}
        return data

    def said(self) -> str:
        """The evidence sentence, or a neutral one when the profile file gave only the value."""
        return self.evidence or f"the profile records {self.value.replace('_', ' ')} ({self.source})"


class Profile(StrictModel):
    """A client's profile; every dimension is optional because every intake question is."""

    client_id: str | None = None
    reactance: Observation | None = None
    directiveness: Observation | None = None
    emotional_intensity: Observation | None = None
    time_focus: Observation | None = None
    support_style: Observation | None = None
    between_session_tasks: Observation | None = None
    therapy_type: Observation | None = None
    therapy_type_other: Observation | None = None
    therapist_wishes: Observation | None = None
    cultural_background: Observation | None = None
    language: Observation | None = None
    cultural_adaptation: Observation | None = None
    rs_importance: Observation | None = None
    rs_inclusion: Observation | None = None
    stage: Observation | None = None
    importance: Observation | None = None
    confidence: Observation | None = None
    coping_style: Observation | None = None
    attachment_anxiety: Observation | None = None
    attachment_avoidance: Observation | None = None
    social_support: Observation | None = None
    life_events: Observation | None = None
    expectations: Observation | None = None
    notes: list[str] = Field(default=[], description="what could not be used, and why")

    @model_validator(mode="after")
    def _known_categories(self) -> Profile:
        problems = [
            f"{name}: got {obs.value!r}, expected one of {', '.join(CATEGORIES[name])}"
            for name, obs in self.observations().items()
            if name in CATEGORIES and obs.value not in CATEGORIES[name]
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def observations(self) -> dict[str, Observation]:
        """The recorded dimensions, by name."""
        return {name: getattr(self, name) for name in DIMENSIONS if getattr(self, name) is not None}

    def get(self, name: str) -> Observation | None:
        if name not in DIMENSIONS:
            raise KeyError(f"no profile dimension {name!r}; expected one of: {', '.join(DIMENSIONS)}")
        observation: Observation | None = getattr(self, name)
        return observation

    def categories(self) -> dict[str, str]:
        """The categorical dimensions only (free text left out), e.g. for the caseload check."""
        return {name: obs.value for name, obs in self.observations().items() if name in CATEGORIES}

    def missing(self) -> list[str]:
        """Categorical dimensions nobody recorded: worth asking about."""
        return [name for name in CATEGORIES if getattr(self, name) is None]


def label(dimension: str, value: str) -> str:
    """The plain-language label of a category (free text is returned as it is)."""
    return CATEGORIES.get(dimension, {}).get(value, value)


def parse_profile(data: Any, context: str = "profile") -> Profile:
    """Build a profile from JSON-like data, naming every bad field."""
    if not isinstance(data, dict):
        raise InvalidInputError(context, [FieldProblem("profile", type(data).__name__, "a JSON object")])
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "profile"
            problems.append(FieldProblem(where, err.get("input"), err["msg"]))
        raise InvalidInputError(context, problems) from exc

"""Clinical support checklist: what to go through when an alert fires, filled in for this client.

Feedback helps clients who are not on track most when it comes with clinical support tools
(see the ``client_feedback`` registry entry). The checklist is data (``checklist.json``); this
module selects the sections for the alert kind, fills each item with the client's own profile,
recommendations and the alert's reason, and returns items the interface can mark as used, so
that what was done after each alert can be recorded and audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from attunement.datafiles import StrictModel, load_json_model
from attunement.errors import DefinitionError, FieldProblem, InvalidInputError
from attunement.evidence import Registry, load_registry
from attunement.instruments.definition import Status, status_tag
from attunement.profile.model import Profile
from attunement.tailoring.engine import DEFAULT_SERVICE_LANGUAGE, Recommendation, tailor
from attunement.tailoring.rules import PLACEHOLDER, Condition, all_hold, fill

CHECKLIST_FILE = Path(__file__).with_name("checklist.json")
AlertKind = Literal[
    "not_on_track", "rupture", "dropout_risk", "safety", "negative_process", "split_alliance", "cohesion"
]
#: Every kind of alert with a checklist; ``split_alliance`` and ``cohesion`` are about one participant
#: of a couple, family or group case.
ALERT_KINDS: tuple[AlertKind, ...] = (
    "not_on_track",
    "rupture",
    "dropout_risk",
    "safety",
    "negative_process",
    "split_alliance",
    "cohesion",
)
_SPECIAL = re.compile(r"\{(alert\.reason|recommendations)\}")


class Basis(StrictModel):
    text: str
    source: str
    status: Status


class ItemSpec(StrictModel):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    text: str
    kinds: list[AlertKind] | None = Field(
        default=None, description="alert kinds it applies to; all when absent"
    )
    when: list[Condition] = []
    needs_recommendations: bool | None = None
    required: bool = False
    see: str | None = Field(default=None, description="registry entry behind the item")


class SectionSpec(StrictModel):
    title: str
    entries: list[str] = []
    basis: Basis
    items: list[ItemSpec] = Field(min_length=1)


class EvidenceRef(StrictModel):
    """Why a kind's checklist is worth working through: a registry estimate about that very kind
    of alert (``entry`` and ``estimate``), or, where effect sizes do not apply (a risk answer),
    guidance labelled as such (``label``, ``guidance``, ``source``, ``status``)."""

    entry: str | None = None
    estimate: str | None = None
    label: str | None = None
    guidance: str | None = None
    source: str | None = None
    status: Status | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> EvidenceRef:
        estimate = [v is not None for v in (self.entry, self.estimate)]
        guidance = [v is not None for v in (self.label, self.guidance, self.source, self.status)]
        if not ((all(estimate) and not any(guidance)) or (all(guidance) and not any(estimate))):
            raise ValueError("evidence is either a registry entry and estimate, or labelled guidance")
        return self


class KindSpec(StrictModel):
    label: str
    sections: list[str] = Field(min_length=1)
    evidence: EvidenceRef


class ChecklistSpec(StrictModel):
    version: str
    description: str
    alert_kinds: dict[AlertKind, KindSpec]
    sections: dict[str, SectionSpec]

    @model_validator(mode="after")
    def _complete(self) -> ChecklistSpec:
        missing = [k for k in ALERT_KINDS if k not in self.alert_kinds]
        unknown = [s for k in self.alert_kinds.values() for s in k.sections if s not in self.sections]
        ids = [i.id for s in self.sections.values() for i in s.items]
        problems = [f"alert kind {k!r} has no sections" for k in missing]
        problems += [f"unknown section {s!r}" for s in unknown]
        problems += [f"duplicate item id {i!r}" for i in sorted({i for i in ids if ids.count(i) > 1})]
        if problems:
            raise ValueError("; ".join(problems))
        return self


def checklist_problems(spec: ChecklistSpec, registry: Registry) -> list[str]:
    """Registry ids that do not exist, and placeholders an item's conditions do not guarantee."""
    entries = registry.by_id()
    problems: list[str] = []
    for kind_id, kind in spec.alert_kinds.items():
        ref = kind.evidence
        if ref.entry is None:
            continue
        evidence = entries.get(ref.entry)
        if evidence is None or ref.estimate not in {e.id for e in evidence.estimates}:
            problems.append(f"{kind_id}: evidence {ref.entry}.{ref.estimate} is not in the registry")
    for sid, section in spec.sections.items():
        problems.extend(
            f"section {sid}: unknown registry entry {e!r}" for e in section.entries if e not in entries
        )
        for item in section.items:
            if item.see is not None and item.see not in entries:
                problems.append(f"{item.id}: unknown registry entry {item.see!r}")
            guaranteed = {
                c.dimension for c in item.when if c.one_of is not None or c.recorded is True or c.strength
            }
            for dimension, _ in PLACEHOLDER.findall(item.text):
                if dimension not in guaranteed:
                    problems.append(f"{item.id}: quotes {dimension}, which its conditions do not require")
            if "{recommendations}" in item.text and item.needs_recommendations is not True:
                problems.append(f"{item.id}: lists recommendations without needs_recommendations: true")
            leftover = _SPECIAL.sub("", PLACEHOLDER.sub("", item.text))
            if "{" in leftover or "}" in leftover:
                problems.append(f"{item.id}: malformed placeholder")
    return problems


@cache
def load_checklist(path: Path = CHECKLIST_FILE) -> ChecklistSpec:
    spec = load_json_model(path, ChecklistSpec)
    problems = checklist_problems(spec, load_registry())
    if problems:
        raise DefinitionError(f"{path.name}: " + "; ".join(problems))
    return spec


@dataclass(frozen=True)
class SupportContext:
    """What the alert says, and optionally the recommendations already computed for the client."""

    reason: str
    client_id: str | None = None
    session: int | None = None
    recommendations: list[Recommendation] | None = None
    #: The clinic's language, for the recommendations worked out here when none were given.
    service_language: str = DEFAULT_SERVICE_LANGUAGE


@dataclass(frozen=True)
class ChecklistItem:
    id: str
    section: str
    text: str
    required: bool
    see: str | None
    based_on: list[str]
    used: bool = False


@dataclass(frozen=True)
class ChecklistSection:
    id: str
    title: str
    basis: str
    evidence: list[str]
    items: list[ChecklistItem]


@dataclass(frozen=True)
class Checklist:
    alert_kind: str
    alert_label: str
    reason: str
    client_id: str | None
    session: int | None
    evidence: str
    sections: list[ChecklistSection]
    recommendations: list[str] = field(default_factory=list)

    def items(self) -> list[ChecklistItem]:
        return [item for section in self.sections for item in section.items]

    def used(self) -> list[str]:
        return [item.id for item in self.items() if item.used]


def _alert_kind(name: str) -> AlertKind:
    for kind in ALERT_KINDS:
        if kind == name:
            return kind
    raise InvalidInputError(
        "support checklist", [FieldProblem("alert_kind", name, "one of " + ", ".join(ALERT_KINDS))]
    )


def support_checklist(
    alert_kind: str, profile: Profile | None, context: SupportContext, spec: ChecklistSpec | None = None
) -> Checklist:
    """The checklist for one alert, filled in with this client's data."""
    known_kind = _alert_kind(alert_kind)
    if not context.reason or not context.reason.strip():
        raise InvalidInputError(
            "support checklist", [FieldProblem("reason", context.reason, "the alert's reason in words")]
        )
    spec = spec or load_checklist()
    registry = load_registry()
    entries = registry.by_id()
    profile = profile or Profile(client_id=context.client_id)
    recs = (
        context.recommendations
        if context.recommendations is not None
        else tailor(profile, service_language=context.service_language).recommendations
    )
    rec_text = "; ".join(f"{r.title} ({r.entry_name})" for r in recs)
    kind = spec.alert_kinds[known_kind]

    sections = []
    for sid in kind.sections:
        section = spec.sections[sid]
        items = [
            ChecklistItem(
                id=item.id,
                section=sid,
                text=_fill(item.text, profile, context.reason.strip(), rec_text),
                required=item.required,
                see=item.see,
                based_on=sorted({c.dimension for c in item.when if c.recorded is not False}),
            )
            for item in section.items
            if (item.kinds is None or alert_kind in item.kinds)
            and all_hold(item.when, profile)
            and (item.needs_recommendations is None or item.needs_recommendations == bool(recs))
        ]
        if items:
            basis = f"{section.basis.text} Source: {section.basis.source}" + _tag(section.basis.status)
            evidence = [f"{entries[e].name}: {entries[e].strength_text()}" for e in section.entries]
            sections.append(ChecklistSection(sid, section.title, basis, evidence, items))

    return Checklist(
        alert_kind=alert_kind,
        alert_label=kind.label,
        reason=context.reason.strip(),
        client_id=profile.client_id or context.client_id,
        session=context.session,
        evidence=_evidence(kind.evidence, registry),
        sections=sections,
        recommendations=[r.id for r in recs],
    )


def _evidence(ref: EvidenceRef, registry: Registry) -> str:
    """The rationale line: the estimate with its citation, or the guidance with its label."""
    if ref.entry is None:
        return f"{ref.label}: {ref.guidance} Source: {ref.source}" + _tag(ref.status)
    entry = registry.by_id()[ref.entry]
    estimate = next(e for e in entry.estimates if e.id == ref.estimate)
    return f"{estimate.label}: {estimate.render()} ({registry.citations[estimate.source].render()})"


def record_use(checklist: Checklist, item_ids: list[str]) -> Checklist:
    """A copy of the checklist with these items marked as used; unknown ids are refused."""
    known = {item.id for item in checklist.items()}
    unknown = [i for i in item_ids if i not in known]
    if unknown:
        raise InvalidInputError(
            "checklist",
            [
                FieldProblem("item", i, "an item of this checklist: " + ", ".join(sorted(known)))
                for i in unknown
            ],
        )
    wanted = set(item_ids)
    sections = [
        replace(s, items=[replace(i, used=i.used or i.id in wanted) for i in s.items])
        for s in checklist.sections
    ]
    return replace(checklist, sections=sections)


def _fill(text: str, profile: Profile, reason: str, recommendations: str) -> str:
    text = text.replace("{alert.reason}", reason).replace("{recommendations}", recommendations)
    return fill(text, profile)


def _tag(status: Status | None) -> str:
    tag = status_tag(status)
    return f" {tag}" if tag else ""

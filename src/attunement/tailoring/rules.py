"""The tailoring rules as data, and the checks that keep them honest.

Rules live in ``rules.json`` so that a clinic can read and edit them without touching code. On
load every rule is checked: it must cite a registry entry that exists (a recommendation cites an
element or adaptation, a caution a practice that does not work), its conditions must name real
profile dimensions and categories, and its wording may only quote profile fields that exist.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from attunement.datafiles import load_json_model
from attunement.errors import DefinitionError
from attunement.evidence import Registry, load_registry
from attunement.profile.model import CATEGORIES, DIMENSIONS, Profile, Strength, label

RULES_FILE = Path(__file__).with_name("rules.json")
PLACEHOLDER = re.compile(r"\{([a-z_]+)\.(value|label|evidence|strength)\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """One test on one profile dimension; a rule applies when all of its conditions hold."""

    dimension: str
    one_of: list[str] | None = None
    not_in: list[str] | None = None
    strength: list[Strength] | None = None
    recorded: bool | None = None

    @model_validator(mode="after")
    def _says_something(self) -> Condition:
        if self.dimension not in DIMENSIONS:
            raise ValueError(f"unknown profile dimension {self.dimension!r}")
        if all(v is None for v in (self.one_of, self.not_in, self.strength, self.recorded)):
            raise ValueError(f"condition on {self.dimension} tests nothing")
        allowed = CATEGORIES.get(self.dimension)
        for value in [*(self.one_of or []), *(self.not_in or [])]:
            if allowed is None or value not in allowed:
                raise ValueError(f"{value!r} is not a category of {self.dimension}")
        return self

    def holds(self, profile: Profile) -> bool:
        obs = profile.get(self.dimension)
        if self.recorded is not None and (obs is not None) != self.recorded:
            return False
        if self.one_of is not None and (obs is None or obs.value not in self.one_of):
            return False
        if self.not_in is not None and obs is not None and obs.value in self.not_in:
            return False
        return not (self.strength is not None and (obs is None or obs.strength not in self.strength))


def all_hold(conditions: list[Condition], profile: Profile) -> bool:
    return all(c.holds(profile) for c in conditions)


class Bonus(_Strict):
    when: list[Condition] = Field(min_length=1)
    add: int = Field(ge=1)


class Detail(_Strict):
    when: list[Condition] = Field(min_length=1)
    text: str


class Rule(_Strict):
    """Profile -> one recommendation tied to one registry entry."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    entry: str
    see_also: list[str] = []
    when: list[Condition] = Field(min_length=1)
    fit: int = Field(ge=1, description="how directly the client's answers point to this rule")
    fit_bonus: list[Bonus] = []
    title: str
    actions: list[str] = Field(min_length=1)
    because: str
    details: list[Detail] = []

    def fit_for(self, profile: Profile) -> int:
        return self.fit + sum(b.add for b in self.fit_bonus if all_hold(b.when, profile))

    def templates(self) -> list[tuple[str, list[Condition]]]:
        """Each piece of wording with the conditions under which it is shown."""
        return [
            (self.because, self.when),
            *((a, self.when) for a in self.actions),
            *((d.text, self.when + d.when) for d in self.details),
        ]


class CautionRule(_Strict):
    """Profile -> a caution from the practices that do not work; no conditions means always."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    entry: str
    support: str | None = Field(default=None, description="registry entry that holds the supporting evidence")
    when: list[Condition] = []
    title: str
    text: str
    because: str | None = None

    def templates(self) -> list[tuple[str, list[Condition]]]:
        return [(self.text, self.when)] + ([(self.because, self.when)] if self.because else [])


class RuleSet(_Strict):
    version: str
    description: str
    recommendations: list[Rule] = Field(min_length=1)
    cautions: list[CautionRule] = []


def rule_problems(rules: RuleSet, registry: Registry) -> list[str]:
    """Everything that would make a rule cite nothing, or say something it cannot fill in."""
    entries = registry.by_id()
    problems: list[str] = []
    ids = [r.id for r in rules.recommendations] + [c.id for c in rules.cautions]
    problems.extend(f"duplicate rule id {i!r}" for i in sorted({i for i in ids if ids.count(i) > 1}))
    for rule in rules.recommendations:
        entry = entries.get(rule.entry)
        if entry is None:
            problems.append(f"{rule.id}: registry entry {rule.entry!r} does not exist")
        elif entry.kind == "ineffective":
            problems.append(f"{rule.id}: recommends {rule.entry!r}, a practice that does not work")
        problems.extend(
            f"{rule.id}: see_also {s!r} does not exist" for s in rule.see_also if s not in entries
        )
        problems.extend(_template_problems(rule.id, rule.templates()))
    for caution in rules.cautions:
        entry = entries.get(caution.entry)
        if entry is None or entry.kind != "ineffective":
            problems.append(
                f"{caution.id}: {caution.entry!r} is not a registry entry for a practice that does not work"
            )
        if caution.support is not None and caution.support not in entries:
            problems.append(f"{caution.id}: supporting entry {caution.support!r} does not exist")
        problems.extend(_template_problems(caution.id, caution.templates()))
    return problems


def _template_problems(rule_id: str, templates: list[tuple[str, list[Condition]]]) -> list[str]:
    """A placeholder must name a dimension that the rule's conditions guarantee is recorded."""
    problems = []
    for text, conditions in templates:
        guaranteed = {
            c.dimension for c in conditions if c.one_of is not None or c.recorded is True or c.strength
        }
        for dimension, _field in PLACEHOLDER.findall(text):
            if dimension not in DIMENSIONS:
                problems.append(f"{rule_id}: {{{dimension}...}} is not a profile dimension")
            elif dimension not in guaranteed:
                problems.append(f"{rule_id}: quotes {dimension}, which its conditions do not require")
        leftover = PLACEHOLDER.sub("", text)
        if "{" in leftover or "}" in leftover:
            problems.append(f"{rule_id}: malformed placeholder in {text!r}")
    return problems


def fill(text: str, profile: Profile) -> str:
    """Put the client's own data into a rule's wording."""

    def one(match: re.Match[str]) -> str:
        dimension, field = match.groups()
        obs = profile.get(dimension)
        if obs is None:  # rule_problems() makes this unreachable for shipped rules
            return f"[{dimension} not recorded]"
        if field == "evidence":
            return obs.said()
        if field == "label":
            return label(dimension, obs.value)
        if field == "strength":
            return obs.strength or "unstated"
        return obs.value

    return PLACEHOLDER.sub(one, text)


def parse_rules(data: dict, registry: Registry | None = None, origin: str = "<data>") -> RuleSet:
    try:
        rules = RuleSet.model_validate(data)
    except ValidationError as exc:
        raise DefinitionError(f"{origin}: {exc}") from exc
    problems = rule_problems(rules, registry or load_registry())
    if problems:
        raise DefinitionError(f"{origin}: " + "; ".join(problems))
    return rules


@cache
def load_rules(path: Path = RULES_FILE) -> RuleSet:
    rules = load_json_model(path, RuleSet)
    problems = rule_problems(rules, load_registry())
    if problems:
        raise DefinitionError(f"{path.name}: " + "; ".join(problems))
    return rules

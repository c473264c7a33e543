"""The tailoring rules as data, and the checks that keep them honest.

Rules live in ``rules.json`` so that a clinic can read and edit them without touching code. On
load every rule is checked: it must cite a registry entry that exists (a recommendation cites an
element or adaptation, a caution a practice that does not work), its conditions must name real
profile dimensions and categories, and its wording may only quote profile fields that exist.

Each recommendation is either about a wish the client stated (who leads, homework, kind of
therapy, language ...) or about a trait inferred from their answers (reactance, coping style,
attachment ...); which one follows from the dimensions its conditions test (``STATED`` in the
profile model), so it cannot drift from the data. A ``conflicts`` entry names two rules that must
never be listed together; the engine keeps the stated wish and shows the other as a named conflict.

A rule may also carry a ``setting`` (the case formats and participant roles it is for, see
:mod:`attunement.tailoring.case`): such a rule applies only to a case of that kind, and one with a
setting and no profile conditions is about the case itself (source ``case``). ``estimates`` names
the estimates of the entry that the rule rests on, when they are not the entry's headline ones
(e.g. the split-alliance estimate of the couple and family entry).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from attunement.datafiles import StrictModel, load_json_model
from attunement.errors import DefinitionError
from attunement.evidence import Registry, load_registry
from attunement.profile.model import CATEGORIES, DIMENSIONS, STATED, Profile, Strength, label
from attunement.tailoring.case import CaseContext, Setting

RULES_FILE = Path(__file__).with_name("rules.json")
PLACEHOLDER = re.compile(r"\{([a-z_]+)\.(value|label|evidence|strength)\}")
Source = Literal["stated", "inferred", "case"]


class Condition(StrictModel):
    """One test on one profile dimension; a rule applies when all of its conditions hold."""

    dimension: str
    one_of: list[str] | None = None
    not_in: list[str] | None = None
    strength: list[Strength] | None = None
    recorded: bool | None = None
    differs_from_service_language: bool | None = Field(
        default=None,
        description="language only: the client's language is (true) or is not (false) the service's",
    )

    @model_validator(mode="after")
    def _says_something(self) -> Condition:
        if self.dimension not in DIMENSIONS:
            raise ValueError(f"unknown profile dimension {self.dimension!r}")
        tests = (self.one_of, self.not_in, self.strength, self.recorded, self.differs_from_service_language)
        if all(v is None for v in tests):
            raise ValueError(f"condition on {self.dimension} tests nothing")
        if self.differs_from_service_language is not None and self.dimension != "language":
            raise ValueError("differs_from_service_language applies to the language dimension only")
        allowed = CATEGORIES.get(self.dimension)
        for value in [*(self.one_of or []), *(self.not_in or [])]:
            if allowed is None or value not in allowed:
                raise ValueError(f"{value!r} is not a category of {self.dimension}")
        return self

    @property
    def positive(self) -> bool:
        """Whether this condition requires the dimension to be recorded (so wording may quote it)."""
        return bool(
            self.one_of or self.strength or self.recorded is True or self.differs_from_service_language
        )

    def holds(self, profile: Profile, service_language: str | None = None) -> bool:
        obs = profile.get(self.dimension)
        if self.recorded is not None and (obs is not None) != self.recorded:
            return False
        if self.differs_from_service_language is not None:
            if obs is None:
                return False
            differs = service_language is None or not same_language(obs.value, service_language)
            if differs != self.differs_from_service_language:
                return False
        if self.one_of is not None and (obs is None or obs.value not in self.one_of):
            return False
        if self.not_in is not None and obs is not None and obs.value in self.not_in:
            return False
        return not (self.strength is not None and (obs is None or obs.strength not in self.strength))


def all_hold(conditions: list[Condition], profile: Profile, service_language: str | None = None) -> bool:
    return all(c.holds(profile, service_language) for c in conditions)


#: Words that name no language, so they never make two answers "the same language".
_NOT_A_LANGUAGE = frozenset({"and", "or", "language", "languages", "the", "only", "either", "both", "with"})


def _language_words(text: str) -> set[str]:
    """The words of a language answer, lower case, without bracketed regions or filler:
    "English (UK)" gives {"english"}, "Polish or English" gives {"polish", "english"}."""
    words = re.findall(r"[^\W\d_]+", re.sub(r"\(.*?\)", " ", text).casefold())
    return set(words) - _NOT_A_LANGUAGE


def same_language(client_language: str, service_language: str) -> bool:
    """Whether the client's stated language is one the service already works in.

    Case-insensitive and tolerant of regions and of several languages: with the service in
    "English", the answers "english", "English (UK)", "British English" and "Polish or English"
    all count as English; "Polish" does not.
    """
    return bool(_language_words(client_language) & _language_words(service_language))


class Bonus(StrictModel):
    when: list[Condition] = Field(min_length=1)
    add: int = Field(ge=1)


class Detail(StrictModel):
    when: list[Condition] = Field(min_length=1)
    text: str


class Rule(StrictModel):
    """Profile (and, with a ``setting``, the kind of case) -> one recommendation tied to one
    registry entry."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    entry: str
    estimates: list[str] = Field(
        default=[], description="the entry's estimates this rule rests on; its headline ones when empty"
    )
    see_also: list[str] = []
    setting: Setting | None = Field(default=None, description="the case formats and roles it is for")
    when: list[Condition] = []
    fit: int = Field(ge=1, description="how directly the client's answers point to this rule")
    fit_bonus: list[Bonus] = []
    title: str
    actions: list[str] = Field(min_length=1)
    because: str
    details: list[Detail] = []

    @model_validator(mode="after")
    def _applies_to_someone(self) -> Rule:
        if not self.when and self.setting is None:
            raise ValueError(f"rule {self.id}: needs profile conditions ('when'), a 'setting', or both")
        return self

    def fits_case(self, case: CaseContext) -> bool:
        """Whether the rule is for this kind of case (a rule without a setting is for every case)."""
        return self.setting is None or self.setting.holds(case)

    def fit_for(self, profile: Profile) -> int:
        return self.fit + sum(b.add for b in self.fit_bonus if all_hold(b.when, profile))

    @property
    def source(self) -> Source:
        """``stated`` when the rule answers a wish the client stated, ``case`` when it rests on the
        kind of case (its setting) and no wish, ``inferred`` when it rests only on traits read
        from their answers."""
        found = source_of(self.when)
        return "case" if found == "inferred" and self.setting is not None else found

    def templates(self) -> list[tuple[str, list[Condition]]]:
        """Each piece of wording with the conditions under which it is shown."""
        return [
            (self.because, self.when),
            *((a, self.when) for a in self.actions),
            *((d.text, self.when + d.when) for d in self.details),
        ]


class CautionRule(StrictModel):
    """Profile -> a caution from the practices that do not work; no conditions means always."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    entry: str
    support: str | None = Field(default=None, description="registry entry that holds the supporting evidence")
    when: list[Condition] = []
    when_any: list[Condition] = Field(
        default=[], description="at least one of these must hold too; each that holds is quoted"
    )
    title: str
    text: str
    because: str | None = None

    @model_validator(mode="after")
    def _quotable(self) -> CautionRule:
        # Each when_any condition that holds is quoted, so it must need the answer recorded.
        unquotable = [c.dimension for c in self.when_any if not c.positive]
        if unquotable:
            raise ValueError(
                f"caution {self.id}: when_any conditions must need the answer recorded "
                f"(one_of, strength, recorded: true or differs_from_service_language: true); "
                f"not so on {', '.join(unquotable)}"
            )
        return self

    def applies(self, profile: Profile, service_language: str | None = None) -> bool:
        return all_hold(self.when, profile, service_language) and (
            not self.when_any or any(c.holds(profile, service_language) for c in self.when_any)
        )

    @property
    def general(self) -> bool:
        """A caution for every client (no conditions), shown after the ones this profile calls for."""
        return not self.when and not self.when_any

    def templates(self) -> list[tuple[str, list[Condition]]]:
        return [(self.text, self.when)] + ([(self.because, self.when)] if self.because else [])


class Conflict(StrictModel):
    """A recommendation inferred from traits that contradicts what the client asked for.

    When the trait's rule and any of the wishes' rules apply (and ``when`` holds), the trait's
    recommendation is not listed; it is shown in a named conflict beside the wish, with ``talk``
    saying how to talk the difference through with the client. A wish is never dropped for a trait.
    """

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    trait: str = Field(description="id of the recommendation inferred from traits")
    wishes: list[str] = Field(min_length=1, description="ids of recommendations for stated wishes")
    when: list[Condition] = Field(default=[], description="extra conditions, e.g. which therapy type")
    about: str = Field(description="what they disagree about, in a few words")
    talk: str = Field(description="how to talk the difference through with the client")


class RuleSet(StrictModel):
    version: str
    description: str
    recommendations: list[Rule] = Field(min_length=1)
    cautions: list[CautionRule] = []
    conflicts: list[Conflict] = []


def source_of(conditions: list[Condition]) -> Source:
    """A rule is about a stated wish when any dimension it requires is one the client states."""
    return "stated" if any(c.positive and c.dimension in STATED for c in conditions) else "inferred"


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
        else:
            known = {e.id for e in entry.estimates}
            problems.extend(
                f"{rule.id}: {rule.entry} has no estimate {e!r}" for e in rule.estimates if e not in known
            )
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
    rules_by_id = {r.id: r for r in rules.recommendations}
    for conflict in rules.conflicts:
        for rid in [conflict.trait, *conflict.wishes]:
            if rid not in rules_by_id:
                problems.append(f"conflict {conflict.id}: no recommendation {rid!r}")
        trait = rules_by_id.get(conflict.trait)
        if trait is not None and trait.source != "inferred":
            problems.append(
                f"conflict {conflict.id}: {trait.id} answers a stated wish, not an inferred trait"
            )
        problems.extend(
            f"conflict {conflict.id}: {w} rests on inferred traits, not on a stated wish"
            for w in conflict.wishes
            if w in rules_by_id and rules_by_id[w].source != "stated"
        )
    return problems


def _template_problems(rule_id: str, templates: list[tuple[str, list[Condition]]]) -> list[str]:
    """A placeholder must name a dimension that the rule's conditions guarantee is recorded."""
    problems = []
    for text, conditions in templates:
        guaranteed = {c.dimension for c in conditions if c.positive}
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


def parse_rules(data: dict[str, Any], registry: Registry | None = None, origin: str = "<data>") -> RuleSet:
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

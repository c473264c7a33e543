"""The shape of the evidence registry: relationship elements, client adaptations and the practices
that do not work, as assessed by the APA interdivisional task forces (2011 and 2018/19).

Why these models are strict: every effect size shown to a clinician must say where it comes from and
how far it was checked. A number without a citation or without a verification status is refused
when the registry loads, and every rendering method below appends the status of a number that is
not verified, so no display path can drop the "unverified" label.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import Field, model_validator

from attunement.datafiles import StrictModel
from attunement.instruments.definition import Status, status_tag

TaskForce = Literal["2011", "2018"]
Kind = Literal["element", "adaptation", "ineffective"]
Metric = Literal["r", "d", "g", "OR"]

# A number in free text that is not a four-digit year (1900-2099) needs a verification status.
_NUMBER = re.compile(r"(?<![\w.])(?:\d+(?:[.,]\d+)*|\.\d+)(?![\w])")
_YEAR = re.compile(r"^(19|20)\d\d$")


def has_clinical_number(text: str) -> bool:
    """Whether ``text`` holds a number other than a year, so it needs a status."""
    return any(not _YEAR.match(m.group(0)) for m in _NUMBER.finditer(text))


def suffix(status: Status | None) -> str:
    """`` [unverified: recalled]`` to append to a value; empty for verified values and untagged text."""
    tag = status_tag(status)
    return f" {tag}" if tag else ""


class RatingLevel(StrEnum):
    """The task forces' consensus categories, normalised so that they can be ordered."""

    DEMONSTRABLY = "demonstrably effective"
    PROBABLY = "probably effective"
    PROMISING = "promising but insufficient research"
    INSUFFICIENT = "insufficient research"
    NOT_YET_INVESTIGATED = "important but not yet investigated"
    NOT_EFFECTIVE = "not effective"

    @property
    def rank(self) -> int:
        """Order of strength, for ranking only: a label, never a computed rating."""
        return {
            RatingLevel.DEMONSTRABLY: 3,
            RatingLevel.PROBABLY: 2,
            RatingLevel.PROMISING: 1,
            RatingLevel.INSUFFICIENT: 1,
            RatingLevel.NOT_YET_INVESTIGATED: 0,
            RatingLevel.NOT_EFFECTIVE: 0,
        }[self]


class Citation(StrictModel):
    reference: str = Field(min_length=5)
    doi: str | None = None
    status: Status = Field(description="how far the bibliographic details themselves were checked")
    note: str | None = None

    def render(self) -> str:
        doi = f", doi:{self.doi}" if self.doi else ""
        return f"{self.reference}{doi}{suffix(self.status)}"


class Note(StrictModel):
    """A sentence of context. Text that carries a clinical number must carry a status too."""

    text: str = Field(min_length=3)
    status: Status | None = None
    source: str | None = Field(default=None, description="citation id; defaults to the enclosing record's")

    @model_validator(mode="after")
    def _numbers_have_status(self) -> Note:
        if self.status is None and has_clinical_number(self.text):
            raise ValueError(f"note {self.text!r} holds a number but no verification status")
        return self

    def render(self) -> str:
        return self.text + suffix(self.status)


class Finding(Note):
    """A result stated in words (qualitative syntheses, directions, list memberships)."""

    source: str


class Number(StrictModel):
    value: float
    status: Status
    source: str | None = Field(default=None, description="citation id when it differs from the estimate's")
    qualifier: Literal[">", "about"] | None = None
    note: str | None = None

    def render(self) -> str:
        return _plain(self.value, self.qualifier) + suffix(self.status)


class Count(Number):
    """k or N, with the unit the source counts in (studies, samples, data sources, clients ...).

    ``unit`` stays empty when the source does not name it: k may count studies, samples or data
    sources depending on the paper, and guessing would misreport it.
    """

    unit: str | None = Field(default=None, min_length=2)

    def render(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{_plain(self.value, self.qualifier)}{unit}{suffix(self.status)}"


class MetricValue(StrictModel):
    metric: Metric
    value: Number

    def render(self) -> str:
        return f"{self.metric} = {self.value.render()}"


class Interval(StrictModel):
    low: float
    high: float
    status: Status
    source: str | None = None
    published_as: str | None = Field(default=None, description="the form printed in the source, e.g. '± .06'")

    @model_validator(mode="after")
    def _ordered(self) -> Interval:
        if self.low > self.high:
            raise ValueError(f"interval low {self.low} is above high {self.high}")
        return self

    def render(self) -> str:
        return f"95% CI [{_plain(self.low)}, {_plain(self.high)}]{suffix(self.status)}"


class Estimate(StrictModel):
    """One effect estimate from one meta-analysis: metric, value, CI, k and N, each with a status."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    label: str
    task_force: TaskForce | None = Field(description="null for syntheses outside the task forces")
    source: str = Field(description="citation id")
    primary: bool = Field(default=False, description="shown in one-line summaries")
    metric: Metric
    value: Number
    equivalents: list[MetricValue] = Field(default=[], description="the same effect in another metric")
    alternative_values: list[Number] = Field(default=[], description="a differing figure in the same source")
    ci: Interval | None = None
    significant: bool | None = Field(default=None, description="false when the source reports it as ns")
    k: list[Count] = []
    n: list[Count] = []
    or_direction: str | None = Field(
        default=None, description="what the odds ratio compares and which direction favours the adaptation"
    )
    details: list[Note] = []

    @model_validator(mode="after")
    def _odds_ratio_direction(self) -> Estimate:
        if self.metric == "OR" and not self.or_direction:
            raise ValueError(f"estimate {self.id}: an odds ratio needs or_direction")
        return self

    def numbers(self) -> list[Number]:
        """Every number of this estimate, for checks that each one is cited."""
        found = [self.value, *(e.value for e in self.equivalents), *self.alternative_values, *self.k, *self.n]
        return found

    def render(self) -> str:
        """One line with every number and its status, e.g. ``r = .24 [unverified: recalled]; 95% CI ...``."""
        parts = [f"{self.metric} = {self.value.render()}"]
        parts += [
            f"{a.render()} in another part of the same source" + (f" ({a.note})" if a.note else "")
            for a in self.alternative_values
        ]
        parts += [e.render() for e in self.equivalents]
        if self.significant is False:
            parts.append("not significant")
        if self.ci is not None:
            parts.append(self.ci.render())
        if self.k:
            parts.append("k = " + " / ".join(c.render() for c in self.k))
        if self.n:
            parts.append("N = " + " + ".join(c.render() for c in self.n))
        if self.or_direction:
            parts.append(f"direction: {self.or_direction}")
        return "; ".join(parts)


class Rating(StrictModel):
    """A task force's consensus label for one element or adaptation (never computed from numbers)."""

    task_force: TaskForce
    level: RatingLevel
    label: str = Field(description="the category wording of that task force")
    assessed_as: Literal["element", "adaptation"]
    source: str
    status: Status

    def render(self) -> str:
        return f"{self.task_force}: {self.label}{suffix(self.status)}"


class Caution(StrictModel):
    text: str
    see: str = Field(description="id of the registry entry for the practice that does not work")


class Entry(StrictModel):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    kind: Kind
    aliases: list[str] = []
    definition: str = Field(min_length=20, description="written for attunement")
    ratings: list[Rating] = []
    estimates: list[Estimate] = []
    findings: list[Finding] = []
    practice: list[str] = Field(default=[], description="practice recommendations, written for attunement")
    does_not_work: list[Caution] = []
    related: list[str] = Field(default=[], description="ids of entries that hold the supporting evidence")
    citations: list[str] = Field(min_length=1)
    flags: list[Note] = Field(default=[], description="inconsistencies and open checks on this record")

    @model_validator(mode="after")
    def _unique_estimates(self) -> Entry:
        ids = [e.id for e in self.estimates]
        if len(ids) != len(set(ids)):
            raise ValueError(f"entry {self.id}: duplicate estimate ids")
        years = [r.task_force for r in self.ratings]
        if len(years) != len(set(years)):
            raise ValueError(f"entry {self.id}: more than one rating per task force")
        return self

    def rating(self, task_force: TaskForce) -> Rating | None:
        return next((r for r in self.ratings if r.task_force == task_force), None)

    def verified_rating(self) -> Rating | None:
        """The most recent rating whose status is verified.

        Ranking uses only this: ratings still tagged unverified are shown but must not drive
        tailoring until someone checks them and changes their status in the data file.
        """
        verified = [r for r in self.ratings if r.status.is_verified]
        return max(verified, key=lambda r: r.task_force) if verified else None

    @property
    def strength(self) -> int:
        rating = self.verified_rating()
        return rating.level.rank if rating else 0

    def strength_text(self) -> str:
        """The ratings in plain words, each with its status, for explanations."""
        if not self.ratings:
            return "not rated by the task forces"
        return "; ".join(r.render() for r in sorted(self.ratings, key=lambda r: r.task_force))

    def headline(self) -> list[Estimate]:
        return [e for e in self.estimates if e.primary]

    def headline_text(self) -> str:
        return estimates_text(self.headline())


def estimates_text(estimates: list[Estimate]) -> str:
    """Estimates in one line, each with its task force and label (an entry's headline, or the
    ones a tailoring rule names)."""
    parts = [f"{e.task_force or 'other synthesis'}, {e.label}: {e.render()}" for e in estimates]
    return " | ".join(parts) if parts else "no pooled effect size"


class Registry(StrictModel):
    version: str
    description: str
    citations: dict[str, Citation]
    entries: list[Entry] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Registry:
        problems = registry_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def by_id(self) -> dict[str, Entry]:
        return {e.id: e for e in self.entries}


def registry_problems(registry: Registry) -> list[str]:
    """Dangling citations, dangling cross-references and duplicate ids."""
    problems: list[str] = []
    ids = [e.id for e in registry.entries]
    if len(ids) != len(set(ids)):
        problems.append("duplicate entry ids")
    known = set(ids)
    kinds = {e.id: e.kind for e in registry.entries}

    def cite(ref: str | None, where: str) -> None:
        if ref is not None and ref not in registry.citations:
            problems.append(f"{where} cites {ref!r}, which is not in citations")

    for entry in registry.entries:
        for ref in entry.citations:
            cite(ref, f"{entry.id}.citations")
        for rating in entry.ratings:
            cite(rating.source, f"{entry.id} rating {rating.task_force}")
        for finding in [*entry.findings, *entry.flags]:
            cite(finding.source, f"{entry.id} finding")
        for est in entry.estimates:
            cite(est.source, f"{entry.id}.{est.id}")
            for number in est.numbers():
                cite(number.source, f"{entry.id}.{est.id} number")
            if est.ci is not None:
                cite(est.ci.source, f"{entry.id}.{est.id} CI")
            for note in est.details:
                cite(note.source, f"{entry.id}.{est.id} detail")
        for caution in entry.does_not_work:
            if kinds.get(caution.see) != "ineffective":
                problems.append(
                    f"{entry.id}: caution refers to {caution.see!r}, not a practice that does not work"
                )
        problems.extend(
            f"{entry.id}: related entry {r!r} is unknown" for r in entry.related if r not in known
        )
    return problems


def _plain(value: float, qualifier: str | None = None) -> str:
    """Counts with thousands separators; effect sizes with at least two decimals, as published."""
    if float(value).is_integer():
        text = f"{int(value):,}"
    else:
        text = f"{value:.2f}" if round(value, 2) == value else f"{value:.3f}".rstrip("0")
    prefix = {">": "more than ", "about": "about "}.get(qualifier or "", "")
    return prefix + text

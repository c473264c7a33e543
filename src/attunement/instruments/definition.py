"""The shape of an instrument definition file.

One JSON file per instrument holds a FHIR ``Questionnaire`` (the form: R4 JSON, checked with the
``fhir.resources`` R4B models, as that library has no R4 package and R4B's Questionnaire has R4's
elements), a ``scoring`` section (how answers become scores) and a ``licence`` block (whether the
item wording may be shipped). FHIR tools get the form from
:func:`attunement.fhir.questionnaires.handed_out`, with a canonical address.
Every clinical number in the scoring section carries its source and a verification status, so
the product can show unverified values as such.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from enum import StrEnum
from functools import cached_property
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from attunement.datafiles import StrictModel
from attunement.errors import DefinitionError

ORDINAL_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
MIN_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/maxValue"


class Status(StrEnum):
    """How far a number has been checked against its source."""

    VERIFIED = "verified"
    REPRODUCED = "verified: reproduced"
    VENDOR_CLAIM = "verified: vendor claim"
    RECALLED = "unverified: recalled"
    SECONDARY = "unverified: secondary"
    DERIVED = "unverified: derived"
    PROJECT_CHOICE = "project choice"

    @property
    def is_verified(self) -> bool:
        return self.value.startswith("verified")


def status_tag(status: Status | None) -> str:
    """A short tag for displays, e.g. ``[unverified: secondary]``; empty when verified or unknown."""
    return "" if status is None or status.is_verified else f"[{status.value}]"


class Cited(StrictModel):
    """A clinical fact with where it comes from and how far it was checked."""

    source: str = Field(min_length=3)
    status: Status
    note: str | None = None

    @property
    def tag(self) -> str:
        """A short tag for displays, e.g. ``[unverified: secondary]``; empty when verified."""
        return status_tag(self.status)


class CitedNumber(Cited):
    value: float


class Band(StrictModel):
    min: float
    max: float
    label: str


class Bands(Cited):
    """Severity bands; a score belongs to the last band whose ``min`` it reaches."""

    bands: list[Band] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        for lower, upper in zip(self.bands, self.bands[1:], strict=False):
            if not (lower.min <= lower.max < upper.min):
                raise ValueError(f"bands overlap or are out of order at {lower.label!r} / {upper.label!r}")
        return self

    def classify(self, total: float) -> str | None:
        if total < self.bands[0].min or total > self.bands[-1].max:
            return None
        chosen = self.bands[0]
        for band in self.bands:
            if total >= band.min:
                chosen = band
        return chosen.label


class CriticalItem(Cited):
    """An item whose endorsement must reach a person (e.g. PHQ-9 item 9, thoughts of self-harm)."""

    item: str
    min_value: float
    flag: str
    reason: str


Comparison = Literal[">=", ">", "<=", "<"]


def compare(value: float, rule: Comparison, threshold: float) -> bool:
    return {
        ">=": value >= threshold,
        ">": value > threshold,
        "<=": value <= threshold,
        "<": value < threshold,
    }[rule]


Method = Literal["sum", "mean", "mean_x10"]


class Caseness(Cited):
    """The clinical cut-off: a score meeting ``rule value`` is in the clinical range."""

    value: float
    rule: Comparison

    def is_case(self, total: float) -> bool:
        return compare(total, self.rule, self.value)


class Subscale(StrictModel):
    id: str
    label: str
    items: list[str] = Field(min_length=1)
    method: Method = "sum"
    max_missing: int = Field(default=0, ge=0)
    key: Cited | None = None
    #: A published screening cut-off for the subscale alone (e.g. each pair of the PHQ-4).
    screen: Caseness | None = None


class ReliableChange(Cited):
    """One published reliable-change parameter set: a raw threshold, or an SD and a reliability."""

    id: str
    population: str
    default: bool = False
    rule: Literal[">=", ">"] = Field(
        default=">", description="whether a change equal to the threshold counts as reliable"
    )
    threshold: float | None = Field(default=None, gt=0)
    sd: float | None = Field(default=None, gt=0)
    reliability: float | None = Field(default=None, gt=0, lt=1)

    @model_validator(mode="after")
    def _complete(self) -> ReliableChange:
        if self.threshold is None and (self.sd is None or self.reliability is None):
            raise ValueError(f"reliable-change set {self.id!r} needs a threshold, or both sd and reliability")
        return self


class Norms(Cited):
    """Clinical and functional population means and SDs, for clinical-significance criteria."""

    clinical_mean: float | None = None
    clinical_sd: float | None = Field(default=None, gt=0)
    functional_mean: float | None = None
    functional_sd: float | None = Field(default=None, gt=0)


class Composite(Cited):
    """A weighted sum of subscale scores, e.g. URICA readiness = C + A + M - PC."""

    id: str
    label: str
    weights: dict[str, float] = Field(min_length=1)


class Scoring(StrictModel):
    items: list[str] = Field(min_length=1, description="scored linkIds, in form order")
    method: Method | None = Field(description="how the total is formed; null when there is no total")
    response_scale: Cited | None = Field(
        default=None,
        description="where the answer values come from, for forms whose wording is not shipped",
    )
    reverse: list[str] = []
    reverse_key: Cited | None = None
    max_missing: CitedNumber
    range: tuple[float, float] | None = Field(default=None, description="possible total range")
    subscales: list[Subscale] = []
    composites: list[Composite] = []
    bands: Bands | None = None
    critical_items: list[CriticalItem] = []
    reliable_change: list[ReliableChange] = []
    caseness: Caseness | None = None
    norms: Norms | None = None


class Licence(StrictModel):
    tier: Literal["ship", "nc_nd_pack", "import_only", "project"]
    item_text_shipped: bool
    holder: str
    terms: str
    attribution: str | None = None
    source: str
    status: Status

    @model_validator(mode="after")
    def _text_only_where_allowed(self) -> Licence:
        # NC/ND and import-only wording may never sit in this repository, whatever the file claims.
        if self.item_text_shipped and self.tier in ("nc_nd_pack", "import_only"):
            raise ValueError(f"licence tier {self.tier!r} forbids shipping item text")
        return self


class ItemSpec(StrictModel):
    """What one form item accepts, read from the FHIR Questionnaire."""

    link_id: str
    type: str
    text: str | None
    code: str | None
    allowed: tuple[float, ...] | None = None
    min: float | None = None
    max: float | None = None
    required: bool = False

    def accepts(self, value: float) -> bool:
        if self.allowed is not None:
            return any(math.isclose(value, a) for a in self.allowed)
        if self.min is not None and value < self.min:
            return False
        return not (self.max is not None and value > self.max)

    def expected(self) -> str:
        if self.allowed is not None:
            return "one of " + ", ".join(_fmt(a) for a in self.allowed)
        if self.type == "integer":
            return f"a whole number from {_fmt(self.min)} to {_fmt(self.max)}"
        return f"a number from {_fmt(self.min)} to {_fmt(self.max)}"

    @property
    def low(self) -> float:
        if self.allowed is not None:
            return min(self.allowed)
        if self.min is None:
            raise DefinitionError(f"item {self.link_id}: neither answer options nor a minimum")
        return float(self.min)

    @property
    def high(self) -> float:
        if self.allowed is not None:
            return max(self.allowed)
        if self.max is None:
            raise DefinitionError(f"item {self.link_id}: neither answer options nor a maximum")
        return float(self.max)


def _fmt(x: float | None) -> str:
    if x is None:
        return "?"
    return str(int(x)) if float(x).is_integer() else str(x)


class Instrument(StrictModel):
    """A questionnaire definition: the FHIR form, its scoring and its licence."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    short_name: str
    domain: str
    rater: Literal["client", "therapist", "caregiver"] = "client"
    direction: Literal["lower_is_better", "higher_is_better", "neither"] = Field(
        description='"neither" for measures with no better end, such as therapy preferences'
    )
    validated: bool = True
    description: str
    interpretation: str | None = None
    licence: Licence
    questionnaire: dict[str, Any]
    scoring: Scoring

    @cached_property
    def items(self) -> dict[str, ItemSpec]:
        """Every answerable item of the form, by linkId, in form order."""
        return {spec.link_id: spec for spec in _walk_items(self.questionnaire.get("item", []))}

    @property
    def higher_is_worse(self) -> bool:
        return self.direction == "lower_is_better"

    def default_reliable_change(self) -> ReliableChange | None:
        sets = self.scoring.reliable_change
        return next((s for s in sets if s.default), sets[0] if sets else None)

    def reliable_change_set(self, set_id: str) -> ReliableChange:
        for s in self.scoring.reliable_change:
            if s.id == set_id:
                return s
        known = ", ".join(s.id for s in self.scoring.reliable_change) or "none"
        raise KeyError(f"{self.id}: no reliable-change set {set_id!r}; expected one of: {known}")

    def item_text(self, link_id: str) -> str:
        """The wording to show for an item; the item id when the wording is not shipped."""
        spec = self.items[link_id]
        return spec.text or f"[{link_id}: licensed wording not installed]"


def _walk_items(items: list[dict[str, Any]]) -> Iterator[ItemSpec]:
    for item in items:
        if item.get("type") == "group":
            yield from _walk_items(item.get("item", []))
        elif item.get("type") != "display":
            yield _item_spec(item)


def _item_spec(item: dict[str, Any]) -> ItemSpec:
    code = next((c.get("code") for c in item.get("code", []) if c.get("code")), None)
    base = {
        "link_id": item["linkId"],
        "type": item["type"],
        "text": item.get("text"),
        "code": code,
        "required": bool(item.get("required", False)),
    }
    if item["type"] == "choice":
        return ItemSpec(**base, allowed=tuple(_option_value(o, item["linkId"]) for o in item["answerOption"]))
    if item["type"] in ("integer", "decimal"):
        ext = {e["url"]: e for e in item.get("extension", [])}
        return ItemSpec(
            **base, min=_ext_number(ext.get(MIN_VALUE_URL)), max=_ext_number(ext.get(MAX_VALUE_URL))
        )
    return ItemSpec(**base)


def _option_value(option: dict[str, Any], link_id: str) -> float:
    value = option_ordinal(option)
    if value is None:
        raise ValueError(
            f"item {link_id}: answer option {option!r} has neither valueInteger nor an ordinalValue"
        )
    return value


def option_ordinal(option: dict[str, Any]) -> float | None:
    """The number an answer option scores as: its ``valueInteger``, or its ordinalValue extension.

    The shipped forms put the extension on the option itself (``answerOption.extension``), where
    FHIR tools read it (LHC-Forms' totals, FHIRPath's ``weight()``); a clinic's own form may carry
    it on the option's coding instead, which is read too."""
    if "valueInteger" in option:
        return float(option["valueInteger"])
    coding = option.get("valueCoding", {})
    for ext in option.get("extension", []) + coding.get("extension", []):
        if ext.get("url") == ORDINAL_VALUE_URL and "valueDecimal" in ext:
            return float(ext["valueDecimal"])
    return None


def _ext_number(ext: dict[str, Any] | None) -> float | None:
    if ext is None:
        return None
    for key in ("valueInteger", "valueDecimal"):
        if key in ext:
            return float(ext[key])
    return None

"""NHS Talking Therapies (England) paired outcomes: caseness, reliable change, recovery, rates.

NHS Talking Therapies judges a course of treatment on two measures at once: PHQ-9 for depression
and an anxiety-disorder-specific measure (GAD-7 unless a disorder-specific one applies), each
compared between its first and last score. This module follows the official constructions:

- **caseness**: at or above the cut-off on either measure;
- **recovery**: at caseness at the first measurement and below the cut-off on *both* at the last;
- **reliable recovery**, all five official conditions: both measures have a last score; reliable
  improvement on either; reliable deterioration on neither; at caseness first; at caseness on
  neither last (not the simplified "recovery plus reliable improvement");
- **reliable improvement / deterioration / no reliable change** of a course. How the two measures
  combine here is not recorded in the sources consulted, so this is a project choice:
  *improvement* = reliable improvement on either measure and reliable deterioration on neither;
  *deterioration* = reliable deterioration on either measure (whatever the other did);
  *no reliable change* = neither. Every paired course is exactly one of the three.

The thresholds are not written here. They come from the instrument definitions (PHQ-9 caseness
10 and change 6, GAD-7 caseness 8 and change 4, each with the rule ">=") and are currently
"unverified: secondary"; every result carries them, with that status, so that a report can show
them as unverified. The definitions and the national rate denominators live in
``parameters/nhs_talking_therapies.json`` with their sources.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from attunement.change.clinical_significance import Cutoff, cutoff_for
from attunement.change.elementwise import check_direction
from attunement.change.reliable_change import (
    ChangeThreshold,
    reliable_deterioration,
    reliable_improvement,
    threshold_for,
)
from attunement.datafiles import load_json_model
from attunement.errors import FieldProblem, InvalidInputError
from attunement.instruments.definition import Cited, CitedNumber, Instrument, Status, status_tag
from attunement.instruments.registry import get_instrument

PARAMETERS_FILE = Path(__file__).with_name("parameters") / "nhs_talking_therapies.json"

#: Output columns of :func:`paired_outcomes` that describe a whole course.
OUTCOMES = (
    "reliable_improvement",
    "reliable_deterioration",
    "no_reliable_change",
    "recovery",
    "reliable_recovery",
)
#: The counts that :func:`service_rates` reads, named as in the national statistics.
COUNTS = (
    "finished_course_treatment",
    "not_at_caseness",
    "recovery",
    "reliable_recovery",
    "improvement",
    "no_reliable_change",
    "deterioration",
)


class Definition(Cited):
    """One outcome definition in words, with its source and status."""

    text: str


class CitedChoice(Cited):
    value: str


class RateDefinition(Cited):
    """A national rate: ``numerator / (denominator - minus)`` as a percentage."""

    numerator: str
    denominator: str
    minus: str | None = None


class Parameters(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str
    depression_measure: str
    anxiety_measure: CitedChoice
    reliable_change_set: str
    finished_course: CitedNumber
    definitions: dict[str, Definition]
    rates: dict[str, RateDefinition]


@cache
def parameters(path: Path = PARAMETERS_FILE) -> Parameters:
    """The definitions file beside this module, checked."""
    return load_json_model(path, Parameters)


@dataclass(frozen=True)
class ThresholdInfo:
    """One threshold in use, for reports: what, how much, by which rule, from where, how checked."""

    measure: str
    instrument: str
    kind: str
    value: float
    rule: str
    source: str | None
    status: Status | None

    @property
    def verified(self) -> bool:
        return self.status is not None and self.status.is_verified

    @property
    def tag(self) -> str:
        return status_tag(self.status)


@dataclass(frozen=True)
class PairedMeasures:
    """The two instruments and their thresholds, as read from their definitions."""

    depression: Instrument
    anxiety: Instrument
    depression_caseness: Cutoff
    anxiety_caseness: Cutoff
    depression_change: ChangeThreshold
    anxiety_change: ChangeThreshold

    @property
    def thresholds(self) -> tuple[ThresholdInfo, ...]:
        found = []
        for measure, inst, cut, change in (
            ("depression", self.depression, self.depression_caseness, self.depression_change),
            ("anxiety", self.anxiety, self.anxiety_caseness, self.anxiety_change),
        ):
            found.append(
                ThresholdInfo(measure, inst.id, "caseness", cut.value, cut.rule, cut.source, cut.status)
            )
            found.append(
                ThresholdInfo(
                    measure,
                    inst.id,
                    "reliable_change",
                    change.points,
                    change.rule,
                    change.source,
                    change.status,
                )
            )
        return tuple(found)

    def columns(self) -> dict[str, str]:
        """The input columns expected: ``<instrument id>_first`` and ``<instrument id>_last``."""
        return {
            "depression_first": f"{self.depression.id}_first",
            "depression_last": f"{self.depression.id}_last",
            "anxiety_first": f"{self.anxiety.id}_first",
            "anxiety_last": f"{self.anxiety.id}_last",
        }


def paired_measures(anxiety: str | None = None, *, set_id: str | None = None) -> PairedMeasures:
    """PHQ-9 with GAD-7 (or the ``anxiety`` instrument named), thresholds from their definitions."""
    params = parameters()
    depression = get_instrument(params.depression_measure)
    anxious = get_instrument(anxiety or params.anxiety_measure.value)
    wanted = set_id or params.reliable_change_set
    problems = []
    for inst in (depression, anxious):
        if inst.scoring.caseness is None:
            problems.append(FieldProblem(f"{inst.id} caseness", None, "a caseness rule in the definition"))
        if wanted not in [s.id for s in inst.scoring.reliable_change]:
            problems.append(
                FieldProblem(f"{inst.id} reliable-change set", wanted, "a set defined for the instrument")
            )
    if problems:
        raise InvalidInputError("NHS Talking Therapies measures", problems)
    return PairedMeasures(
        depression=depression,
        anxiety=anxious,
        depression_caseness=cutoff_for(depression, "caseness"),
        anxiety_caseness=cutoff_for(anxious, "caseness"),
        depression_change=threshold_for(depression, wanted),
        anxiety_change=threshold_for(anxious, wanted),
    )


@dataclass(frozen=True)
class PairedOutcomes:
    """The per-course outcome table with the thresholds and definitions that produced it."""

    table: pd.DataFrame
    thresholds: tuple[ThresholdInfo, ...]
    definitions: Mapping[str, Definition]

    @property
    def unverified(self) -> list[str]:
        """Every threshold and definition a report must show as not verified, with its tag."""
        found = [
            f"{t.instrument} {t.kind} {t.rule} {t.value:g} {t.tag}" for t in self.thresholds if not t.verified
        ]
        found += [f"{k} [{d.status.value}]" for k, d in self.definitions.items() if not d.status.is_verified]
        return found

    def counts(self) -> dict[str, int]:
        return service_counts(self.table)

    def rates(self) -> dict[str, float]:
        rates: dict[str, float] = service_rates(self.counts())
        return rates


def paired_outcomes(
    table: pd.DataFrame, *, anxiety: str | None = None, set_id: str | None = None
) -> PairedOutcomes:
    """Classify every course in ``table`` (one row per finished course).

    Input columns: ``phq9_first``, ``phq9_last`` and ``gad7_first``, ``gad7_last`` (or the ids of
    the instruments used). Output, on the same index, as nullable booleans:

    - ``paired``: all four scores present. The course outcomes below are missing otherwise, as
      the official constructions need both measures at both ends;
    - ``depression_caseness_first`` / ``_last``, ``anxiety_caseness_first`` / ``_last``,
      ``caseness_first``, ``caseness_last`` (either measure; known from what is present);
    - ``depression_reliable_improvement``, ``depression_reliable_deterioration`` and the same for
      ``anxiety``;
    - ``reliable_improvement``, ``reliable_deterioration``, ``no_reliable_change`` (the project's
      combination, see the module docstring), ``recovery``, ``reliable_recovery``.
    """
    measures = paired_measures(anxiety, set_id=set_id)
    columns = measures.columns()
    absent = [c for c in columns.values() if c not in table.columns]
    if absent:
        raise InvalidInputError(
            "NHS Talking Therapies outcomes",
            [FieldProblem("columns", list(table.columns), f"a column named {c!r}") for c in absent],
        )
    d_first, d_last, a_first, a_last = (table[c] for c in columns.values())
    out = pd.DataFrame(index=table.index)
    out["paired"] = pd.Series(
        d_first.notna() & d_last.notna() & a_first.notna() & a_last.notna(), dtype="boolean"
    )
    for measure, first, last, cut, change, inst in (
        (
            "depression",
            d_first,
            d_last,
            measures.depression_caseness,
            measures.depression_change,
            measures.depression,
        ),
        ("anxiety", a_first, a_last, measures.anxiety_caseness, measures.anxiety_change, measures.anxiety),
    ):
        out[f"{measure}_caseness_first"] = cut.is_clinical(first)
        out[f"{measure}_caseness_last"] = cut.is_clinical(last)
        direction = check_direction(inst.direction, "reliable change")
        out[f"{measure}_reliable_improvement"] = reliable_improvement(
            first, last, change, direction=direction
        )
        out[f"{measure}_reliable_deterioration"] = reliable_deterioration(
            first, last, change, direction=direction
        )
    # Kleene logic: "either" is known as soon as one measure says yes.
    out["caseness_first"] = out["depression_caseness_first"] | out["anxiety_caseness_first"]
    out["caseness_last"] = out["depression_caseness_last"] | out["anxiety_caseness_last"]
    improved = out["depression_reliable_improvement"] | out["anxiety_reliable_improvement"]
    deteriorated = out["depression_reliable_deterioration"] | out["anxiety_reliable_deterioration"]
    recovered = out["caseness_first"] & ~out["caseness_last"]
    outcomes = {
        "reliable_improvement": improved & ~deteriorated,
        "reliable_deterioration": deteriorated,
        "no_reliable_change": ~improved & ~deteriorated,
        "recovery": recovered,
        "reliable_recovery": improved & ~deteriorated & recovered,
    }
    unpaired = ~out["paired"].to_numpy(dtype=bool)
    for name, values in outcomes.items():
        out[name] = values.mask(unpaired)
    return PairedOutcomes(
        table=out, thresholds=measures.thresholds, definitions=dict(parameters().definitions)
    )


def service_counts(outcomes: pd.DataFrame | PairedOutcomes) -> dict[str, int]:
    """The national counts from a per-course table; every row is taken to be a finished course.

    Courses whose caseness at the start is unknown count neither as at caseness nor as not at
    caseness, and unpaired courses count in no outcome, as in the national statistics (where
    improvement + no change + deterioration fall short of the finished courses).
    """
    table = outcomes.table if isinstance(outcomes, PairedOutcomes) else outcomes
    missing = [c for c in ("caseness_first", *OUTCOMES) if c not in table.columns]
    if missing:
        raise InvalidInputError(
            "NHS Talking Therapies counts",
            [
                FieldProblem("columns", list(table.columns), f"a column named {c!r} (from paired_outcomes)")
                for c in missing
            ],
        )

    def count(column: pd.Series) -> int:
        return int(column.astype("boolean").fillna(False).sum())

    return {
        "finished_course_treatment": len(table),
        "at_caseness": count(table["caseness_first"]),
        "not_at_caseness": count(~table["caseness_first"].astype("boolean")),
        "recovery": count(table["recovery"]),
        "reliable_recovery": count(table["reliable_recovery"]),
        "improvement": count(table["reliable_improvement"]),
        "no_reliable_change": count(table["no_reliable_change"]),
        "deterioration": count(table["reliable_deterioration"]),
    }


def service_rates(counts: Mapping[str, float] | pd.DataFrame) -> Any:
    """National outcome rates in percent (unrounded), with the official denominators.

    Recovery and reliable recovery are over finished courses minus those not at caseness at the
    start; improvement, no reliable change and deterioration are over all finished courses. Give
    one set of counts as a mapping (a dict comes back) or one set per row of a DataFrame (a
    DataFrame comes back, on the same index). A zero denominator gives NaN.
    """
    single = not isinstance(counts, pd.DataFrame)
    frame: pd.DataFrame = counts if isinstance(counts, pd.DataFrame) else pd.DataFrame([dict(counts)])
    rates = parameters().rates
    needed = sorted({c for r in rates.values() for c in (r.numerator, r.denominator, r.minus) if c})
    problems = [FieldProblem(c, None, "a count") for c in needed if c not in frame.columns]
    if not problems:
        numbers = frame[needed].apply(pd.to_numeric, errors="coerce").astype(float)
        for c in needed:
            bad = numbers[c].isna() | (numbers[c] < 0)
            if bad.any():
                problems.append(FieldProblem(c, frame[c][bad].iloc[0], "a count of 0 or more"))
    if problems:
        raise InvalidInputError("NHS Talking Therapies rates", problems)
    out = pd.DataFrame(index=frame.index)
    for name, rate in rates.items():
        denominator = numbers[rate.denominator] - (numbers[rate.minus] if rate.minus else 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[name] = 100.0 * numbers[rate.numerator] / denominator.where(denominator > 0)
    if single:
        return {k: float(v) for k, v in out.iloc[0].items()}
    return out

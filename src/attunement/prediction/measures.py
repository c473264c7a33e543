"""Which outcome measures a cohort has: the one place labels, forecast and baselines ask.

Services measure different things: one uses PHQ-9 and GAD-7 with the relationship check-in, one
PHQ-9 alone, one CORE-10. Every part of the early-warning engine that depends on a measure asks a
:class:`MeasureTable` read from the cohort's own tables instead of assuming the full set, so a
method that needs something the cohort lacks can say so by name rather than crash.

An *outcome measure* is a client-rated instrument whose definition carries a published
reliable-change parameter set (``scoring.reliable_change``); only those can give outcome labels.
The numbers themselves (threshold, direction, caseness) stay in the instrument definitions
(``instruments/definitions/*.json``) with their sources and status.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from attunement.errors import FieldProblem, InvalidInputError
from attunement.instruments import get_instrument, instrument_ids
from attunement.instruments.definition import Instrument
from attunement.instruments.measure_sets import relationship_measures

#: Which measure labels a course when several are present and the paired rules do not apply:
#: the order the NHS Talking Therapies data set reports them in, then the general-distress
#: measures. A project choice of precedence, not a clinical number.
OUTCOME_PREFERENCE = ("phq9", "gad7", "core10", "core_om", "ors")
#: The measures the NHS Talking Therapies paired definitions need together.
PAIRED = ("phq9", "gad7")
#: Measures besides the outcome measures that some methods use, in plain words for messages.
OTHER_MEASURES = {
    "checkin": "the client's relationship check-in",
    "checkin_therapist": "the therapist's rating of the relationship check-in",
    "checkin_judged": "the check-in's 'felt judged' item",
    "phq9_item9": "PHQ-9 item 9 answers",
}


@cache
def outcome_instruments() -> tuple[str, ...]:
    """Ids of installed client-rated instruments with a default reliable-change set."""
    out = []
    for instrument_id in instrument_ids():
        instrument = get_instrument(instrument_id)
        if instrument.rater == "client" and instrument.default_reliable_change() is not None:
            out.append(instrument_id)
    ordered = [m for m in OUTCOME_PREFERENCE if m in out]
    return tuple(ordered + sorted(set(out) - set(ordered)))


@cache
def charted_measures() -> tuple[str, ...]:
    """The measures of the client's own state that the pages chart and the reports list: every
    outcome instrument, then the other installed client-rated instruments scored as one total
    (PHQ-4, AUDIT-C, ...), leaving out the measures of the session or the relationship
    (:func:`~attunement.instruments.measure_sets.relationship_measures`), which are shown apart.
    A measure without published change parameters is charted and listed without change marks."""
    apart = relationship_measures()
    out = list(outcome_instruments())
    for instrument_id in sorted(instrument_ids()):
        instrument = get_instrument(instrument_id)
        if (
            instrument_id not in out
            and instrument_id not in apart
            and instrument.rater == "client"
            and instrument.scoring.method is not None
        ):
            out.append(instrument_id)
    return tuple(out)


def is_outcome_measure(name: str) -> bool:
    return name in outcome_instruments()


def describe(name: str) -> str:
    """A measure's name for people: ``PHQ-9``, or the plain words of :data:`OTHER_MEASURES`."""
    if name in OTHER_MEASURES:
        return OTHER_MEASURES[name]
    try:
        return get_instrument(name).short_name or name
    except (KeyError, InvalidInputError):
        return name


@dataclass(frozen=True)
class MeasureTable:
    """The measures a cohort holds (with at least one observed value), outcome measures first."""

    present: frozenset[str]

    @classmethod
    def from_scores(cls, scores: dict[str, np.ndarray]) -> MeasureTable:
        return cls(frozenset(name for name, v in scores.items() if np.isfinite(v).any()))

    @classmethod
    def of(cls, histories) -> MeasureTable:  # noqa: ANN001 (Histories; avoids a circular import)
        return cls.from_scores(histories.scores)

    def has(self, *names: str) -> bool:
        return all(name in self.present for name in names)

    def missing(self, names) -> list[str]:  # noqa: ANN001
        return [name for name in names if name not in self.present]

    @property
    def outcome_measures(self) -> tuple[str, ...]:
        """The outcome measures present, in order of :data:`OUTCOME_PREFERENCE`."""
        return tuple(m for m in outcome_instruments() if m in self.present)

    @property
    def label_definition(self) -> str | None:
        """The definition labels will use: the paired NHS Talking Therapies rules when PHQ-9 and
        GAD-7 are both present (as before), else reliable change on the first outcome measure."""
        if self.has(*PAIRED):
            return "nhs_talking_therapies_paired"
        measures = self.outcome_measures
        return f"reliable_change:{measures[0]}" if measures else None

    def require(self, names, who: str) -> None:  # noqa: ANN001
        """Raise a plain-language error naming every measure of ``names`` this cohort lacks."""
        missing = self.missing(names)
        if missing:
            raise MissingMeasures(who, missing, self)


class MissingMeasures(InvalidInputError):
    """A method or model needs measures the data does not hold; the message names them."""

    def __init__(self, who: str, missing: list[str], table: MeasureTable) -> None:
        have = ", ".join(describe(m) for m in sorted(table.present)) or "none"
        self.missing = missing
        super().__init__(
            who,
            [
                FieldProblem(
                    f"{describe(m)} ({m})",
                    "missing from the data",
                    f"{describe(m)} rows in the measures table, which this needs (the data has: {have})",
                )
                for m in missing
            ],
        )


def instrument(name: str) -> Instrument:
    return get_instrument(name)

"""The questionnaires the simulated clinic fills in, and the outcome rules applied to them.

Scale ranges and item lists come from the instrument definitions; the caseness cut-offs and
reliable-change thresholds come from the NHS Talking Therapies outcome module
(:func:`attunement.change.nhs_talking_therapies.paired_measures`), which reads them from the same
definitions. The simulator, its exact outcome probabilities and the outcome statistics therefore
cannot disagree about a threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np

from attunement.change.clinical_significance import Cutoff
from attunement.change.nhs_talking_therapies import paired_measures
from attunement.change.reliable_change import ChangeThreshold
from attunement.instruments import get_instrument
from attunement.instruments.definition import Instrument

CHECKIN = "checkin"
CHECKIN_THERAPIST = "checkin_therapist"


@cache
def outcome_ids() -> tuple[str, str]:
    """The depression and anxiety measures of the NHS Talking Therapies pair (PHQ-9, GAD-7)."""
    pair = paired_measures()
    return pair.depression.id, pair.anxiety.id


@dataclass(frozen=True)
class OutcomeScale:
    """One outcome measure as the paired outcome rules use it (higher = worse, whole numbers)."""

    id: str
    maximum: float
    items: tuple[str, ...]
    item_max: int
    caseness: Cutoff
    change: ChangeThreshold

    def largest_not_case(self) -> float:
        """The highest whole-number score below caseness (e.g. 9 for PHQ-9 with '>= 10')."""
        c = self.caseness
        return math.ceil(c.value) - 1 if c.rule == ">=" else math.floor(c.value)

    def largest_improved(self, first: np.ndarray) -> np.ndarray:
        """The highest whole-number last score that is a reliable improvement on ``first``."""
        if self.change.rule == ">=":
            return np.floor(first - self.change.points)
        return np.ceil(first - self.change.points) - 1

    def largest_not_deteriorated(self, first: np.ndarray) -> np.ndarray:
        """The highest whole-number last score that is not a reliable deterioration from ``first``."""
        if self.change.rule == ">=":
            return np.ceil(first + self.change.points) - 1
        return np.floor(first + self.change.points)


@cache
def outcome_scale(instrument_id: str) -> OutcomeScale:
    """Range, items, caseness and reliable-change threshold of PHQ-9 or the anxiety measure."""
    pair = paired_measures()
    if instrument_id == pair.depression.id:
        inst, cut, change = pair.depression, pair.depression_caseness, pair.depression_change
    elif instrument_id == pair.anxiety.id:
        inst, cut, change = pair.anxiety, pair.anxiety_caseness, pair.anxiety_change
    else:
        raise KeyError(f"{instrument_id} is not one of the paired outcome measures {outcome_ids()}")
    if cut.direction != "lower_is_better":
        raise ValueError(f"{instrument_id}: the simulation expects higher scores to be worse")
    return OutcomeScale(
        id=inst.id,
        maximum=_maximum(inst),
        items=tuple(inst.scoring.items),
        item_max=max(int(inst.items[i].high) for i in inst.scoring.items),
        caseness=cut,
        change=change,
    )


@cache
def checkin_maximum() -> float:
    """The top of the check-in scale (both the client's and the therapist's form)."""
    maxima = {_maximum(get_instrument(i)) for i in (CHECKIN, CHECKIN_THERAPIST)}
    if len(maxima) != 1:
        raise ValueError(f"the client and therapist check-ins have different ranges: {sorted(maxima)}")
    return maxima.pop()


def _maximum(inst: Instrument) -> float:
    if inst.scoring.range is None:
        raise ValueError(f"{inst.id}: the simulation needs the score range in the definition")
    return float(inst.scoring.range[1])

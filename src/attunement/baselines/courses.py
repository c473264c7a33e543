"""Array helpers shared by the baselines: the outcome measures, and where each course stands.

All baselines judge the same two measures as the outcome labels (the NHS Talking Therapies pair,
PHQ-9 and GAD-7), read from :func:`attunement.change.nhs_talking_therapies.paired_measures` so
that the instruments, their direction and their reliable-change thresholds are never restated.
Scores are turned into *worsening* (positive = worse) so that each method's code is the same for
lower-is-better and higher-is-better scales.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attunement.change.nhs_talking_therapies import PairedMeasures, paired_measures
from attunement.change.reliable_change import ChangeThreshold, threshold_for
from attunement.instruments import get_instrument
from attunement.prediction.histories import Histories
from attunement.prediction.measures import PAIRED, MeasureTable, MissingMeasures


@dataclass(frozen=True)
class OutcomeMeasure:
    """One measure of the paired outcome: its id, which way is worse, its reliable change."""

    name: str
    worse_sign: float
    change: ChangeThreshold


def outcome_measures(measures: PairedMeasures | None = None) -> tuple[OutcomeMeasure, ...]:
    """PHQ-9 and GAD-7 (or the configured pair) with the thresholds of the outcome labels."""
    pair = measures or paired_measures()
    out = []
    for instrument, change in (
        (pair.depression, pair.depression_change),
        (pair.anxiety, pair.anxiety_change),
    ):
        sign = 1.0 if instrument.direction == "lower_is_better" else -1.0
        out.append(OutcomeMeasure(instrument.id, sign, change))
    return tuple(out)


def measures_for(reference: Histories, who: str) -> tuple[OutcomeMeasure, ...]:
    """The outcome measures a baseline judges on this cohort: the same as its outcome labels.

    PHQ-9 and GAD-7 when the cohort has both (the paired definitions, as before); otherwise the
    one measure the labels use (:attr:`MeasureTable.label_definition`), with the reliable-change
    threshold and direction of its own instrument definition. Raises a plain-language error when
    the cohort has no outcome measure at all.
    """
    table = MeasureTable.of(reference)
    if table.has(*PAIRED):
        return outcome_measures()
    if not table.outcome_measures:
        raise MissingMeasures(who, list(PAIRED), table)
    instrument = get_instrument(table.outcome_measures[0])
    sign = 1.0 if instrument.direction == "lower_is_better" else -1.0
    return (OutcomeMeasure(instrument.id, sign, threshold_for(instrument)),)


@dataclass(frozen=True)
class Latest:
    """For every client: the first and the latest observed score and when they were given.

    ``session`` is 1-based; 0 means the client has no score of this measure yet. ``count`` is
    the number of observed scores, so that rules needing two scores can stay silent.
    """

    first: np.ndarray
    value: np.ndarray
    session: np.ndarray
    count: np.ndarray


def latest(values: np.ndarray) -> Latest:
    """First and latest observed values of a clients x sessions array (NaN = missing)."""
    seen = ~np.isnan(values)
    any_seen = seen.any(axis=1)
    width = values.shape[1]
    rows = np.arange(values.shape[0])
    first_col = seen.argmax(axis=1)
    last_col = width - 1 - seen[:, ::-1].argmax(axis=1)
    first = np.where(any_seen, values[rows, first_col], np.nan)
    value = np.where(any_seen, values[rows, last_col], np.nan)
    session = np.where(any_seen, last_col + 1, 0)
    return Latest(first=first, value=value, session=session, count=seen.sum(axis=1))


def standardised_distance(observed: np.ndarray, expected: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """(observed - expected) / spread, 0 where any is unknown (no evidence either way)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (observed - expected) / spread
    return np.where(np.isfinite(z), z, 0.0)

"""The alerts' own thresholds (relationship, negative process, not on track), read from
``parameters.json`` with their source and status."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from attunement.datafiles import StrictModel, load_json_model
from attunement.instruments.definition import CitedNumber

PARAMETERS_FILE = Path(__file__).with_name("parameters.json")


class RuptureParameters(StrictModel):
    prior_sd: CitedNumber
    prior_weight: CitedNumber
    minimum_sd: CitedNumber
    dip_z: CitedNumber
    minimum_drop: CitedNumber
    recovered_fraction: CitedNumber
    decline_sessions: CitedNumber


class RupturePrediction(StrictModel):
    regularisation: CitedNumber
    reference_sessions: CitedNumber


class PerceptionGapParameters(StrictModel):
    gap_points: CitedNumber
    gap_points_high: CitedNumber
    own_difference_pairs: CitedNumber
    widening_points: CitedNumber


class NegativeProcessParameters(StrictModel):
    judged_level: CitedNumber
    judged_level_high: CitedNumber
    rise_points: CitedNumber
    own_history_answers: CitedNumber


class NotOnTrackParameters(StrictModel):
    minimum_phq9_scores: CitedNumber
    above_range_scores: CitedNumber


class AlertParameters(StrictModel):
    description: str
    rupture: RuptureParameters
    rupture_prediction: RupturePrediction
    perception_gap: PerceptionGapParameters
    not_on_track: NotOnTrackParameters
    negative_process: NegativeProcessParameters


@cache
def load_parameters(path: Path = PARAMETERS_FILE) -> AlertParameters:
    return load_json_model(path, AlertParameters)

"""The baselines' parameter file, read and checked once.

Every number the baselines use (session k of the no-improvement rule, tolerance percentiles,
neighbour counts) lives in ``parameters.json`` beside this module with its source and status, so
a report can say which values are published and which are attunement's own choices.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from attunement.datafiles import StrictModel, load_json_model
from attunement.instruments.definition import Cited, CitedNumber

PARAMETERS_FILE = Path(__file__).with_name("parameters.json")


class CitedText(Cited):
    value: str


class CitedNames(Cited):
    value: list[str]


class RationalParameters(StrictModel):
    no_improvement_session: CitedNumber
    minimum_scores: CitedNumber


class PcomsParameters(StrictModel):
    success_definition: CitedText
    curve_form: CitedText
    curve_sessions: CitedNumber
    minimum_group_size: CitedNumber
    srs_drop: CitedNumber


class OqParameters(StrictModel):
    curve_sessions: CitedNumber
    red_percentile: CitedNumber
    yellow_percentile: CitedNumber
    fit_clients_per_band: CitedNumber
    minimum_band_clients: CitedNumber
    sample_seed: CitedNumber


class TrierParameters(StrictModel):
    boundary_coverage: CitedNumber
    neighbours: CitedNumber
    matching_measures: CitedNames
    curve_sessions: CitedNumber
    minimum_scores_per_session: CitedNumber


class BaselineParameters(StrictModel):
    description: str
    rational: RationalParameters
    pcoms: PcomsParameters
    oq: OqParameters
    trier: TrierParameters


@cache
def baseline_parameters(path: Path = PARAMETERS_FILE) -> BaselineParameters:
    """The parameter file beside this module, validated."""
    return load_json_model(path, BaselineParameters)

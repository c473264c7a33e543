"""The forecast's modelling and alerting choices, read from settings.json beside this module."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from attunement.datafiles import load_json_model
from attunement.instruments.definition import Cited, CitedNumber

SETTINGS_FILE = Path(__file__).with_name("settings.json")


class CitedList(Cited):
    value: list[float]


class CitedPair(Cited):
    value: tuple[float, float]


class CitedSessions(Cited):
    value: list[int]


class CitedTrees(Cited):
    value: dict[str, float | int]


class ForecastSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str
    session_cap: CitedNumber
    expected_band: CitedPair
    expected_bandwidth: CitedNumber
    checkin_baseline_sessions: CitedNumber
    split: CitedList
    split_seed: CitedNumber
    max_training_rows: CitedNumber
    trees: CitedTrees
    alert_sensitivity: CitedNumber
    alert_false_alarm_rate: CitedNumber
    dropout_alert_false_alarm_rate: CitedNumber
    calibration_bins: CitedNumber
    min_ended_episodes: CitedNumber
    validation_sessions: CitedSessions


@cache
def load_settings(path: Path = SETTINGS_FILE) -> ForecastSettings:
    return load_json_model(path, ForecastSettings)

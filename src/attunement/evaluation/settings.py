"""The evaluation conventions (sessions compared, calibration bins, split), read from settings.json."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from attunement.datafiles import load_json_model
from attunement.instruments.definition import Cited, CitedNumber

SETTINGS_FILE = Path(__file__).with_name("settings.json")


class CitedSessions(Cited):
    value: list[int]


class CitedLevels(Cited):
    value: list[float]


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str
    sessions: CitedSessions
    course_sessions: CitedNumber
    calibration_bins: CitedNumber
    reference_share: CitedNumber
    split_seed: CitedNumber
    plot_session: CitedNumber
    matched_sensitivities: CitedLevels
    room_window: CitedNumber
    room_naive_cutoff: CitedNumber


@cache
def load_settings(path: Path = SETTINGS_FILE) -> Settings:
    return load_json_model(path, Settings)

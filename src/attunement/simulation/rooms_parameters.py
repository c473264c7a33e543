"""The parameters of the simulated couples, families and groups (``parameters/rooms.json``).

Kept apart from the individual clinic's profile so that adding cases with several participants
changed no number (and no simulated figure) of the individual clinic. Each value carries its
source and status: the two outcome correlations are published figures, everything else is a
simulation assumption marked "project choice".
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import Field, model_validator

from attunement.datafiles import StrictModel, load_json_model
from attunement.simulation.specification import PARAMETERS_DIR, Parameter, ParameterList

ROOMS_PARAMETERS = PARAMETERS_DIR / "rooms.json"


class RoomParameters(StrictModel):
    """A complete, checked set of room-simulation parameters."""

    name: str
    description: str = Field(min_length=3)
    level_mean: Parameter
    level_sd: Parameter
    case_share: Parameter
    noise_sd: Parameter
    missed_forms: Parameter
    couple_family_sessions: ParameterList
    family_sizes: ParameterList
    group_sessions: ParameterList
    group_size: ParameterList
    open_group_share: Parameter
    join_probability: Parameter
    leave_probability: Parameter
    split_probability: Parameter
    drop_depth: ParameterList
    drift_share: Parameter
    drift_sessions: Parameter
    repair_probability: Parameter
    repair_rate: Parameter
    first_onset: Parameter
    member_drop_probability: Parameter
    leave_after_drop: Parameter
    missed_before_leaving: Parameter
    group_decline_probability: Parameter
    group_decline_depth: ParameterList
    split_outcome_correlation: Parameter
    cohesion_outcome_correlation: Parameter

    @model_validator(mode="after")
    def _consistent(self) -> RoomParameters:
        for name in (
            "case_share",
            "missed_forms",
            "open_group_share",
            "join_probability",
            "leave_probability",
            "split_probability",
            "drift_share",
            "repair_probability",
            "repair_rate",
            "member_drop_probability",
            "leave_after_drop",
            "missed_before_leaving",
            "group_decline_probability",
        ):
            value = getattr(self, name).value
            if not 0 <= value <= 1:
                raise ValueError(f"{name} is a probability or share: got {value}")
        for name in ("couple_family_sessions", "group_sessions", "group_size"):
            low_high = getattr(self, name).value
            if len(low_high) != 2 or not 1 <= low_high[0] <= low_high[1]:
                raise ValueError(f"{name} needs two values, lowest and highest: got {low_high}")
        for name in ("drop_depth", "group_decline_depth"):
            if len(getattr(self, name).value) != 3:
                raise ValueError(f"{name} needs three values: mean, SD and minimum")
        if len(self.family_sizes.value) != 2 or abs(sum(self.family_sizes.value) - 1) > 1e-9:
            raise ValueError("family_sizes needs two shares (3 and 4 participants) summing to 1")
        if self.first_onset.value + 1 > self.couple_family_sessions.value[0]:
            raise ValueError("first_onset leaves no session after it in the shortest couple or family case")
        for name in ("split_outcome_correlation", "cohesion_outcome_correlation"):
            if not -1 < getattr(self, name).value < 1:
                raise ValueError(f"{name} is a correlation strictly between -1 and 1")
        return self


@cache
def _load(path: Path) -> RoomParameters:
    return load_json_model(path, RoomParameters)


def load_room_parameters(path: str | Path | None = None) -> RoomParameters:
    """Read the room-simulation parameters (the bundled file without a path); read once per process."""
    return _load(Path(path).resolve() if path is not None else ROOMS_PARAMETERS)

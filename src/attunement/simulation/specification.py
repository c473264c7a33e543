"""The simulation's parameters (:class:`SimulationParameters`): every number the simulated clinic
uses, read from one data file. Not to be confused with a client's intake profile
(:class:`attunement.profile.Profile`); the command line and the cohort folders still call the
file a "simulation profile" (``--profile``, ``profile.json``).

The file (``parameters/default.json`` by default) names each parameter with its value, its
source and a verification status, like the instrument definitions. Calibrated values carry the
status "project choice" and say what they were calibrated to. Nothing clinical is written in
the simulation code itself: the code only says how the numbers combine.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from attunement.datafiles import load_json_model
from attunement.errors import DefinitionError
from attunement.instruments.definition import Cited

PARAMETERS_DIR = Path(__file__).with_name("parameters")
DEFAULT_PARAMETERS = PARAMETERS_DIR / "default.json"

CLASS_NAMES = ("early_responder", "gradual_responder", "delayed_responder", "non_responder", "deteriorator")


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Parameter(Cited):
    """One number with its source and verification status."""

    value: float = Field(allow_inf_nan=False)


class ParameterList(Cited):
    """Numbers that belong together (one per client group), with one source and status."""

    value: list[float] = Field(min_length=1)


class Engine(_Group):
    block_clients: Parameter
    max_sessions: Parameter


class Therapists(_Group):
    clients_per_therapist: Parameter
    change_effect_sd: Parameter
    estimate_bias_mean: Parameter
    estimate_bias_sd: Parameter
    estimate_noise_sd: Parameter
    rupture_drop_seen: Parameter


class Groups(_Group):
    labels: list[str] = Field(min_length=1)
    shares: ParameterList
    change_shift: ParameterList
    dropout_logit_shift: ParameterList

    @model_validator(mode="after")
    def _aligned(self) -> Groups:
        for name in ("shares", "change_shift", "dropout_logit_shift"):
            if len(getattr(self, name).value) != len(self.labels):
                raise ValueError(f"groups.{name} needs one value per label ({len(self.labels)})")
        _check_shares("groups.shares", self.shares.value)
        return self


class Intake(_Group):
    phq9_mean: Parameter
    phq9_sd: Parameter
    gad7_mean: Parameter
    gad7_sd: Parameter
    latent_correlation: Parameter


class Measurement(_Group):
    phq9_noise_sd: Parameter
    gad7_noise_sd: Parameter
    missed_questionnaires: Parameter
    missed_therapist_rating: Parameter
    phq9_item9_weight: Parameter


class Core10(_Group):
    """How a simulated client's CORE-10 is drawn (see :mod:`attunement.simulation.core10`)."""

    noise_sd: Parameter
    equating_anchors: ParameterList
    risk_item_weight: Parameter

    @model_validator(mode="after")
    def _anchors(self) -> Core10:
        a = self.equating_anchors.value
        if len(a) != 3 or not a[0] < a[1] < a[2]:
            raise ValueError("core10.equating_anchors needs three rising values: bottom, cut-off, top")
        return self


class Shape(_Group):
    """How a class's change unfolds over sessions (see :mod:`attunement.simulation.trajectory`)."""

    kind: Literal["exponential", "linear", "delayed"]
    time_constant: Parameter | None = None
    duration: Parameter | None = None
    onset: Parameter | None = None

    @model_validator(mode="after")
    def _complete(self) -> Shape:
        needs = {
            "exponential": ("time_constant",),
            "linear": ("duration",),
            "delayed": ("onset", "time_constant"),
        }
        missing = [n for n in needs[self.kind] if getattr(self, n) is None]
        if missing:
            raise ValueError(f"a {self.kind} shape needs {', '.join(missing)}")
        return self

    def needed(self, name: Literal["time_constant", "duration", "onset"]) -> float:
        """A parameter the shape's kind needs (its presence is checked when the profile is read)."""
        parameter: Parameter | None = getattr(self, name)
        if parameter is None:
            raise DefinitionError(f"a {self.kind} shape needs {name}")
        return parameter.value


class TrajectoryClass(_Group):
    share: Parameter
    change_mean: Parameter
    change_sd: Parameter
    shape: Shape


class Alliance(_Group):
    level_mean: Parameter
    level_sd: Parameter
    noise_sd: Parameter
    symptom_coupling: Parameter
    level_effect_on_change: Parameter
    score_decimals: Parameter


class Ruptures(_Group):
    probability: Parameter
    first_session: Parameter
    last_session: Parameter
    depth_mean: Parameter
    depth_sd: Parameter
    depth_minimum: Parameter
    repair_probability: Parameter
    repair_rate: Parameter
    unrepaired_progress_loss: Parameter


class NegativeProcess(_Group):
    """Sessions in which the therapist responds in a critical, blaming or pushing way, and the
    client's answer to the check-in's "judged" item (see :mod:`attunement.simulation.generate`).
    Simulation assumptions, there so that the negative-process alert can be measured against
    known truth."""

    probability: Parameter
    usual_mean: Parameter
    usual_sd: Parameter
    noise_sd: Parameter
    raise_mean: Parameter
    raise_sd: Parameter
    raise_minimum: Parameter


class Endings(_Group):
    planned_sessions_median: Parameter
    planned_sessions_log_sd: Parameter
    planned_sessions_minimum: Parameter
    good_enough_mean: Parameter
    good_enough_sd: Parameter
    good_enough_ending_probability: Parameter
    earliest_agreed_ending: Parameter
    dropout_logit_base: Parameter
    dropout_logit_first_session: Parameter
    dropout_progress_effect: Parameter
    dropout_alliance_effect: Parameter
    dropout_unrepaired_rupture_effect: Parameter


class SimulationParameters(_Group):
    """A complete, checked simulation profile."""

    name: str
    description: str
    engine: Engine
    therapists: Therapists
    groups: Groups
    intake: Intake
    measurement: Measurement
    classes: dict[str, TrajectoryClass]
    alliance: Alliance
    ruptures: Ruptures
    endings: Endings
    #: Optional, so that a profile written before it still loads (it then writes no "judged" answers).
    negative_process: NegativeProcess | None = None
    #: Optional too: a profile without it simulates no CORE-10 (``simulate --measures core10`` says so).
    core10: Core10 | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SimulationParameters:
        if tuple(self.classes) != CLASS_NAMES:
            raise ValueError(f"classes must be, in this order: {', '.join(CLASS_NAMES)}")
        _check_shares("classes.*.share", [c.share.value for c in self.classes.values()])
        for name, p in self.probabilities().items():
            if not 0 <= p <= 1:
                raise ValueError(f"{name} is a probability: got {p}")
        if self.ruptures.first_session.value > self.ruptures.last_session.value:
            raise ValueError("ruptures.first_session is after ruptures.last_session")
        if self.endings.planned_sessions_minimum.value > self.engine.max_sessions.value:
            raise ValueError("endings.planned_sessions_minimum exceeds engine.max_sessions")
        return self

    def probabilities(self) -> dict[str, float]:
        return {
            "measurement.missed_questionnaires": self.measurement.missed_questionnaires.value,
            "measurement.missed_therapist_rating": self.measurement.missed_therapist_rating.value,
            "ruptures.probability": self.ruptures.probability.value,
            "ruptures.repair_probability": self.ruptures.repair_probability.value,
            "ruptures.repair_rate": self.ruptures.repair_rate.value,
            "therapists.rupture_drop_seen": self.therapists.rupture_drop_seen.value,
            "endings.good_enough_ending_probability": self.endings.good_enough_ending_probability.value,
            **(
                {"negative_process.probability": self.negative_process.probability.value}
                if self.negative_process is not None
                else {}
            ),
        }

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(self.classes)

    @property
    def max_sessions(self) -> int:
        return int(self.engine.max_sessions.value)


def _check_shares(name: str, shares: list[float]) -> None:
    if any(s < 0 for s in shares) or not math.isclose(sum(shares), 1.0, abs_tol=1e-9):
        raise ValueError(f"{name} must be non-negative and sum to 1: got {shares}")


def parse_parameters(data: dict, origin: str = "<data>") -> SimulationParameters:
    """Check a profile given as parsed JSON; the error names the file and the field."""
    try:
        return SimulationParameters.model_validate(data)
    except ValidationError as exc:
        raise DefinitionError(f"{origin}: {exc}") from exc


@cache
def _load(path: Path) -> SimulationParameters:
    return load_json_model(path, SimulationParameters)


def load_parameters(path: str | Path | None = None) -> SimulationParameters:
    """Read a simulation profile (the default one without a path); read once per process."""
    return _load(Path(path).resolve() if path is not None else DEFAULT_PARAMETERS)

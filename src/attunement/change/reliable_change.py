"""Reliable change (Jacobson & Truax 1991): is a client's change larger than measurement error?

Jacobson & Truax 1991, *J Consult Clin Psychol* 59:12-19, doi:10.1037//0022-006X.59.1.12::

    SE_m   = SD * sqrt(1 - r)
    S_diff = sqrt(2 * SE_m**2) = SD * sqrt(2) * sqrt(1 - r)
    RC     = (post - pre) / S_diff        reliable when |RC| > 1.96

so a change is reliable when it exceeds ``z * S_diff`` raw points. Services also publish a
threshold directly in raw points (NHS Talking Therapies: a PHQ-9 change of 6 or more); an
instrument's reliable-change parameter sets hold either form, with their source and status, and
:func:`threshold_for` turns one into a :class:`ChangeThreshold` that the rest of the package uses.

Direction matters: on a lower-is-better scale (PHQ-9) a fall is an improvement, on a
higher-is-better scale (WEMWBS) a rise is. Every function here works on one number, on numpy arrays
and on pandas Series through the same code (see :mod:`attunement.change.elementwise`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from attunement.change.elementwise import Direction, Shape, beneficial, check_direction, numeric
from attunement.errors import DefinitionError, FieldProblem, InvalidInputError
from attunement.instruments.definition import Instrument, ReliableChange, Status, status_tag

Rule = Literal[">=", ">"]
JACOBSON_TRUAX = "Jacobson & Truax 1991, J Consult Clin Psychol 59:12-19"
#: Two-tailed 5% critical value of the standard normal distribution, as Jacobson & Truax use it.
Z_TWO_TAILED_5_PERCENT = 1.96


def standard_error_of_measurement(sd: Any, reliability: Any) -> Any:
    """SE_m = SD * sqrt(1 - r): the spread of one score around the client's true score."""
    shape, (sd_, r_) = _checked_parameters(sd, reliability)
    return shape.numbers(sd_ * np.sqrt(1.0 - r_))


def standard_error_of_difference(sd: Any, reliability: Any) -> Any:
    """S_diff = SD * sqrt(2) * sqrt(1 - r): the spread of a pre-post difference under no true change.

    The sqrt(2) term, missing from Jacobson, Follette & Revenstorf 1984, was added after
    Christensen & Mendoza 1986: both scores carry measurement error.
    """
    shape, (sd_, r_) = _checked_parameters(sd, reliability)
    return shape.numbers(_s_diff(sd_, r_))


def reliable_change_index(pre: Any, post: Any, sd: float, reliability: float) -> Any:
    """RC = (post - pre) / S_diff; signed, so a fall gives a negative index whatever the scale."""
    s_diff = float(standard_error_of_difference(sd, reliability))
    shape, (pre_, post_) = numeric("reliable change index", pre=pre, post=post)
    return shape.numbers((post_ - pre_) / s_diff, name="rci")


def raw_threshold(sd: Any, reliability: Any, *, z: float = Z_TWO_TAILED_5_PERCENT) -> Any:
    """The smallest reliable change in raw points, ``z * S_diff``; it grows as reliability falls."""
    _check_z(z)
    shape, (sd_, r_) = _checked_parameters(sd, reliability)
    return shape.numbers(z * _s_diff(sd_, r_))


@dataclass(frozen=True)
class ChangeThreshold:
    """How large a change must be to count as reliable, with where that number comes from.

    ``points`` is the threshold in raw score points and ``rule`` says whether a change equal to it
    counts (``">="``) or must exceed it (``">"``, Jacobson & Truax's ``|RC| > 1.96``). ``s_diff``
    is known when the threshold was computed from an SD and a reliability; a published raw-point
    threshold has none, and then no reliable change index can be given.
    """

    points: float
    rule: Rule
    s_diff: float | None = None
    sd: float | None = None
    reliability: float | None = None
    z: float | None = None
    set_id: str | None = None
    population: str | None = None
    source: str | None = None
    status: Status | None = None
    note: str | None = None

    @property
    def standard_error_of_measurement(self) -> float | None:
        if self.sd is None or self.reliability is None:
            return None
        return self.sd * math.sqrt(1.0 - self.reliability)

    @property
    def verified(self) -> bool:
        return self.status is not None and self.status.is_verified

    @property
    def tag(self) -> str:
        """``[unverified: ...]`` for displays; empty when verified or supplied by the user."""
        return status_tag(self.status)

    def describe(self) -> str:
        """The rule in words, e.g. ``change >= 6 points``."""
        return f"change {self.rule} {self.points:.4g} points"

    def index(self, pre: Any, post: Any) -> Any:
        """The reliable change index, or NaN (``None`` for one pair) without an S_diff."""
        shape, (pre_, post_) = numeric("reliable change index", pre=pre, post=post)
        s_diff = np.nan if self.s_diff is None else self.s_diff
        return shape.numbers((post_ - pre_) / s_diff, name="rci")


def threshold_from_reliability(
    sd: float,
    reliability: float,
    *,
    z: float = Z_TWO_TAILED_5_PERCENT,
    rule: Rule = ">",
    source: str | None = None,
    status: Status | None = None,
) -> ChangeThreshold:
    """A Jacobson & Truax threshold from an SD (usually of the pre-treatment scores) and a reliability."""
    _check_z(z)
    _check_rule(rule)
    s_diff = float(standard_error_of_difference(sd, reliability))
    return ChangeThreshold(
        points=z * s_diff,
        rule=rule,
        s_diff=s_diff,
        sd=float(sd),
        reliability=float(reliability),
        z=z,
        source=source,
        status=status,
    )


def threshold_from_set(parameters: ReliableChange, *, z: float = Z_TWO_TAILED_5_PERCENT) -> ChangeThreshold:
    """Use one of an instrument's published parameter sets as it stands.

    A set with a raw-point ``threshold`` keeps it (and its rule); a set with an SD and a
    reliability gets ``z * S_diff``. When a set gives both, the published threshold wins and the
    S_diff is still reported so that an index can be shown beside it.
    """
    s_diff = sd = reliability = None
    if parameters.sd is not None and parameters.reliability is not None:
        sd, reliability = parameters.sd, parameters.reliability
        s_diff = float(standard_error_of_difference(sd, reliability))
    points: float
    used_z: float | None
    if parameters.threshold is not None:
        points, used_z = parameters.threshold, None
    else:
        _check_z(z)
        if s_diff is None:
            raise DefinitionError(
                f"reliable-change set {parameters.id}: neither a threshold nor an SD and a reliability"
            )
        points, used_z = z * s_diff, z
    return ChangeThreshold(
        points=float(points),
        rule=parameters.rule,
        s_diff=s_diff,
        sd=sd,
        reliability=reliability,
        z=used_z,
        set_id=parameters.id,
        population=parameters.population,
        source=parameters.source,
        status=parameters.status,
        note=parameters.note,
    )


def threshold_for(
    instrument: Instrument, set_id: str | None = None, *, z: float = Z_TWO_TAILED_5_PERCENT
) -> ChangeThreshold:
    """The instrument's default reliable-change set, or the one named ``set_id``."""
    if set_id is None:
        parameters = instrument.default_reliable_change()
        if parameters is None:
            raise InvalidInputError(
                f"{instrument.id} reliable change",
                [FieldProblem("set", None, "an instrument with a published reliable-change parameter set")],
            )
    else:
        known = [s.id for s in instrument.scoring.reliable_change]
        if set_id not in known:
            raise InvalidInputError(
                f"{instrument.id} reliable change",
                [FieldProblem("set", set_id, "one of " + (", ".join(known) or "(none defined)"))],
            )
        parameters = instrument.reliable_change_set(set_id)
    return threshold_from_set(parameters, z=z)


def direction_for(instrument: Instrument) -> Direction:
    """Which end of the instrument's scale is better, for its change statistics; refused for a
    measure with no better end (such as therapy preferences)."""
    direction = instrument.direction
    if direction == "neither":
        raise InvalidInputError(
            f"{instrument.id} change",
            [FieldProblem("direction", direction, "a measure on which one end is better")],
        )
    return direction


def reliable_improvement(pre: Any, post: Any, threshold: ChangeThreshold, *, direction: Direction) -> Any:
    """Whether each change is a reliable improvement (missing when either score is)."""
    return _reliable(pre, post, threshold, direction, worse=False)


def reliable_deterioration(pre: Any, post: Any, threshold: ChangeThreshold, *, direction: Direction) -> Any:
    """Whether each change is a reliable deterioration (missing when either score is)."""
    return _reliable(pre, post, threshold, direction, worse=True)


def reliable_flags(
    pre: np.ndarray, post: np.ndarray, threshold: ChangeThreshold, direction: Direction
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Array form shared with the classifiers: (improved, deteriorated, known)."""
    gain = beneficial(pre, post, direction)
    known = ~np.isnan(gain)
    with np.errstate(invalid="ignore"):
        if threshold.rule == ">=":
            improved, deteriorated = gain >= threshold.points, -gain >= threshold.points
        else:
            improved, deteriorated = gain > threshold.points, -gain > threshold.points
    return improved & known, deteriorated & known, known


def _reliable(pre: Any, post: Any, threshold: ChangeThreshold, direction: str, *, worse: bool) -> Any:
    direction = check_direction(direction, "reliable change")
    shape, (pre_, post_) = numeric("reliable change", pre=pre, post=post)
    improved, deteriorated, known = reliable_flags(pre_, post_, threshold, direction)
    name = "reliable_deterioration" if worse else "reliable_improvement"
    return shape.flags(deteriorated if worse else improved, known, name=name)


def _s_diff(sd: np.ndarray, reliability: np.ndarray) -> np.ndarray:
    return sd * math.sqrt(2.0) * np.sqrt(1.0 - reliability)


def _checked_parameters(sd: Any, reliability: Any) -> tuple[Shape, tuple[np.ndarray, np.ndarray]]:
    shape, (sd_, r_) = numeric("reliable change parameters", sd=sd, reliability=reliability)
    problems: list[FieldProblem] = []
    if np.isnan(sd_).any() or (sd_ <= 0).any():
        problems.append(
            FieldProblem("sd", _shown(sd, sd_, ~(sd_ > 0)), "a standard deviation greater than 0")
        )
    if np.isnan(r_).any() or ((r_ <= 0) | (r_ >= 1)).any():
        bad = ~((r_ > 0) & (r_ < 1))
        problems.append(
            FieldProblem("reliability", _shown(reliability, r_, bad), "a reliability between 0 and 1")
        )
    if problems:
        raise InvalidInputError("reliable change parameters", problems)
    return shape, (sd_, r_)


def _shown(original: Any, values: np.ndarray, bad: np.ndarray) -> Any:
    if np.ndim(values) == 0:
        return original
    picked = values[bad]
    return None if picked.size == 0 or math.isnan(picked[0]) else float(picked[0])


def _check_z(z: float) -> None:
    if not isinstance(z, int | float) or isinstance(z, bool) or not (math.isfinite(z) and z > 0):
        raise InvalidInputError("reliable change", [FieldProblem("z", z, "a critical value greater than 0")])


def _check_rule(rule: str) -> None:
    if rule not in (">=", ">"):
        raise InvalidInputError("reliable change", [FieldProblem("rule", rule, "'>=' or '>'")])

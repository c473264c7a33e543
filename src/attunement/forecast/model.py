"""The forecast model as plain data: what it was trained on, its trees, calibration and alert rule.

A model file is JSON and nothing else. Loading one parses numbers and lists; it never unpickles
and never imports or runs anything named in the file, so a model received from elsewhere cannot
execute code. The arrays are evaluated by attunement's own numpy code
(:mod:`attunement.forecast.trees`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from attunement.errors import FieldProblem, InvalidInputError
from attunement.forecast.calibration import Platt
from attunement.forecast.expected import ExpectedCourse
from attunement.forecast.trees import TreeEnsemble

FORMAT = "attunement-forecast-model"
FORMAT_VERSION = 1
#: The outcomes the forecast predicts (the course outcomes and dropout before the next session).
FORECAST_OUTCOMES = ("deterioration", "no_improvement", "dropout_next")
DEFAULT_MODEL_FILE = Path(__file__).with_name("default_model.json")


@dataclass(frozen=True)
class AlertRule:
    """Alert when the calibrated probability is at least ``threshold``; how it was chosen."""

    threshold: float
    rule: str
    reference: dict[str, float | int | None] = field(default_factory=dict)


@dataclass(frozen=True)
class OutcomeModel:
    trees: TreeEnsemble
    calibration: Platt
    alert: AlertRule

    def probability(self, x: np.ndarray) -> np.ndarray:
        return self.calibration(self.trees.log_odds(x))


@dataclass(frozen=True)
class ForecastModel:
    """Everything needed to forecast, plus the record of how it was made and how well it did."""

    features: tuple[str, ...]
    session_cap: int
    checkin_baseline_sessions: int
    expected: ExpectedCourse
    outcomes: dict[str, OutcomeModel]
    trained_on: dict[str, Any]
    validation: dict[str, Any]
    #: The measures the model was fitted on; None for files written before it was recorded,
    #: which were fitted on the full set (what :attr:`features` needs).
    measures: tuple[str, ...] | None = None

    @property
    def required_measures(self) -> tuple[str, ...]:
        """What data must hold for this model: the recorded measures, else those of its features."""
        from attunement.forecast.features import measures_of

        return self.measures if self.measures is not None else measures_of(self.features)

    def to_dict(self) -> dict[str, Any]:
        extra: dict[str, Any] = {} if self.measures is None else {"measures": list(self.measures)}
        return {
            **extra,
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "trained_on": self.trained_on,
            "validation": self.validation,
            "features": list(self.features),
            "session_cap": self.session_cap,
            "checkin_baseline_sessions": self.checkin_baseline_sessions,
            "expected_course": {
                "band_quantiles": list(self.expected.band_quantiles),
                "bandwidth": self.expected.bandwidth,
                "tables": {name: table.tolist() for name, table in self.expected.tables.items()},
            },
            "outcomes": {
                name: {
                    "calibration": m.calibration.to_dict(),
                    "alert": {
                        "threshold": m.alert.threshold,
                        "rule": m.alert.rule,
                        "reference": m.alert.reference,
                    },
                    "trees": m.trees.to_dict(),
                }
                for name, m in self.outcomes.items()
            },
        }

    @classmethod
    def from_dict(cls, data: object, context: str = "model file") -> ForecastModel:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InvalidInputError(context, [FieldProblem("format", _get(data, "format"), FORMAT)])
        if data.get("format_version") != FORMAT_VERSION:
            raise InvalidInputError(
                context, [FieldProblem("format_version", data.get("format_version"), str(FORMAT_VERSION))]
            )
        try:
            course = data["expected_course"]
            expected = ExpectedCourse(
                tables={k: np.asarray(v, dtype=np.float64) for k, v in course["tables"].items()},
                band_quantiles=_pair(course["band_quantiles"]),
                bandwidth=float(course["bandwidth"]),
            )
            outcomes = {
                name: OutcomeModel(
                    trees=TreeEnsemble.from_dict(part["trees"]),
                    calibration=Platt.from_dict(part["calibration"]),
                    alert=AlertRule(
                        threshold=float(part["alert"]["threshold"]),
                        rule=str(part["alert"]["rule"]),
                        reference=dict(part["alert"].get("reference", {})),
                    ),
                )
                for name, part in data["outcomes"].items()
            }
            model = cls(
                features=tuple(str(f) for f in data["features"]),
                session_cap=int(data["session_cap"]),
                checkin_baseline_sessions=int(data["checkin_baseline_sessions"]),
                expected=expected,
                outcomes=outcomes,
                trained_on=dict(data.get("trained_on", {})),
                validation=dict(data.get("validation", {})),
                measures=None if data.get("measures") is None else tuple(str(m) for m in data["measures"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(context, [FieldProblem("content", str(exc), "a forecast model")]) from exc
        _check_consistent(model, context)
        return model


def _pair(values: Sequence[float]) -> tuple[float, float]:
    """Two numbers (a ValueError otherwise, as for any malformed model file)."""
    if len(values) != 2:
        raise ValueError(f"expected two band quantiles, got {len(values)}")
    return float(values[0]), float(values[1])


def save_model(model: ForecastModel, path: str | Path) -> Path:
    """Write the model as JSON (plain data)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(model.to_dict(), separators=(",", ":"), allow_nan=False), encoding="utf-8")
    return path


def load_model(path: str | Path) -> ForecastModel:
    """Read a model file: JSON parsing only, nothing in the file is executed."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInputError(str(path), [FieldProblem("file", str(exc), "a JSON forecast model")]) from exc
    return ForecastModel.from_dict(data, context=str(path))


@cache
def default_model() -> ForecastModel:
    """The bundled model fitted on simulated data (see docs/forecast.md for how it was made)."""
    return load_model(DEFAULT_MODEL_FILE)


def fitted_on_simulated(model: ForecastModel) -> bool:
    """Whether the model learnt from simulated clients rather than a service's own history.

    A model file records it in ``trained_on["simulated"]`` (``attunement fit`` sets it when the
    history folder holds the simulator's truth tables). Files written before that was recorded
    are the bundled default model, which was fitted on a simulated clinic, or a service's own:
    the bundled one is recognised by its ``trained_on`` record. Alerts say so in their reasons,
    because a model that knows only the simulated clinic may not describe this clinic's clients.
    """
    recorded = model.trained_on.get("simulated")
    if recorded is not None:
        return bool(recorded)
    return model is default_model() or model.trained_on == default_model().trained_on


def _check_consistent(model: ForecastModel, context: str) -> None:
    from attunement.forecast.features import all_features

    order = all_features()
    problems = []
    if not model.features or list(model.features) != [f for f in order if f in model.features]:
        problems.append(
            FieldProblem(
                "features", list(model.features), "features of this attunement version, in its order"
            )
        )
    for name, part in model.outcomes.items():
        trees = part.trees
        size = len(trees.feature)
        arrays = (trees.threshold, trees.missing_left, trees.left, trees.right, trees.value)
        inner = trees.left >= 0
        if (
            any(len(a) != size for a in arrays)
            or (trees.roots >= size).any()
            or (trees.feature[inner] >= len(model.features)).any()
            or (trees.left >= size).any()
            or (trees.right >= size).any()
            or (inner & (trees.right < 0)).any()
            or not _children_after_parents(trees)
        ):
            problems.append(
                FieldProblem(f"outcomes.{name}.trees", "inconsistent arrays", "valid tree arrays")
            )
    if problems:
        raise InvalidInputError(context, problems)


def _children_after_parents(trees: TreeEnsemble) -> bool:
    """Every child comes after its parent, so walking a tree always ends at a leaf."""
    index = np.arange(len(trees.left))
    inner = trees.left >= 0
    return bool((trees.left[inner] > index[inner]).all() and (trees.right[inner] > index[inner]).all())


def _get(data: object, key: str) -> object:
    return data.get(key) if isinstance(data, dict) else type(data).__name__

"""Turning the trees' scores into probabilities that mean what they say, and checking that they do.

Platt scaling: a logistic regression of the outcome on the trees' log-odds, fitted on reference
clients the trees never saw. It is monotone, so it leaves the ranking (and the AUC) untouched,
and it is two numbers, which a plain-data model file stores trivially.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression


@dataclass(frozen=True)
class Platt:
    """p = 1 / (1 + exp(-(slope * log_odds + intercept)))."""

    slope: float = 1.0
    intercept: float = 0.0

    def __call__(self, log_odds: np.ndarray) -> np.ndarray:
        return _sigmoid(self.slope * np.asarray(log_odds, dtype=float) + self.intercept)

    def to_dict(self) -> dict[str, Any]:
        return {"method": "platt", "slope": self.slope, "intercept": self.intercept}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Platt:
        if data.get("method") != "platt":
            raise ValueError(f"unknown calibration method {data.get('method')!r}")
        return cls(slope=float(data["slope"]), intercept=float(data["intercept"]))


def fit_platt(log_odds: np.ndarray, labels: np.ndarray) -> Platt:
    """Fit the two numbers; without both outcomes present, leave the scores as they are."""
    labels = np.asarray(labels, dtype=bool)
    if labels.all() or not labels.any():
        return Platt()
    model = LogisticRegression(C=1e6, max_iter=1000)
    model.fit(np.asarray(log_odds, dtype=float)[:, None], labels)
    return Platt(slope=float(model.coef_[0, 0]), intercept=float(model.intercept_[0]))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))

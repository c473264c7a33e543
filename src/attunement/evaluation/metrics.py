"""Accuracy figures for one set of predictions against what happened.

Discrimination (AUC), the alert rule's sensitivity and false-alarm rate, and calibration (Brier
score, expected calibration error). Each returns ``None`` when it is undefined for the data (for
example an AUC when every client had the same outcome), so a report shows a gap rather than a
misleading number. AUC, Brier score and calibration error are the core's
(:mod:`attunement.prediction.metrics`, shared with the forecast's validation).
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_curve

from attunement.prediction.metrics import auc, brier, calibration_bins, expected_calibration_error
from attunement.prediction.metrics import drop_unpredicted as _clean

__all__ = [
    "auc",
    "brier",
    "calibration_curve",
    "expected_calibration_error",
    "false_alarm_rate",
    "roc",
    "sensitivity",
]


def roc(labels: np.ndarray, risk: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """False-alarm rates and sensitivities along the ROC curve (for plots)."""
    labels, risk = _clean(labels, risk)
    if labels.size == 0 or labels.all() or not labels.any():
        return None
    fpr, tpr, _ = roc_curve(labels, risk)
    return fpr, tpr


def sensitivity(labels: np.ndarray, alert: np.ndarray) -> float | None:
    """Share of clients with the outcome whom the alert rule flagged."""
    labels, alert = np.asarray(labels, dtype=bool), np.asarray(alert, dtype=bool)
    return _share(alert[labels])


def false_alarm_rate(labels: np.ndarray, alert: np.ndarray) -> float | None:
    """Share of clients without the outcome whom the alert rule flagged."""
    labels, alert = np.asarray(labels, dtype=bool), np.asarray(alert, dtype=bool)
    return _share(alert[~labels])


def calibration_curve(
    labels: np.ndarray, probability: np.ndarray, bins: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per non-empty bin: mean predicted probability, observed rate, clients (for plots)."""
    counts, predicted, observed = calibration_bins(labels, probability, bins)
    used = counts > 0
    return predicted[used] / counts[used], observed[used] / counts[used], counts[used]


def _share(flags: np.ndarray) -> float | None:
    return float(flags.mean()) if flags.size else None

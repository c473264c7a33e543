"""Accuracy figures for one set of predictions against what happened.

Discrimination (AUC), the alert rule's sensitivity and false-alarm rate, and calibration (Brier
score, expected calibration error). Each returns ``None`` when it is undefined for the data (for
example an AUC when every client had the same outcome), so a report shows a gap rather than a
misleading number.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve


def auc(labels: np.ndarray, risk: np.ndarray) -> float | None:
    """Area under the ROC curve; ties count one half. ``None`` with a single outcome class."""
    labels, risk = _clean(labels, risk)
    if labels.size == 0 or labels.all() or not labels.any():
        return None
    return float(roc_auc_score(labels, risk))


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


def brier(labels: np.ndarray, probability: np.ndarray) -> float | None:
    """Mean squared difference between the predicted probability and the outcome (0 or 1)."""
    labels, probability = _clean(labels, probability)
    if labels.size == 0:
        return None
    return float(np.mean((probability - labels) ** 2))


def expected_calibration_error(labels: np.ndarray, probability: np.ndarray, bins: int) -> float | None:
    """ECE: the client-weighted mean gap between predicted and observed rates in equal-width bins."""
    labels, probability = _clean(labels, probability)
    if labels.size == 0:
        return None
    which = np.clip((probability * bins).astype(int), 0, bins - 1)
    predicted = np.bincount(which, weights=probability, minlength=bins)
    observed = np.bincount(which, weights=labels.astype(float), minlength=bins)
    return float(np.abs(predicted - observed).sum() / labels.size)


def calibration_curve(
    labels: np.ndarray, probability: np.ndarray, bins: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per non-empty bin: mean predicted probability, observed rate, clients (for plots)."""
    labels, probability = _clean(labels, probability)
    which = np.clip((probability * bins).astype(int), 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    predicted = np.bincount(which, weights=probability, minlength=bins)
    observed = np.bincount(which, weights=labels.astype(float), minlength=bins)
    used = counts > 0
    return predicted[used] / counts[used], observed[used] / counts[used], counts[used]


def _clean(labels: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop clients without a prediction (NaN risk)."""
    labels = np.asarray(labels, dtype=bool)
    values = np.asarray(values, dtype=float)
    keep = ~np.isnan(values)
    return labels[keep], values[keep]


def _share(flags: np.ndarray) -> float | None:
    return float(flags.mean()) if flags.size else None

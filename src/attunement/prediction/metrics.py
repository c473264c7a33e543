"""Accuracy of predicted risks against what happened: the one home of AUC, Brier score and
expected calibration error, for the forecast's validation and the evaluation harness alike.

Discrimination is scikit-learn's ``roc_auc_score`` and the Brier score its ``brier_score_loss``;
the expected calibration error (equal-width bins, weighted by clients) is written here. Clients
without a prediction (NaN risk) are left out, and each figure is ``None`` when it is undefined for
the data (an AUC when every client had the same outcome, anything on no clients), so a report
shows a gap rather than a misleading number.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import brier_score_loss, roc_auc_score


def auc(labels: np.ndarray, risk: np.ndarray) -> float | None:
    """Area under the ROC curve; ties count one half. ``None`` with a single outcome class."""
    labels, risk = drop_unpredicted(labels, risk)
    if labels.size == 0 or labels.all() or not labels.any():
        return None
    return float(roc_auc_score(labels, risk))


def brier(labels: np.ndarray, probability: np.ndarray) -> float | None:
    """Mean squared difference between the predicted probability and the outcome (0 or 1)."""
    labels, probability = drop_unpredicted(labels, probability)
    if labels.size == 0:
        return None
    return float(brier_score_loss(labels, probability))


def calibration_bins(
    labels: np.ndarray, probability: np.ndarray, bins: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per equal-width bin of the probability: clients, sum of predicted probabilities and number
    of outcomes (arrays of length ``bins``; NaN predictions left out)."""
    labels, probability = drop_unpredicted(labels, probability)
    which = np.clip((probability * bins).astype(int), 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    predicted = np.bincount(which, weights=probability, minlength=bins)
    observed = np.bincount(which, weights=labels.astype(float), minlength=bins)
    return counts, predicted, observed


def expected_calibration_error(labels: np.ndarray, probability: np.ndarray, bins: int) -> float | None:
    """ECE: the client-weighted mean gap between predicted and observed rates in equal-width bins."""
    counts, predicted, observed = calibration_bins(labels, probability, bins)
    total = int(counts.sum())
    if total == 0:
        return None
    return float(np.abs(predicted - observed).sum() / total)


def drop_unpredicted(labels: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels as booleans and values as floats, without the clients whose value is NaN."""
    labels = np.asarray(labels, dtype=bool)
    values = np.asarray(values, dtype=float)
    keep = ~np.isnan(values)
    return labels[keep], values[keep]

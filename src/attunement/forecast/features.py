"""What the forecast looks at: one row of numbers per client, computed from the history up to now.

Every feature is computed from a :class:`~attunement.prediction.histories.Histories` whose columns
end at the session the forecast is for (``histories.upto(s)``), so nothing after that session can
leak in. The features describe what a clinician would look at: where the client started, where the
client is now and how that compares with the course expected for clients who started at the same
severity, how fast things change, how the relationship check-in moves against the client's own
first sessions, how the therapist's estimate compares with the client's answers, and missed forms.

All functions are pure numpy on (clients x sessions) arrays with NaN for a missing form.
"""

from __future__ import annotations

import numpy as np

from attunement.forecast.expected import ExpectedCourse
from attunement.prediction.histories import Histories

FEATURES: tuple[str, ...] = (
    "session",
    "phq9_intake",
    "gad7_intake",
    "phq9_now",
    "gad7_now",
    "phq9_change",
    "gad7_change",
    "phq9_recent_mean",
    "gad7_recent_mean",
    "phq9_expected",
    "gad7_expected",
    "phq9_deviation",
    "gad7_deviation",
    "phq9_recent_deviation",
    "gad7_recent_deviation",
    "phq9_deviation_scaled",
    "phq9_slope",
    "gad7_slope",
    "phq9_early_change",
    "phq9_best_change",
    "phq9_worst_change",
    "gad7_worst_change",
    "checkin_baseline",
    "checkin_now",
    "checkin_change",
    "checkin_lowest_change",
    "checkin_last_step",
    "checkin_slope",
    "perception_gap_now",
    "perception_gap_mean",
    "item9_now",
    "forms_observed",
    "forms_missed",
    "missed_now",
    "sessions_since_form",
)


#: Measures whose rows are items of another measure's form (PHQ-9 item 9): a service giving
#: totals only lacks them without lacking the measure, so a model never refuses data for them;
#: the trees treat the missing value as they were taught to.
ITEM_LEVEL = ("phq9_item9",)


def feature_measures(feature: str) -> tuple[str, ...]:
    """The measures a feature is computed from; a cohort without one of them cannot have it.

    Missed-form features count PHQ-9 forms, so they need PHQ-9."""
    if feature == "session":
        return ()
    if feature.startswith("perception_gap"):
        return ("checkin", "checkin_therapist")
    if feature == "item9_now":
        return ("phq9_item9",)
    for measure in ("phq9", "gad7", "checkin"):
        if feature.startswith(f"{measure}_"):
            return (measure,)
    return ("phq9",)  # forms_observed, forms_missed, missed_now, sessions_since_form


def usable_features(present: set[str] | frozenset[str]) -> tuple[str, ...]:
    """The features (in :data:`FEATURES` order) whose measures are all in ``present``."""
    return tuple(f for f in FEATURES if all(m in present for m in feature_measures(f)))


def measures_of(features: tuple[str, ...]) -> tuple[str, ...]:
    """The measures the given features are computed from, in a stable order."""
    needed = {m for f in features for m in feature_measures(f)}
    order = ("phq9", "gad7", "checkin", "checkin_therapist", "phq9_item9")
    return tuple(m for m in order if m in needed)


def feature_matrix(
    histories: Histories,
    expected: ExpectedCourse,
    session_cap: int,
    baseline_sessions: int,
    features: tuple[str, ...] = FEATURES,
) -> np.ndarray:
    """Features for every client of a history cut at one session (all clients at the same session).

    ``histories`` must come from ``Histories.upto(s)``: its last column is the session the
    forecast is for. ``session_cap`` is the last session the model was trained on; later sessions
    are described as that one. ``baseline_sessions`` observed check-ins make the client's own
    relationship baseline. ``features`` picks the columns a model uses (a model fitted on a
    cohort without some measure leaves their features out).
    """
    s = histories.max_session
    phq, gad = histories.score("phq9"), histories.score("gad7")
    checkin, therapist = histories.score("checkin"), histories.score("checkin_therapist")
    n = len(histories)
    columns: dict[str, np.ndarray] = {"session": np.full(n, float(min(s, session_cap)))}
    for name, values in (("phq9", phq), ("gad7", gad)):
        intake = first_observed(values)
        now = last_observed(values)
        recent = recent_mean(values, 2)
        mid = expected.mid(name, intake, np.full(n, s))
        columns[f"{name}_intake"] = intake
        columns[f"{name}_now"] = now
        columns[f"{name}_change"] = now - intake
        columns[f"{name}_recent_mean"] = recent
        columns[f"{name}_expected"] = mid
        columns[f"{name}_deviation"] = now - mid
        columns[f"{name}_recent_deviation"] = recent - mid
        columns[f"{name}_slope"] = slope(values)
        columns[f"{name}_worst_change"] = _extreme(values, np.fmax) - intake
    low, mid, high = expected.band("phq9", columns["phq9_intake"], np.full(n, s))
    spread = np.maximum(high - low, 1.0)
    columns["phq9_deviation_scaled"] = (columns["phq9_now"] - mid) / spread
    columns["phq9_early_change"] = early_change(phq)
    columns["phq9_best_change"] = _extreme(phq, np.fmin) - columns["phq9_intake"]

    base = baseline(checkin, baseline_sessions)
    checkin_now = last_observed(checkin)
    columns["checkin_baseline"] = base
    columns["checkin_now"] = checkin_now
    columns["checkin_change"] = checkin_now - base
    columns["checkin_lowest_change"] = _extreme(checkin, np.fmin) - base
    columns["checkin_last_step"] = checkin_now - previous_observed(checkin)
    columns["checkin_slope"] = slope(checkin[:, -4:])
    gap = therapist - checkin
    columns["perception_gap_now"] = last_observed(gap)
    columns["perception_gap_mean"] = _nanmean(gap)
    columns["item9_now"] = last_observed(histories.score("phq9_item9"))

    seen = ~np.isnan(phq)
    columns["forms_observed"] = seen.sum(axis=1).astype(float)
    columns["forms_missed"] = (s - seen.sum(axis=1)).astype(float)
    columns["missed_now"] = (~seen[:, -1]).astype(float)
    last_seen = np.where(seen.any(axis=1), s - 1 - seen[:, ::-1].argmax(axis=1), np.nan)
    columns["sessions_since_form"] = (s - 1) - last_seen
    return np.column_stack([columns[name] for name in features]).astype(np.float64)


def first_observed(values: np.ndarray) -> np.ndarray:
    seen = ~np.isnan(values)
    out = values[np.arange(values.shape[0]), seen.argmax(axis=1)]
    return np.where(seen.any(axis=1), out, np.nan)


def last_observed(values: np.ndarray) -> np.ndarray:
    return first_observed(values[:, ::-1])


def previous_observed(values: np.ndarray) -> np.ndarray:
    """The observed value before the last observed one (NaN with fewer than two)."""
    seen = ~np.isnan(values)
    rows = np.arange(values.shape[0])
    last = values.shape[1] - 1 - seen[:, ::-1].argmax(axis=1)
    masked = values.copy()
    masked[rows, last] = np.nan
    out = last_observed(masked)
    return np.where(seen.sum(axis=1) >= 2, out, np.nan)


def recent_mean(values: np.ndarray, count: int) -> np.ndarray:
    """Mean of the last ``count`` observed values: less noisy than the latest form alone."""
    last = last_observed(values)
    prev = previous_observed(values)
    if count != 2:
        raise ValueError("only the mean of the last two forms is implemented")
    return np.where(np.isnan(prev), last, (last + prev) / 2)


def baseline(values: np.ndarray, count: int) -> np.ndarray:
    """Mean of the client's first ``count`` observed values: the client's own reference level."""
    seen = ~np.isnan(values)
    order = np.cumsum(seen, axis=1)
    early = seen & (order <= count)
    total = np.where(early, values, 0.0).sum(axis=1)
    used = early.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(used > 0, total / used, np.nan)


def slope(values: np.ndarray) -> np.ndarray:
    """Least-squares change per session through the observed values (NaN with fewer than two)."""
    seen = ~np.isnan(values)
    x = np.broadcast_to(np.arange(values.shape[1], dtype=float), values.shape)
    count = seen.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        x_mean = np.where(seen, x, 0.0).sum(axis=1) / count
        y_mean = np.where(seen, values, 0.0).sum(axis=1) / count
        dx = np.where(seen, x - x_mean[:, None], 0.0)
        dy = np.where(seen, values - y_mean[:, None], 0.0)
        out = (dx * dy).sum(axis=1) / (dx * dx).sum(axis=1)
    return np.where(count >= 2, out, np.nan)


def early_change(values: np.ndarray) -> np.ndarray:
    """Change from intake to the mean of sessions 2-3 (the early-change window), as far as seen."""
    window = values[:, 1:3]
    if window.shape[1] == 0:
        return np.full(values.shape[0], np.nan)
    return _nanmean(window) - first_observed(values)


def _nanmean(values: np.ndarray) -> np.ndarray:
    seen = ~np.isnan(values)
    count = seen.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, np.where(seen, values, 0.0).sum(axis=1) / count, np.nan)


def _extreme(values: np.ndarray, pick: np.ufunc) -> np.ndarray:
    """Row-wise max (``np.fmax``) or min (``np.fmin``) ignoring NaN, NaN for an all-missing row."""
    return pick.reduce(values, axis=1) if values.shape[1] else np.full(len(values), np.nan)

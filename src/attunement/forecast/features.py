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
from attunement.prediction.histories import Histories, first_observed, last_observed
from attunement.prediction.measures import outcome_instruments

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


#: Features of any other outcome measure a cohort holds (CORE-10, ORS, ...), named
#: ``<measure>_<what>``: the same descriptions PHQ-9 has, so a service measuring only CORE-10 gets
#: a forecast of the same kind. PHQ-9 and GAD-7 keep the names of :data:`FEATURES`.
MEASURE_TEMPLATE: tuple[str, ...] = (
    "intake",
    "now",
    "change",
    "recent_mean",
    "expected",
    "deviation",
    "recent_deviation",
    "deviation_scaled",
    "slope",
    "early_change",
    "best_change",
    "worst_change",
)
#: Missed-form features. :data:`FEATURES` counts PHQ-9 forms; a cohort without PHQ-9 counts the
#: forms of its first outcome measure instead, under that measure's name.
FORMS_TEMPLATE: tuple[str, ...] = ("forms_observed", "forms_missed", "missed_now", "sessions_since_form")
#: PHQ-9 and GAD-7: the measures :data:`FEATURES` names.
NAMED = ("phq9", "gad7")

#: Measures whose rows are items of another measure's form (PHQ-9 item 9): a service giving
#: totals only lacks them without lacking the measure, so a model never refuses data for them;
#: the trees treat the missing value as they were taught to.
ITEM_LEVEL = ("phq9_item9",)


def _prefixes() -> tuple[str, ...]:
    """Measure names a feature can start with, longest first (``core_om`` before ``core``)."""
    return tuple(sorted({*outcome_instruments(), "checkin"}, key=len, reverse=True))


def feature_measures(feature: str) -> tuple[str, ...]:
    """The measures a feature is computed from; a cohort without one of them cannot have it.

    The unprefixed missed-form features count PHQ-9 forms, so they need PHQ-9."""
    if feature == "session":
        return ()
    if feature.startswith("perception_gap"):
        return ("checkin", "checkin_therapist")
    if feature == "item9_now":
        return ("phq9_item9",)
    for measure in _prefixes():
        if feature.startswith(f"{measure}_"):
            return (measure,)
    return ("phq9",)  # forms_observed, forms_missed, missed_now, sessions_since_form


def candidate_features(present: set[str] | frozenset[str]) -> tuple[str, ...]:
    """Every feature a cohort holding ``present`` could give: :data:`FEATURES`, then the template
    for each other outcome measure, then the missed-form template for the first outcome measure
    when PHQ-9 is absent."""
    outcome = [m for m in outcome_instruments() if m in present]
    extra = [f"{m}_{what}" for m in outcome if m not in NAMED for what in MEASURE_TEMPLATE]
    if outcome and "phq9" not in present:
        extra += [f"{outcome[0]}_{what}" for what in FORMS_TEMPLATE]
    return FEATURES + tuple(extra)


def all_features() -> tuple[str, ...]:
    """Every feature any cohort could give, in the order models list them (a model file whose
    features are not a subsequence of this was made for another version)."""
    outcome = outcome_instruments()
    extra = [f"{m}_{what}" for m in outcome if m not in NAMED for what in MEASURE_TEMPLATE]
    forms = [f"{m}_{what}" for m in outcome if m != "phq9" for what in FORMS_TEMPLATE]
    return FEATURES + tuple(extra) + tuple(forms)


def usable_features(present: set[str] | frozenset[str]) -> tuple[str, ...]:
    """The candidate features (:func:`candidate_features`) whose measures are all in ``present``."""
    return tuple(f for f in candidate_features(present) if all(m in present for m in feature_measures(f)))


def measures_of(features: tuple[str, ...]) -> tuple[str, ...]:
    """The measures the given features are computed from, in a stable order."""
    needed = {m for f in features for m in feature_measures(f)}
    order = (*outcome_instruments(), "checkin", "checkin_therapist", "phq9_item9")
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
    cohort without some measure leaves their features out). Only the measures those features
    need are read.
    """
    s = histories.max_session
    n = len(histories)
    needed = {m for f in features for m in feature_measures(f)}
    columns: dict[str, np.ndarray] = {"session": np.full(n, float(min(s, session_cap)))}
    for name in outcome_instruments():
        if name in needed:
            block = _outcome_columns(histories.score(name), expected, name, s)
            columns.update({f"{name}_{what}": values for what, values in block.items()})
    if "phq9" in needed:
        columns.update(_forms_columns(histories.score("phq9"), s))
    for name in needed - {"phq9"}:
        if any(f"{name}_{what}" in features for what in FORMS_TEMPLATE):
            forms = _forms_columns(histories.score(name), s)
            columns.update({f"{name}_{what}": values for what, values in forms.items()})
    if "checkin" in needed:
        checkin = histories.score("checkin")
        base = baseline(checkin, baseline_sessions)
        checkin_now = last_observed(checkin)
        columns["checkin_baseline"] = base
        columns["checkin_now"] = checkin_now
        columns["checkin_change"] = checkin_now - base
        columns["checkin_lowest_change"] = _extreme(checkin, np.fmin) - base
        columns["checkin_last_step"] = checkin_now - previous_observed(checkin)
        columns["checkin_slope"] = slope(checkin[:, -4:])
        if "checkin_therapist" in needed:
            gap = histories.score("checkin_therapist") - checkin
            columns["perception_gap_now"] = last_observed(gap)
            columns["perception_gap_mean"] = _nanmean(gap)
    if "phq9_item9" in needed:
        columns["item9_now"] = last_observed(histories.score("phq9_item9"))
    return np.column_stack([columns[name] for name in features]).astype(np.float64)


def _outcome_columns(
    values: np.ndarray, expected: ExpectedCourse, name: str, s: int
) -> dict[str, np.ndarray]:
    """The :data:`MEASURE_TEMPLATE` descriptions of one outcome measure."""
    n = values.shape[0]
    intake = first_observed(values)
    now = last_observed(values)
    recent = recent_mean(values, 2)
    low, mid, high = expected.band(name, intake, np.full(n, s))
    spread = np.maximum(high - low, 1.0)
    return {
        "intake": intake,
        "now": now,
        "change": now - intake,
        "recent_mean": recent,
        "expected": mid,
        "deviation": now - mid,
        "recent_deviation": recent - mid,
        "deviation_scaled": (now - mid) / spread,
        "slope": slope(values),
        "early_change": early_change(values),
        "best_change": _extreme(values, np.fmin) - intake,
        "worst_change": _extreme(values, np.fmax) - intake,
    }


def _forms_columns(values: np.ndarray, s: int) -> dict[str, np.ndarray]:
    """The :data:`FORMS_TEMPLATE` counts of one measure's forms up to session ``s``."""
    seen = ~np.isnan(values)
    last_seen = np.where(seen.any(axis=1), s - 1 - seen[:, ::-1].argmax(axis=1), np.nan)
    return {
        "forms_observed": seen.sum(axis=1).astype(float),
        "forms_missed": (s - seen.sum(axis=1)).astype(float),
        "missed_now": (~seen[:, -1]).astype(float),
        "sessions_since_form": (s - 1) - last_seen,
    }


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
    change: np.ndarray = _nanmean(window) - first_observed(values)
    return change


def _nanmean(values: np.ndarray) -> np.ndarray:
    seen = ~np.isnan(values)
    count = seen.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, np.where(seen, values, 0.0).sum(axis=1) / count, np.nan)


def _extreme(values: np.ndarray, pick: np.ufunc) -> np.ndarray:
    """Row-wise max (``np.fmax``) or min (``np.fmin``) ignoring NaN, NaN for an all-missing row."""
    return pick.reduce(values, axis=1) if values.shape[1] else np.full(len(values), np.nan)

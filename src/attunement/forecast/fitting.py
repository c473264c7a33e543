"""Fitting the forecast on a reference cohort: trees, calibration, alert rules and validation figures.

The reference clients are split by client into three parts (``settings.json``: ``split``): the
trees learn from the first, the probabilities are calibrated and the alert thresholds chosen on
the second, and the third gives the held-out validation figures written into the model file. Each
client contributes one row per attended session (up to ``session_cap``), described only by data up
to that session, so the model learns exactly the task it is used for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import numpy as np

from attunement.errors import FieldProblem, InvalidInputError
from attunement.forecast.alert_rules import choose_course_threshold, choose_session_threshold, course_flags
from attunement.forecast.calibration import fit_platt
from attunement.forecast.expected import ExpectedCourse, fit_expected_course
from attunement.forecast.features import (
    FEATURES,
    feature_matrix,
    feature_measures,
    measures_of,
    usable_features,
)
from attunement.forecast.model import FORECAST_OUTCOMES, AlertRule, ForecastModel, OutcomeModel
from attunement.forecast.settings import ForecastSettings, load_settings
from attunement.forecast.trees import ensemble_from_sklearn
from attunement.prediction.histories import Histories
from attunement.prediction.measures import MeasureTable, MissingMeasures
from attunement.prediction.metrics import auc, brier, expected_calibration_error
from attunement.prediction.outcomes import Labels

#: progress(step, done, total): called as fitting advances (for progress bars).
Progress = Callable[[str, int, int], None]
COURSE = ("deterioration", "no_improvement")


@dataclass(frozen=True)
class SessionRows:
    """Feature rows of every (client, session) pair: ``client`` indexes the reference clients."""

    x: np.ndarray
    client: np.ndarray
    session: np.ndarray


def fit_model(
    histories: Histories,
    labels: Labels,
    source: str = "reference cohort",
    settings: ForecastSettings | None = None,
    progress: Progress | None = None,
    simulated: bool | None = None,
) -> ForecastModel:
    """Fit, calibrate and validate the forecast on reference clients with known outcomes.

    ``simulated`` records whether the reference clients were simulated (alert reasons say so);
    when not given, labels carrying the simulator's latent classes mean simulated, and anything
    else is recorded as unknown (None).
    """
    if simulated is None and labels.latent_class is not None:
        simulated = True
    settings = settings or load_settings()
    _check_reference(histories, labels)
    # Features of measures the reference cohort lacks are left out rather than given to the
    # trees as all-missing columns (which scikit-learn cannot bin); the model records the rest.
    present = MeasureTable.of(histories).present
    features = usable_features(present)
    if not any(feature_measures(f) for f in features):
        raise MissingMeasures("reference cohort", ["phq9"], MeasureTable(present))
    cap = int(settings.session_cap.value)
    part = split_clients(len(histories), settings)
    expected = fit_expected_course(
        histories.subset(part == 0),
        cap,
        settings.expected_band.value,
        float(settings.expected_bandwidth.value),
    )
    baseline_sessions = int(settings.checkin_baseline_sessions.value)
    rows = session_rows(histories, expected, cap, baseline_sessions, progress, features)
    outcomes, validation = {}, {}
    for step, outcome in enumerate(FORECAST_OUTCOMES):
        if progress is not None:
            progress(f"fitting {outcome}", step, len(FORECAST_OUTCOMES))
        y = row_labels(labels, outcome, rows)
        outcomes[outcome] = _fit_outcome(outcome, rows, y, part, labels, settings)
        validation[outcome] = _validate(outcome, outcomes[outcome], rows, y, part == 2, labels, settings)
    if progress is not None:
        progress("done", len(FORECAST_OUTCOMES), len(FORECAST_OUTCOMES))
    trained_on = {
        "source": source,
        "simulated": simulated,
        "clients": int(len(histories)),
        "clients_by_part": {
            name: int((part == i).sum()) for i, name in enumerate(("train", "calibrate", "validate"))
        },
        "session_rows": int(len(rows.session)),
        "outcome_rates": {
            "deterioration": float(labels.deterioration.mean()),
            "no_improvement": float(labels.no_improvement.mean()),
            "dropout": float(labels.dropout.mean()),
        },
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "software": _versions(),
        "settings": {
            name: getattr(settings, name).value
            for name in type(settings).model_fields
            if name != "description"
        },
    }
    return ForecastModel(
        measures=measures_of(features),
        features=features,
        session_cap=cap,
        checkin_baseline_sessions=baseline_sessions,
        expected=expected,
        outcomes=outcomes,
        trained_on=trained_on,
        validation=validation,
    )


def held_out_clients(n: int, settings: ForecastSettings | None = None) -> np.ndarray:
    """Which of ``n`` reference clients ``fit_model`` holds out for its validation figures."""
    held_out: np.ndarray = split_clients(n, settings or load_settings()) == 2
    return held_out


def validate_model(
    model: ForecastModel,
    histories: Histories,
    labels: Labels,
    held_out: np.ndarray,
    settings: ForecastSettings | None = None,
) -> dict[str, Any]:
    """Another model's held-out figures on the same clients as a fit's own (``held_out_clients``),
    in the form of ``ForecastModel.validation``: how a clinic's candidate compares with the model
    it would replace is only fair on the same episodes."""
    settings = settings or load_settings()
    rows = session_rows(
        histories, model.expected, model.session_cap, model.checkin_baseline_sessions, None, model.features
    )
    return {
        outcome: _validate(
            outcome,
            model.outcomes[outcome],
            rows,
            row_labels(labels, outcome, rows),
            held_out,
            labels,
            settings,
        )
        for outcome in FORECAST_OUTCOMES
        if outcome in model.outcomes
    }


def split_clients(n: int, settings: ForecastSettings) -> np.ndarray:
    """0 = train, 1 = calibrate, 2 = validate, at random by client with the settings' seed."""
    shares = np.asarray(settings.split.value, dtype=float)
    order = np.random.default_rng(int(settings.split_seed.value)).permutation(n)
    bounds = np.floor(np.cumsum(shares / shares.sum()) * n).astype(int)
    part = np.empty(n, dtype=np.int64)
    part[order[: bounds[0]]] = 0
    part[order[bounds[0] : bounds[1]]] = 1
    part[order[bounds[1] :]] = 2
    return part


def session_rows(
    histories: Histories,
    expected: ExpectedCourse,
    cap: int,
    baseline_sessions: int,
    progress: Progress | None = None,
    features: tuple[str, ...] = FEATURES,
) -> SessionRows:
    """Features of every client at every attended session up to ``cap``, from data up to it."""
    xs, clients, sessions = [], [], []
    for s in range(1, cap + 1):
        keep = np.flatnonzero(histories.sessions >= s)
        if keep.size == 0:
            break
        xs.append(feature_matrix(histories.upto(s), expected, cap, baseline_sessions, features))
        clients.append(keep)
        sessions.append(np.full(keep.size, s))
        if progress is not None:
            progress("features", s, cap)
    return SessionRows(np.vstack(xs), np.concatenate(clients), np.concatenate(sessions))


def row_labels(labels: Labels, outcome: str, rows: SessionRows) -> np.ndarray:
    found: np.ndarray
    if outcome in COURSE:
        found = labels.at(outcome, 0)[rows.client]
    elif outcome == "dropout_next":
        found = labels.dropout[rows.client] & (labels.end_session[rows.client] == rows.session)
    else:
        raise KeyError(outcome)
    return found


def _fit_outcome(
    outcome: str,
    rows: SessionRows,
    y: np.ndarray,
    part: np.ndarray,
    labels: Labels,
    settings: ForecastSettings,
) -> OutcomeModel:
    from sklearn.ensemble import HistGradientBoostingClassifier

    row_part = part[rows.client]
    train = np.flatnonzero(row_part == 0)
    limit = int(settings.max_training_rows.value)
    if train.size > limit:
        rng = np.random.default_rng(int(settings.split_seed.value))
        train = np.sort(rng.choice(train, limit, replace=False))
    params = dict(settings.trees.value)
    classifier = HistGradientBoostingClassifier(
        max_iter=int(params["max_iter"]),
        learning_rate=float(params["learning_rate"]),
        max_leaf_nodes=int(params["max_leaf_nodes"]),
        min_samples_leaf=int(params["min_samples_leaf"]),
        l2_regularization=float(params["l2_regularization"]),
        early_stopping=True,
        n_iter_no_change=int(params["n_iter_no_change"]),
        validation_fraction=float(params["validation_fraction"]),
        random_state=int(settings.split_seed.value),
    )
    if y[train].all() or not y[train].any():
        raise InvalidInputError(
            "reference cohort",
            [FieldProblem(outcome, "only one kind of outcome", "clients with and without it")],
        )
    classifier.fit(rows.x[train], y[train])
    trees = ensemble_from_sklearn(classifier)
    calibrate = row_part == 1
    log_odds = trees.log_odds(rows.x[calibrate])
    platt = fit_platt(log_odds, y[calibrate])
    probability = platt(log_odds)
    if outcome in COURSE:
        threshold, reference = choose_course_threshold(
            probability,
            rows.client[calibrate],
            rows.session[calibrate],
            labels.at(outcome, 0),
            labels.end_session,
            float(settings.alert_sensitivity.value),
            float(settings.alert_false_alarm_rate.value),
        )
        rule = (
            "alert when the probability is at least the threshold; chosen on reference clients to flag "
            f"at least {settings.alert_sensitivity.value:.0%} of clients with the outcome before their last "
            f"session while flagging at most {settings.alert_false_alarm_rate.value:.0%} of the others"
        )
    else:
        target = float(settings.dropout_alert_false_alarm_rate.value)
        threshold, reference = choose_session_threshold(probability, y[calibrate], target)
        rule = (
            "alert when the probability is at least the threshold; chosen on reference clients so that "
            f"at most {target:.0%} of the sessions of clients who came back raise it"
        )
    return OutcomeModel(trees=trees, calibration=platt, alert=AlertRule(threshold, rule, reference))


def _validate(
    outcome: str,
    model: OutcomeModel,
    rows: SessionRows,
    y: np.ndarray,
    held_out: np.ndarray,
    labels: Labels,
    settings: ForecastSettings,
) -> dict[str, Any]:
    """Held-out figures: per session and pooled AUC, Brier and ECE, and the alert rule's record."""
    mask = held_out[rows.client]
    probability = model.probability(rows.x[mask])
    y_held, session = y[mask], rows.session[mask]
    bins = int(settings.calibration_bins.value)

    def figures(select: np.ndarray) -> dict[str, float | None]:
        return {
            "n": int(select.sum()),
            "positives": int(y_held[select].sum()),
            "auc": auc(y_held[select], probability[select]),
            "brier": brier(y_held[select], probability[select]),
            "ece": expected_calibration_error(y_held[select], probability[select], bins),
            "mean_probability": float(probability[select].mean()) if select.any() else None,
        }

    out: dict[str, Any] = {
        "clients": int(held_out.sum()),
        "by_session": {str(s): figures(session == s) for s in settings.validation_sessions.value},
        "pooled": figures(np.ones(len(session), dtype=bool)),
    }
    alert = probability >= model.alert.threshold
    if outcome in COURSE:
        warned, eligible = course_flags(alert, rows.client[mask], session, labels.end_session)
        truth = labels.at(outcome, 0)
        positive, negative = eligible & truth & held_out, eligible & ~truth & held_out
        out["alert"] = {
            "sensitivity_before_last_session": _share(warned[positive]),
            "false_alarm_rate_before_last_session": _share(warned[negative]),
        }
    else:
        out["alert"] = {"sensitivity": _share(alert[y_held]), "false_alarm_rate": _share(alert[~y_held])}
    return out


def _share(flags: np.ndarray) -> float | None:
    return float(flags.mean()) if flags.size else None


def _check_reference(histories: Histories, labels: Labels) -> None:
    if len(histories) != len(labels.deterioration):
        raise InvalidInputError(
            "reference cohort",
            [FieldProblem("labels", len(labels.deterioration), f"{len(histories)} clients")],
        )
    if len(histories) < 200:
        raise InvalidInputError("reference cohort", [FieldProblem("clients", len(histories), "at least 200")])


def _versions() -> dict[str, str]:
    out = {}
    for package in ("attunement", "scikit-learn", "numpy"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "unknown"
    return out

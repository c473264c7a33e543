"""attunement's own calibrated forecast of deterioration, non-improvement and dropout.

Features from the history up to the current session (:mod:`~attunement.forecast.features`),
boosted trees stored as plain arrays (:mod:`~attunement.forecast.trees`), Platt calibration
(:mod:`~attunement.forecast.calibration`), alert thresholds chosen on reference clients
(:mod:`~attunement.forecast.alert_rules`), and a JSON model file that records what it was trained
on and how well it validated (:mod:`~attunement.forecast.model`). See docs/forecast.md.
"""

from attunement.forecast.expected import ExpectedRange
from attunement.forecast.features import FEATURES
from attunement.forecast.fitting import fit_model
from attunement.forecast.method import ForecastMethod
from attunement.forecast.model import (
    FORECAST_OUTCOMES,
    ForecastModel,
    default_model,
    load_model,
    save_model,
)
from attunement.forecast.predict import expected_range, predict_alerts, predict_risks

__all__ = [
    "FEATURES",
    "FORECAST_OUTCOMES",
    "ExpectedRange",
    "ForecastMethod",
    "ForecastModel",
    "default_model",
    "expected_range",
    "fit_model",
    "load_model",
    "predict_alerts",
    "predict_risks",
    "save_model",
]

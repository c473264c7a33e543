"""Using a fitted forecast: probabilities for the latest session, and the expected range.

A caseload's clients are at different sessions. Each client is described by data up to the
client's own latest session, so clients are grouped by that session and each group is cut there
(:meth:`Histories.upto`) before the features are computed.
"""

from __future__ import annotations

import numpy as np

from attunement.errors import FieldProblem, InvalidInputError
from attunement.forecast.expected import ExpectedRange
from attunement.forecast.features import ITEM_LEVEL, feature_matrix
from attunement.forecast.model import ForecastModel
from attunement.prediction.histories import Histories
from attunement.prediction.measures import MeasureTable


def features_at(model: ForecastModel, histories: Histories) -> np.ndarray:
    """Features for a history cut at one session (all clients at ``histories.max_session``).

    Refuses data without a measure the model was fitted on: its features would be missing for
    every client, which the trees never saw, and the probabilities would silently mean less."""
    check_measures(model, histories)
    return feature_matrix(
        histories, model.expected, model.session_cap, model.checkin_baseline_sessions, model.features
    )


def check_measures(model: ForecastModel, histories: Histories) -> None:
    """Raise a plain-language error naming each measure the model uses that the data lacks.

    A measure counts as present when the tables had rows of it (``histories.scores``), even if
    none is observed yet at an early session. A model file without a ``measures`` record (the
    bundled default model) is read as using the full set but is not held to it: it has always
    been used on caseloads without therapist ratings, whose missing values its trees route as
    they learnt to, and refusing them now would stop every such clinic's alerts."""
    if model.measures is None:
        return
    needed = [m for m in model.required_measures if m not in ITEM_LEVEL]
    MeasureTable(frozenset(histories.scores)).require(needed, "forecast model")


def latest_features(model: ForecastModel, histories: Histories) -> np.ndarray:
    """Features of every client at the client's own latest attended session (NaN rows for none)."""
    x = np.full((len(histories), len(model.features)), np.nan)
    for s in np.unique(histories.sessions):
        if s < 1:
            continue
        rows = np.flatnonzero(histories.sessions == s)
        mask = np.zeros(len(histories), dtype=bool)
        mask[rows] = True
        x[rows] = features_at(model, histories.subset(mask).upto(int(s)))
    return x


def predict_risks(model: ForecastModel, histories: Histories) -> dict[str, np.ndarray]:
    """Calibrated probability of each outcome at every client's latest session (NaN: no session)."""
    x = latest_features(model, histories)
    attended = histories.sessions >= 1
    out = {}
    for name, part in model.outcomes.items():
        risk = np.full(len(histories), np.nan)
        if attended.any():
            risk[attended] = part.probability(x[attended])
        out[name] = risk
    return out


def predict_alerts(model: ForecastModel, risks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The model's alert rule applied to probabilities (False where the probability is unknown)."""
    return {
        name: np.nan_to_num(risk, nan=-np.inf) >= model.outcomes[name].alert.threshold
        for name, risk in risks.items()
    }


def expected_range(model: ForecastModel, histories: Histories, measure: str = "phq9") -> ExpectedRange:
    """The band expected for every client at sessions 1..S given the client's first score.

    ``low``/``high`` are the band quantiles of reference clients who started at the same score and
    were still attending, ``mid`` their mean; arrays are clients x sessions (NaN without a first
    score). For chart bands and for reasons such as "PHQ-9 of 17 at session 4 is above the range
    expected for clients who started at 18".
    """
    known = model.expected.tables
    if measure not in known:
        raise InvalidInputError(
            "expected range",
            [
                FieldProblem(
                    "measure",
                    measure,
                    "a measure the model has an expected course for: " + " or ".join(known),
                )
            ],
        )
    intake = histories.first(measure)
    sessions = np.arange(1, histories.max_session + 1)
    low, mid, high = model.expected.band(measure, intake[:, None], sessions[None, :])
    return ExpectedRange(measure=measure, intake=intake, low=low, mid=mid, high=high)

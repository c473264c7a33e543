"""OQ-style expected recovery curves by intake band, with tolerance-interval signals.

Published method (Finch, Lambert & Schaalje 2001; prediction.md section 3.1): on a large
reference cohort, a mixed (hierarchical) linear model of the score over log(session number),
fitted separately for each intake-severity stratum, gives the expected mean score at sessions
1-20 and a tolerance interval around it. A patient whose score lies outside the interval on the
worse side is signalled (white / green / yellow / red on the clinician report).

What attunement implements:

- strata: the instrument's published severity bands of the intake score (PHQ-9: Kroenke et al.
  2001; GAD-7: Spitzer et al. 2006), read from the instrument definitions;
- model per stratum and measure: score = b0 + b1 log(s) + u0 + u1 log(s) + e, with a random
  intercept and log-slope per client (statsmodels MixedLM, REML), sessions 1-20;
- the expected distribution of a new client's score at session s is normal with mean
  b0 + b1 log(s) and variance d00 + 2 d01 log(s) + d11 log(s)^2 + sigma^2 (the model's marginal
  variance), from which the yellow and red tolerance limits are taken at the percentiles of
  ``parameters.json`` (unpublished for the OQ, so project choices);
- the signal uses the latest observed score; the risk is its standardised distance above the
  expected mean, the larger of PHQ-9 and GAD-7 (the OQ-45 is one total; our outcome has two).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from attunement.baselines.courses import OutcomeMeasure, latest, measures_for, standardised_distance
from attunement.baselines.parameters import OqParameters, baseline_parameters
from attunement.errors import FieldProblem, InvalidInputError
from attunement.instruments.registry import get_instrument
from attunement.prediction.histories import Histories
from attunement.prediction.methods import Method, Prediction
from attunement.prediction.outcomes import Labels

CITATION = (
    "OQ-45 expected recovery curves and signal-alarm system: Finch, Lambert & Schaalje 2001, "
    "Clin Psychol Psychother 8:231-242 (mixed linear model on log session by intake stratum, "
    "tolerance intervals); Lambert et al. 2002; signals as in Hannan et al. 2005, J Clin Psychol 61"
)
SIGNALS = ("green", "yellow", "red")


@dataclass(frozen=True)
class BandCurve:
    """The fitted mixed model of one intake band: fixed effects and variance components."""

    intercept: float
    log_slope: float
    re_cov: np.ndarray  # 2 x 2: intercept and log-slope random effects
    residual_variance: float
    clients: int

    def mean(self, session: np.ndarray) -> np.ndarray:
        return self.intercept + self.log_slope * np.log(session)

    def sd(self, session: np.ndarray) -> np.ndarray:
        t = np.log(session)
        d = self.re_cov
        variance = d[0, 0] + 2 * d[0, 1] * t + d[1, 1] * t**2 + self.residual_variance
        return np.sqrt(np.maximum(variance, 1e-9))


class OqExpectedRecovery(Method):
    """Expected recovery curves per intake band with yellow/red tolerance limits.

    ``parameters``: curve length, tolerance percentiles, clients per band and the sampling seed
    (default: ``parameters.json``, read by :meth:`fit`).
    """

    name = "oq_expected_recovery"
    kind = "baseline"
    outcomes = ("deterioration", "no_improvement")
    citation = CITATION

    def __init__(self, parameters: OqParameters | None = None) -> None:
        self.parameters = parameters

    def fit(self, reference: Histories, labels: Labels) -> OqExpectedRecovery:
        params = self.parameters or baseline_parameters().oq
        self.curve_sessions_ = int(params.curve_sessions.value)
        self.red_z_ = float(norm.ppf(params.red_percentile.value))
        self.yellow_z_ = float(norm.ppf(params.yellow_percentile.value))
        fit_clients = int(params.fit_clients_per_band.value)
        minimum_clients = int(params.minimum_band_clients.value)
        rng = np.random.default_rng(int(params.sample_seed.value))
        self.measures_: tuple[OutcomeMeasure, ...] = measures_for(reference, self.name)
        self.band_edges_ = {m.name: _band_minima(m.name) for m in self.measures_}
        #: per measure, one curve per band (in band order)
        self.curves_: dict[str, list[BandCurve]] = {}
        for m in self.measures_:
            values = reference.score(m.name)[:, : self.curve_sessions_]
            bands = self._band(m.name, values[:, 0])
            fitted: list[BandCurve | None] = []
            for b in range(len(self.band_edges_[m.name])):
                rows = np.flatnonzero(bands == b)
                if len(rows) > fit_clients:
                    rows = rng.choice(rows, fit_clients, replace=False)
                fitted.append(_fit_band(values[rows]) if len(rows) >= minimum_clients else None)
            try:
                self.curves_[m.name] = _borrow_nearest(fitted)
            except ValueError as exc:
                raise InvalidInputError(
                    self.name,
                    [
                        FieldProblem(
                            f"{m.name} reference clients",
                            str(exc),
                            f"at least {minimum_clients} clients with {m.name} scores in an intake band",
                        )
                    ],
                ) from exc
        return self

    def expected(
        self, measure: str, intake: np.ndarray, session: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Expected mean and SD for clients with these intake scores at these sessions."""
        self.check_fitted()
        bands = self._band(measure, intake)
        at = np.clip(session, 1, self.curve_sessions_).astype(float)
        mean, sd = np.full(len(intake), np.nan), np.full(len(intake), np.nan)
        for b, curve in enumerate(self.curves_[measure]):
            rows = bands == b
            mean[rows], sd[rows] = curve.mean(at[rows]), curve.sd(at[rows])
        return mean, sd

    def signals(self, histories: Histories) -> tuple[np.ndarray, np.ndarray]:
        """Standardised distance above the expected course and signal index (see SIGNALS)."""
        self.check_fitted()
        distances, signals = [], []
        for m in self.measures_:
            course = latest(histories.score(m.name))
            mean, sd = self.expected(m.name, course.first, course.session)
            z = m.worse_sign * standardised_distance(course.value, mean, sd)
            known = course.count >= 2
            signal = np.where(z > self.red_z_, 2, np.where(z > self.yellow_z_, 1, 0))
            distances.append(np.where(known, z, 0.0))
            signals.append(np.where(known, signal, 0))
        return np.maximum.reduce(distances), np.maximum.reduce(signals)

    def predict(self, histories: Histories) -> Prediction:
        self.check_fitted()
        z, signal = self.signals(histories)
        red = signal == SIGNALS.index("red")
        return Prediction(
            risk={"deterioration": z, "no_improvement": z},
            alert={"deterioration": red, "no_improvement": red},
            is_probability=False,
        )

    def _band(self, measure: str, intake: np.ndarray) -> np.ndarray:
        """Index of the intake band (NaN intake goes to the lowest band; it has no signal anyway)."""
        edges = self.band_edges_[measure]
        return np.clip(np.searchsorted(edges, np.nan_to_num(intake, nan=edges[0]), side="right") - 1, 0, None)


def _band_minima(instrument_id: str) -> np.ndarray:
    bands = get_instrument(instrument_id).scoring.bands
    if bands is None:
        raise ValueError(f"{instrument_id} has no severity bands to stratify the intake by")
    return np.array([band.min for band in bands.bands], dtype=float)


def _fit_band(values: np.ndarray) -> BandCurve | None:
    """REML fit of the random intercept and log-slope model on one band's clients x sessions.

    ``None`` when the band's data cannot identify the model (e.g. every client has one score);
    the band then borrows a neighbouring band's curve.
    """
    from statsmodels.regression.mixed_linear_model import MixedLM

    rows, cols = np.nonzero(~np.isnan(values))
    log_session = np.log(cols + 1.0)
    exog = np.column_stack([np.ones(len(rows)), log_session])
    if len(np.unique(cols)) < 2:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on near-boundary variance terms
        try:
            result = MixedLM(values[rows, cols], exog, groups=rows, exog_re=exog).fit(reml=True)
        except (np.linalg.LinAlgError, ValueError):
            return None
    re_cov = np.asarray(result.cov_re, dtype=float).reshape(2, 2)
    b0, b1 = np.asarray(result.fe_params, dtype=float)
    return BandCurve(float(b0), float(b1), re_cov, float(result.scale), len(np.unique(rows)))


def _borrow_nearest(fitted: list[BandCurve | None]) -> list[BandCurve]:
    """Bands too small to fit take the curve of the nearest band that was fitted."""
    have = {i: c for i, c in enumerate(fitted) if c is not None}
    if not have:
        raise ValueError("no intake band has enough reference clients to fit an expected curve")
    return [c if c is not None else have[min(have, key=lambda j: abs(j - i))] for i, c in enumerate(fitted)]

"""Trier-style personalised expected curves from nearest neighbours, with a 90% failure boundary.

Published method (Lutz et al. 2006, Clin Psychol Psychother 13:223-232; Schilling et al. 2021;
the Trier Treatment Navigator, Lutz et al. 2022; prediction.md section 4.4): for a new patient,
pick the past patients most similar on intake variables, fit a growth curve to their courses and
take the expected course with its 90% interval. A patient whose score lies above the upper bound
(the failure boundary) is *not on track*.

What attunement implements:

- neighbours: the ``neighbours`` reference clients nearest on the intake scores named in
  ``parameters.json`` (each standardised by its reference SD, Euclidean distance; the sources
  give neither the count nor the metric, so both are project choices);
- growth curve: a log-linear curve a + b log(s) fitted by least squares to all the neighbours'
  scores at sessions 1-20, separately for PHQ-9 and GAD-7;
- band: at each session, the neighbours' spread around that curve (residual SD at that session;
  the pooled residual SD when too few neighbours have a score there); the 90% interval is the
  curve +/- the two-sided 90% normal quantile times that SD, its upper bound the failure boundary;
- signal: the latest observed score above the boundary on either measure. The risk is the
  standardised distance above the expected course, the larger of the two measures.

Matching uses intake scores only (session 1), so a prediction at any session uses no later data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.stats import norm
from sklearn.neighbors import NearestNeighbors

from attunement.baselines.courses import OutcomeMeasure, latest, measures_for, standardised_distance
from attunement.baselines.parameters import TrierParameters, baseline_parameters
from attunement.prediction.histories import Histories
from attunement.prediction.measures import MeasureTable
from attunement.prediction.methods import Method, Prediction, attended_sessions
from attunement.prediction.outcomes import Labels

CITATION = (
    "Nearest-neighbour expected recovery curves with a 90% failure boundary: Lutz et al. 2006, "
    "Clin Psychol Psychother 13:223-232 (doi:10.1002/cpp.496); Schilling et al. 2021, Qual Life "
    "Res; Trier Treatment Navigator, Lutz et al. 2022, J Consult Clin Psychol 90:90-106"
)


@dataclass(frozen=True)
class Band:
    """Expected course and 90% interval per client (rows) and session (columns 1..S)."""

    low: np.ndarray
    mid: np.ndarray
    high: np.ndarray
    sd: np.ndarray


class _ReferenceSums:
    """Per reference client sums that make a neighbour set's least-squares fit one sparse product."""

    def __init__(self, values: np.ndarray) -> None:
        seen = ~np.isnan(values)
        t = np.log(np.arange(1, values.shape[1] + 1, dtype=float))
        y = np.where(seen, values, 0.0)
        self.t = t
        self.per_client = np.column_stack([seen.sum(1), seen @ t, seen @ t**2, y.sum(1), y @ t]).astype(float)
        self.counts = seen.astype(float)
        self.sums = y
        self.squares = y**2


class TrierNearestNeighbours(Method):
    """Personalised expected curves from the nearest reference clients at intake.

    ``parameters``: neighbour count, matching measures, curve length and boundary coverage
    (default: ``parameters.json``, read by :meth:`fit`).
    """

    name = "trier_nearest_neighbours"
    kind = "baseline"
    outcomes = ("deterioration", "no_improvement")
    citation = CITATION

    def __init__(self, parameters: TrierParameters | None = None) -> None:
        self.parameters = parameters

    def fit(self, reference: Histories, labels: Labels) -> TrierNearestNeighbours:
        params = self.parameters or baseline_parameters().trier
        self.curve_sessions_ = int(params.curve_sessions.value)
        self.minimum_scores_ = int(params.minimum_scores_per_session.value)
        self.boundary_z_ = float(norm.ppf(0.5 + params.boundary_coverage.value / 2))
        self.measures_: tuple[OutcomeMeasure, ...] = measures_for(reference, self.name)
        # Match on the measures it judges (a CORE-10 service on CORE-10) and on the other
        # matching measures the cohort records: a measure it never recorded cannot tell
        # clients apart.
        present = MeasureTable.of(reference)
        judged = [m.name for m in self.measures_]
        matching = [m for m in params.matching_measures.value if present.has(m)]
        self.matching_ = tuple(dict.fromkeys(judged + matching))
        intake = np.column_stack([reference.score(name)[:, 0] for name in self.matching_])
        seen = ~np.isnan(intake)
        filled = np.where(seen, intake, 0.0)
        count = np.maximum(seen.sum(axis=0), 1)
        self.centre_ = filled.sum(axis=0) / count  # a measure never recorded is left out (centre 0)
        spread = np.sqrt((np.where(seen, intake - self.centre_, 0.0) ** 2).sum(axis=0) / count)
        self.scale_ = np.where(spread > 0, spread, 1.0)
        k = min(int(params.neighbours.value), len(reference))
        self.index_ = NearestNeighbors(n_neighbors=k).fit(self._features(intake))
        self.sums_: dict[str, _ReferenceSums] = {}
        for m in self.measures_:
            values = m.worse_sign * reference.score(m.name)[:, : self.curve_sessions_]
            self.sums_[m.name] = _ReferenceSums(_pad(values, self.curve_sessions_))
        return self

    def _features(self, intake: np.ndarray) -> np.ndarray:
        z = (intake - self.centre_) / self.scale_
        return np.where(np.isnan(z), 0.0, z)  # a missing intake score matches the reference mean

    def _neighbour_matrix(self, histories: Histories) -> sparse.csr_matrix:
        intake = np.column_stack([histories.score(name)[:, 0] for name in self.matching_])
        index = self.index_.kneighbors(self._features(intake), return_distance=False)
        n, k = index.shape
        return sparse.csr_matrix(
            (np.ones(n * k), index.ravel(), np.arange(0, n * k + 1, k)),
            shape=(n, self.index_.n_samples_fit_),
        )

    def bands(self, histories: Histories) -> dict[str, Band]:
        """Each client's expected course and 90% interval, per outcome measure (worse = higher)."""
        self.check_fitted()
        weights = self._neighbour_matrix(histories)
        return {m.name: self._band(weights, self.sums_[m.name]) for m in self.measures_}

    def _band(self, weights: sparse.csr_matrix, ref: _ReferenceSums) -> Band:
        n, sx, sxx, sy, sxy = (weights @ ref.per_client).T
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = np.where(n * sxx - sx**2 > 0, (n * sxy - sx * sy) / (n * sxx - sx**2), 0.0)
            intercept = (sy - slope * sx) / n
        mid = intercept[:, None] + slope[:, None] * ref.t[None, :]
        count = weights @ ref.counts
        total = weights @ ref.sums
        squares = weights @ ref.squares
        residual_ss = np.maximum(squares - 2 * mid * total + count * mid**2, 0.0)
        pooled = np.sqrt(residual_ss.sum(1) / np.maximum(count.sum(1) - 2, 1))
        with np.errstate(invalid="ignore", divide="ignore"):
            per_session = np.sqrt(residual_ss / np.maximum(count - 1, 1))
        sd = np.where(count >= self.minimum_scores_, per_session, pooled[:, None])
        return Band(mid - self.boundary_z_ * sd, mid, mid + self.boundary_z_ * sd, sd)

    def predict(self, histories: Histories) -> Prediction:
        self.check_fitted()
        return self._predict(histories, self.bands(histories))

    def predict_sessions(self, histories: Histories, sessions: Iterable[int]) -> dict[int, Prediction]:
        """Neighbours depend on intake only, so they are found once for all sessions."""
        self.check_fitted()
        asked = attended_sessions(histories, sessions)
        if not asked:
            return {}
        bands = self.bands(histories)
        out = {}
        for s in asked:
            keep = histories.sessions >= s
            cut = {name: Band(*(a[keep] for a in (b.low, b.mid, b.high, b.sd))) for name, b in bands.items()}
            out[s] = self._predict(histories.upto(s), cut)
        return out

    def _predict(self, histories: Histories, bands: dict[str, Band]) -> Prediction:
        distances = []
        for m in self.measures_:
            course = latest(m.worse_sign * histories.score(m.name))
            band = bands[m.name]
            at = np.clip(course.session, 1, self.curve_sessions_) - 1
            rows = np.arange(len(at))
            z = standardised_distance(course.value, band.mid[rows, at], band.sd[rows, at])
            distances.append(np.where(course.count >= 2, z, 0.0))
        z = np.maximum.reduce(distances)
        not_on_track = z > self.boundary_z_
        return Prediction(
            risk={"deterioration": z, "no_improvement": z},
            alert={"deterioration": not_on_track, "no_improvement": not_on_track},
            is_probability=False,
        )


def _pad(values: np.ndarray, width: int) -> np.ndarray:
    if values.shape[1] >= width:
        return values
    out = np.full((values.shape[0], width), np.nan)
    out[:, : values.shape[1]] = values
    return out

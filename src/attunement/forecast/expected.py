"""The personalised expected course: what clients who started at the same severity scored by now.

For each session s and each possible intake score x, the reference cohort gives the distribution
of the scores observed at session s among clients whose first score was near x (a kernel-weighted
nearest-neighbour estimate, as in the Trier personalised curves). The forecast compares a client
with the centre of that distribution, and charts and alert reasons show its band: "PHQ-9 of 17 at
session 4 is above the range expected for clients who started at 18".

The expectation is conditional on still attending session s, which is the comparison a clinician
makes: this client, now, against the clients like them who were also still coming.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attunement.instruments import get_instrument
from attunement.prediction.histories import Histories
from attunement.prediction.measures import MeasureTable


def scale_top(measure: str) -> int:
    """Upper end of an outcome measure's scale, from its definition (intake scores are looked
    up as whole points 0..top)."""
    scale_range = get_instrument(measure).scoring.range
    if scale_range is None:
        raise ValueError(f"{measure}: an expected course needs the score range in the definition")
    return int(np.ceil(scale_range[1]))


@dataclass(frozen=True)
class ExpectedCourse:
    """Per measure, a (sessions, intake score, 3) table of the low, middle and high expected score.

    Row ``s - 1`` is session ``s``; sessions after the last row use the last row. ``low`` and
    ``high`` are the ``band`` quantiles of the observed scores, ``mid`` their weighted mean.
    """

    tables: dict[str, np.ndarray]
    band_quantiles: tuple[float, float]
    bandwidth: float

    def band(
        self, measure: str, intake: np.ndarray, session: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Low, middle and high expected score at ``session`` for clients with these intake scores."""
        table = self.tables[measure]
        known = ~np.isnan(intake)
        x = np.clip(np.rint(np.where(known, intake, 0)), 0, table.shape[1] - 1).astype(np.int64)
        row = np.clip(np.asarray(session, dtype=np.int64) - 1, 0, table.shape[0] - 1)
        values = table[row, x]
        values = np.where(known[..., None], values, np.nan)
        return values[..., 0], values[..., 1], values[..., 2]

    def mid(self, measure: str, intake: np.ndarray, session: np.ndarray) -> np.ndarray:
        return self.band(measure, intake, session)[1]


@dataclass(frozen=True)
class ExpectedRange:
    """The expected band for every client and session 1..S of a history, for charts and reasons."""

    measure: str
    intake: np.ndarray
    low: np.ndarray
    mid: np.ndarray
    high: np.ndarray


def fit_expected_course(
    histories: Histories,
    sessions: int,
    band_quantiles: tuple[float, float],
    bandwidth: float,
) -> ExpectedCourse:
    """Kernel-weighted expected scores per session and intake score from a reference cohort,
    for every outcome measure it holds."""
    tables = {}
    for measure in MeasureTable.of(histories).outcome_measures:
        top = scale_top(measure)
        values = histories.score(measure)
        intake = histories.first(measure)
        grid = np.arange(top + 1, dtype=float)
        table = np.full((sessions, top + 1, 3), np.nan)
        for s in range(1, sessions + 1):
            if s > values.shape[1]:
                table[s - 1] = table[s - 2]
                continue
            y = values[:, s - 1]
            ok = ~np.isnan(y) & ~np.isnan(intake)
            if ok.sum() < 2:
                table[s - 1] = table[s - 2] if s > 1 else np.column_stack([grid, grid, grid])
                continue
            table[s - 1] = _weighted_summary(intake[ok], y[ok], grid, band_quantiles, bandwidth)
        tables[measure] = table
    return ExpectedCourse(tables=tables, band_quantiles=band_quantiles, bandwidth=bandwidth)


def _weighted_summary(
    intake: np.ndarray, y: np.ndarray, grid: np.ndarray, quantiles: tuple[float, float], bandwidth: float
) -> np.ndarray:
    order = np.argsort(y, kind="stable")
    y, intake = y[order], intake[order]
    weights = np.exp(-0.5 * ((intake[None, :] - grid[:, None]) / bandwidth) ** 2)
    total = weights.sum(axis=1)
    mean = (weights * y[None, :]).sum(axis=1) / total
    # Mid-point cumulative weights: the quantile of a sorted, weighted sample.
    cumulative = (np.cumsum(weights, axis=1) - weights / 2) / total[:, None]
    out = np.empty((len(grid), 3))
    for row in range(len(grid)):
        out[row, 0] = np.interp(quantiles[0], cumulative[row], y)
        out[row, 2] = np.interp(quantiles[1], cumulative[row], y)
    out[:, 1] = mean
    return out

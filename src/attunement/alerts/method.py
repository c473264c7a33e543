"""The rupture rule as an early-warning method, so the evaluation harness can score it.

It predicts the ``rupture`` outcome (a true rupture in progress at the session, known in
simulated data). The risk is how far the latest check-in lies below the client's own level, in
units of the client's own variation (the last recorded one when a check-in was missed); the alert
is the rule's verdict: a dip, an unrepaired drop or a sustained decline, carried over a session
whose check-in was not recorded. Nothing is fitted: the thresholds are the data file's.
"""

from __future__ import annotations

import numpy as np

from attunement.alerts.rupture import RuptureCourse, rupture_course
from attunement.prediction.histories import Histories
from attunement.prediction.measures import MeasureTable
from attunement.prediction.methods import Prediction


class RuptureMethod:
    name = "own_baseline_rupture"
    kind = "ours"
    outcomes = ("rupture",)
    citation = "attunement: check-in drop against the client's own level and variation (docs/alerts.md)"

    def fit(self, reference: Histories, labels: object) -> None:
        """Nothing to learn: the thresholds are design choices read from parameters.json. A cohort
        without the relationship check-in gives the rule nothing to watch: not applicable."""
        MeasureTable.of(reference).require(["checkin"], self.name)

    def predict(self, histories: Histories) -> Prediction:
        course = rupture_course(histories.score("checkin"))
        return _answer(course, np.arange(len(histories)), histories.max_session - 1)

    def predict_sessions(self, histories: Histories, sessions: list[int]) -> dict[int, Prediction]:
        """One walk over the full histories; the state at session s depends only on sessions 1..s."""
        course = rupture_course(histories.score("checkin"))
        return {
            s: _answer(course, np.flatnonzero(histories.sessions >= s), s - 1)
            for s in sessions
            if s <= histories.max_session
        }


def _answer(course: RuptureCourse, rows: np.ndarray, col: int) -> Prediction:
    z = course.z[rows, : col + 1]
    seen = ~np.isnan(z)
    last = np.where(seen.any(axis=1), col - seen[:, ::-1].argmax(axis=1), -1)
    risk = np.where(last >= 0, z[np.arange(len(rows)), np.maximum(last, 0)], 0.0)
    alert = course.alerting[rows, col]
    return Prediction(risk={"rupture": risk}, alert={"rupture": alert}, is_probability=False)

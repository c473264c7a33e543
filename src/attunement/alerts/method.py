"""The rupture rule as an early-warning method, so the evaluation harness can score it.

It predicts the ``rupture`` outcome (a true rupture in progress at the session, known in
simulated data). The alert is the rule's verdict: a dip, an unrepaired drop or a sustained
decline, carried over a session whose check-in was not recorded; its thresholds are the data
file's and nothing about it is fitted, so the alerts the harness measures are the web app's.

The risk is a separate ranking score (:mod:`attunement.alerts.rupture_score`): the probability
of a rupture in progress, from the check-in's drop below the client's own level, the largest
lasting step down of the check-in, the same for the therapist's estimate and for the gap between
the two, and the rule's state, by a logistic regression fitted on the reference cohort's known
ruptures. The rule's own ``z`` (the latest check-in's drop in units of the client's own SD)
ranks sessions worse than this: it forgets an unrepaired drop once later check-ins have joined
the client's level and ignores the therapist's estimate. A reference cohort without rupture
labels (real data) gives nothing to fit the probability on: the risk is then the rule's ``z``
(not a probability), as the alert explains it.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from attunement.alerts.parameters import load_parameters
from attunement.alerts.rupture import RuptureCourse, rupture_course
from attunement.alerts.rupture_score import RuptureScore, design, fit_rupture_score, rupture_evidence
from attunement.prediction.histories import Histories
from attunement.prediction.measures import MeasureTable
from attunement.prediction.methods import Method, Prediction, attended_sessions
from attunement.prediction.outcomes import Labels

THERAPIST = "checkin_therapist"


class RuptureMethod(Method):
    """The rupture alert rule, with a ranking probability fitted on known ruptures (module doc).

    ``reference_sessions``: the sessions of each reference client the probability is fitted on
    (default: ``rupture_prediction.reference_sessions`` of the alerts' ``parameters.json``, read by
    :meth:`fit`).
    """

    name = "own_baseline_rupture"
    kind = "ours"
    outcomes = ("rupture",)
    citation = "attunement: check-in drop against the client's own level and variation (docs/alerts.md)"

    def __init__(self, reference_sessions: int | None = None) -> None:
        self.reference_sessions = reference_sessions

    def fit(self, reference: Histories, labels: Labels) -> RuptureMethod:
        """Fit the ranking probability on the reference cohort's known ruptures (the alert rule's
        thresholds are design choices read from parameters.json). A cohort without the
        relationship check-in gives the rule nothing to watch: not applicable. Without rupture
        labels (or with too few to learn from) the risk stays the rule's ``z``: ``score_`` is
        then None."""
        MeasureTable.of(reference).require(["checkin"], self.name)
        self.score_: RuptureScore | None = None
        if not getattr(labels, "has_ruptures", False):
            return self
        sessions = self.reference_sessions
        if sessions is None:
            sessions = int(load_parameters().rupture_prediction.reference_sessions.value)
        last = min(sessions, reference.max_session)
        evidence = _evidence(reference, width=last)
        inputs: list[np.ndarray] = []
        per_session: list[np.ndarray] = []
        for s in range(1, last + 1):
            rows = np.flatnonzero(reference.sessions >= s)
            inputs.append(design(evidence, rows, s - 1))
            per_session.append(labels.at("rupture", s)[rows])
        in_rupture = np.concatenate(per_session)
        if in_rupture.all() or not in_rupture.any():
            return self
        self.score_ = fit_rupture_score(np.vstack(inputs), in_rupture)
        return self

    def predict(self, histories: Histories) -> Prediction:
        self.check_fitted()
        course = rupture_course(histories.score("checkin"))
        evidence = _evidence(histories, course) if self.score_ is not None else None
        return self._answer(course, evidence, np.arange(len(histories)), histories.max_session - 1)

    def predict_sessions(self, histories: Histories, sessions: Iterable[int]) -> dict[int, Prediction]:
        """One walk over the full histories; every figure at session s depends only on sessions 1..s."""
        self.check_fitted()
        asked = [s for s in attended_sessions(histories, sessions) if s <= histories.max_session]
        course = rupture_course(histories.score("checkin"))
        width = max(asked, default=0)
        evidence = _evidence(histories, course, width) if self.score_ is not None and width else None
        return {
            s: self._answer(course, evidence, np.flatnonzero(histories.sessions >= s), s - 1) for s in asked
        }

    def _answer(
        self, course: RuptureCourse, evidence: dict[str, np.ndarray] | None, rows: np.ndarray, col: int
    ) -> Prediction:
        alert = course.alerting[rows, col]
        if self.score_ is None or evidence is None:  # evidence is gathered whenever there is a score
            return Prediction(risk={"rupture": _latest_z(course, rows, col)}, alert={"rupture": alert})
        risk = self.score_.probability(design(evidence, rows, col))
        return Prediction(risk={"rupture": risk}, alert={"rupture": alert}, is_probability=True)


def _evidence(
    histories: Histories, course: RuptureCourse | None = None, width: int | None = None
) -> dict[str, np.ndarray]:
    """The evidence of :func:`rupture_evidence` for sessions 1..``width`` (all by default)."""
    cols = slice(0, width or histories.max_session)
    therapist = histories.scores.get(THERAPIST)
    return rupture_evidence(
        histories.score("checkin")[:, cols],
        None if therapist is None else therapist[:, cols],
        None if course is None else _columns(course, cols),
    )


def _columns(course: RuptureCourse, cols: slice) -> RuptureCourse:
    return RuptureCourse(**{name: getattr(course, name)[:, cols] for name in course.__dataclass_fields__})


def _latest_z(course: RuptureCourse, rows: np.ndarray, col: int) -> np.ndarray:
    """The rule's ``z`` of the latest recorded check-in up to ``col`` (0 when none)."""
    z = course.z[rows, : col + 1]
    seen = ~np.isnan(z)
    last = np.where(seen.any(axis=1), col - seen[:, ::-1].argmax(axis=1), -1)
    return np.where(last >= 0, z[np.arange(len(rows)), np.maximum(last, 0)], 0.0)

"""Rational (rule-based) signals: reliable deterioration from intake, no reliable improvement by session k.

A rational rule (Lambert et al. 2002; Spielmans, Masters & Lambert 2006; the comparison system
of Lutz et al. 2006) needs no reference cohort: it applies the reliable change index of
Jacobson & Truax 1991 to the client's own scores. Here the change is always intake (first
observed score) against the latest observed score, judged with the same NHS Talking Therapies
paired definitions as the outcome labels (:func:`attunement.change.nhs_talking_therapies.paired_outcomes`):

- **deterioration rule**: alert when the course so far is a reliable deterioration (a reliable
  worsening on PHQ-9 or GAD-7);
- **no-improvement rule**: from session k on, alert when the course so far is not a reliable
  improvement (k from ``parameters.json``).

The continuous risk behind each rule is the change in units of the reliable-change threshold:
for deterioration the larger worsening of the two measures, for no improvement minus the larger
improvement. A rule fires once its risk passes 1; the risk ranks clients who have not got there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attunement.baselines.courses import OutcomeMeasure, latest, measures_for
from attunement.baselines.parameters import RationalParameters, baseline_parameters
from attunement.change.elementwise import Direction
from attunement.change.nhs_talking_therapies import paired_outcomes
from attunement.change.reliable_change import reliable_flags
from attunement.prediction.histories import Histories
from attunement.prediction.methods import Method, Prediction
from attunement.prediction.outcomes import Labels

CITATION = (
    "Rational rules with the reliable change index: Jacobson & Truax 1991, J Consult Clin Psychol "
    "59:12-19; compared with empirical signals by Lambert et al. 2002, Clin Psychol Psychother 9, "
    "Spielmans, Masters & Lambert 2006, Clin Psychol Psychother 13 (doi:10.1002/cpp.491) and "
    "Lutz et al. 2006, Clin Psychol Psychother 13:223-232; NHS Talking Therapies paired definitions"
)


class RationalRules(Method):
    """Reliable deterioration from intake, and no reliable improvement by session k.

    ``parameters``: session k and the minimum number of scores (default: ``parameters.json``,
    read by :meth:`fit`).
    """

    name = "rational_rules"
    kind = "baseline"
    outcomes = ("deterioration", "no_improvement")
    citation = CITATION

    def __init__(self, parameters: RationalParameters | None = None) -> None:
        self.parameters = parameters

    def fit(self, reference: Histories, labels: Labels) -> RationalRules:
        """Nothing to learn: a rational rule is fixed in advance. Only the measures it judges are
        read from the reference cohort (the same as its outcome labels; :func:`measures_for`)."""
        params = self.parameters or baseline_parameters().rational
        self.no_improvement_session_ = int(params.no_improvement_session.value)
        self.minimum_scores_ = int(params.minimum_scores.value)
        self.measures_: tuple[OutcomeMeasure, ...] = measures_for(reference, self.name)
        return self

    def predict(self, histories: Histories) -> Prediction:
        self.check_fitted()
        session = histories.max_session
        table = {}
        worsening, progress, counts = [], [], []
        for m in self.measures_:
            course = latest(histories.score(m.name))
            table[f"{m.name}_first"] = course.first
            table[f"{m.name}_last"] = np.where(course.count >= self.minimum_scores_, course.value, np.nan)
            change = m.worse_sign * (course.value - course.first) / m.change.points
            worsening.append(np.nan_to_num(change, nan=0.0))
            progress.append(np.nan_to_num(-change, nan=0.0))
            counts.append(course.count)
        if len(self.measures_) == 2:
            paired = paired_outcomes(pd.DataFrame(table)).table
            deteriorated = paired["reliable_deterioration"].fillna(False).to_numpy(dtype=bool)
            improved = paired["reliable_improvement"].fillna(False).to_numpy(dtype=bool)
        else:  # one measure: its own reliable change, as the labels of such a cohort
            m = self.measures_[0]
            direction: Direction = "lower_is_better" if m.worse_sign > 0 else "higher_is_better"
            first, last = table[f"{m.name}_first"], table[f"{m.name}_last"]
            improved, deteriorated, _ = reliable_flags(first, last, m.change, direction)
        enough = np.minimum.reduce(counts) >= self.minimum_scores_
        return Prediction(
            risk={
                "deterioration": np.maximum.reduce(worsening),
                "no_improvement": -np.maximum.reduce(progress),
            },
            alert={
                "deterioration": deteriorated,
                "no_improvement": (~improved) & enough & (session >= self.no_improvement_session_),
            },
            is_probability=False,
        )

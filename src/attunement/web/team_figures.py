"""Team figures for supervisors: questionnaire completion and outcomes per therapist, each with a
95% Wilson interval (:func:`attunement.charts.supervisor.wilson_interval`), ordered by the number
of clients (not by the rate: no league tables).

Completion: of the sessions with any record (a client form or the therapist's rating), the share
with a client PHQ-9. Outcomes: among clients with at least two PHQ-9 scores, the share whose
latest score is a reliable improvement on their first, and the share with reliable deterioration
(Jacobson & Truax, with the PHQ-9's published threshold).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from attunement.charts.supervisor import wilson_interval
from attunement.store.summaries import ClientSummary


@dataclass(frozen=True)
class Proportion:
    successes: int
    n: int

    @property
    def value(self) -> float | None:
        return self.successes / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float] | None:
        if not self.n:
            return None
        rate = wilson_interval(self.successes, self.n)
        return rate.low, rate.high


@dataclass(frozen=True)
class TherapistFigures:
    therapist: str
    clients: int
    open_alerts: int
    completion: Proportion
    improved: Proportion
    deteriorated: Proportion


def therapist_figures(therapist: str, summaries: Iterable[ClientSummary]) -> TherapistFigures:
    summaries = list(summaries)
    recorded = with_phq9 = 0
    improved = deteriorated = paired = 0
    for s in summaries:
        series = (s.phq9, s.gad7, s.checkin, s.checkin_therapist)
        for session in range(s.sessions):
            if any(session < len(v) and v[session] is not None for v in series):
                recorded += 1
                with_phq9 += session < len(s.phq9) and s.phq9[session] is not None
        if s.change is not None:
            paired += 1
            improved += s.change in ("recovered", "improved")
            deteriorated += s.change in ("deteriorated", "harmed")
    return TherapistFigures(
        therapist=therapist,
        clients=len(summaries),
        open_alerts=sum(len(s.open_alerts) for s in summaries),
        completion=Proportion(int(with_phq9), recorded),
        improved=Proportion(improved, paired),
        deteriorated=Proportion(deteriorated, paired),
    )

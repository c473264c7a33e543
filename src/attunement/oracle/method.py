"""The oracle as an early-warning method: the best-possible prediction on simulated data.

It knows the true generative model (the simulation profile) and computes, for every client
cut at session s, the posterior probability of each outcome given only what was recorded up to s
(:mod:`attunement.oracle.posterior`). No method can do better on data from this model, apart
from what other clients of the same therapist reveal about the therapist (ignored here:
each client's therapist effect is integrated over its prior), so its accuracy is the ceiling
the other methods are measured against.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from attunement.oracle.course import MEASURES, block_data
from attunement.oracle.particles import FirstSession, draw_particles
from attunement.oracle.posterior import ORACLE_OUTCOMES, SWEEPS, run_block
from attunement.prediction.histories import Histories
from attunement.prediction.measures import MeasureTable
from attunement.prediction.methods import Method, Prediction, attended_sessions
from attunement.prediction.outcomes import Labels
from attunement.simulation.specification import SimulationParameters

#: What the oracle needs: the two outcome measures of the paired rules by which the simulation
#: defines its outcomes (a missing check-in it integrates over, as a missed form).
NEEDED = ("phq9", "gad7")

#: Default particles per client and particles per computing block (memory: about 25 arrays of
#: block x max_sessions doubles). Computational settings, chosen for the effective sample sizes
#: and running times reported in docs/oracle.md.
PARTICLES = 200
BLOCK_PARTICLES = 20_000
#: Worker processes for the blocks (the evaluation machine has 2 cores).
WORKERS = 2
#: Alert when the posterior probability exceeds this (a probability-based rule; project choice).
ALERT_THRESHOLD = 0.5


@dataclass
class SessionPosteriors:
    """Posterior probabilities per outcome and the effective sample size, clients x sessions."""

    risk: dict[str, np.ndarray]
    ess: np.ndarray
    particles: int = 0
    stats: dict[str, float] = field(default_factory=dict)


@dataclass(eq=False)
class OracleMethod(Method):
    """Posterior outcome probabilities under the true simulation model (see module doc).

    ``profile`` is the simulation profile that generated the cohort (for a simulated cohort
    folder, ``load_parameters(cohort.profile_path)``); the other settings are computational.
    """

    profile: SimulationParameters
    particles: int = PARTICLES
    seed: int = 0
    sweeps: int = SWEEPS
    workers: int = WORKERS
    alert_threshold: float = ALERT_THRESHOLD
    #: The posteriors of the last call (effective sample sizes and counts, for reports); not part
    #: of what is fitted.
    last_posteriors: SessionPosteriors | None = field(default=None, init=False, repr=False)

    name = "oracle"
    kind = "oracle"
    outcomes = ORACLE_OUTCOMES
    citation = (
        "Posterior under the true simulation model (importance sampling over the latent class and "
        "parameters, exact integration of endings, missed forms and noise); docs/oracle.md"
    )

    def fit(self, reference: Histories, labels: Labels) -> OracleMethod:
        """Nothing to learn: the oracle knows the model. It predicts the outcomes as the simulation
        defines them (the paired rules on PHQ-9 and GAD-7), so on a cohort without both it is
        reported as not applicable, rather than giving figures that rank nobody. Fitting records
        the profile's client groups (``group_index_``, group label -> index)."""
        MeasureTable.of(reference).require(NEEDED, self.name)
        self.group_index_ = {label: i for i, label in enumerate(self.profile.groups.labels)}
        return self

    def predict(self, histories: Histories) -> Prediction:
        self.check_fitted()
        s = histories.max_session
        return self._answers(histories, [s])[s]

    def predict_sessions(self, histories: Histories, sessions: Iterable[int]) -> dict[int, Prediction]:
        """Predictions at each requested session, for the clients who attended it (in the order
        of ``histories.upto(s)``), computed in one pass."""
        self.check_fitted()
        wanted = sorted(attended_sessions(histories, sessions))
        return self._answers(histories, wanted) if wanted else {}

    def _answers(self, histories: Histories, wanted: list[int]) -> dict[int, Prediction]:
        MeasureTable.of(histories).require(NEEDED, self.name)
        post = self.posteriors(histories, max(wanted))
        self.last_posteriors = post
        out = {}
        width = post.ess.shape[1]
        for s in wanted:
            keep = histories.sessions >= s
            if s > width:  # beyond the model's longest course: nobody can be there
                risk = {name: np.full(int(keep.sum()), np.nan) for name in self.outcomes}
            else:
                risk = {name: post.risk[name][keep, s - 1] for name in self.outcomes}
            alert = {name: value > self.alert_threshold for name, value in risk.items()}
            out[s] = Prediction(risk=risk, alert=alert, is_probability=True)
        return out

    def posteriors(self, histories: Histories, horizon: int) -> SessionPosteriors:
        """Posterior probabilities at sessions 1..``horizon`` for every client (NaN after a
        client's last attended session)."""
        self.check_fitted()
        n = len(histories)
        horizon = max(1, min(int(horizon), self.profile.max_sessions))
        scores = {name: _columns(histories.score(name), horizon) for name in MEASURES}
        attended = np.minimum(histories.sessions, horizon)
        groups = np.array([self.group_index_.get(str(g), -1) for g in histories.group], dtype=np.int64)
        order = np.argsort(attended, kind="stable")
        size = max(1, BLOCK_PARTICLES // self.particles)
        blocks = [order[i : i + size] for i in range(0, n, size)]
        jobs = [
            (
                {name: values[b, : int(attended[b].max())] for name, values in scores.items()},
                attended[b],
                groups[b],
                histories.client_id[b],
            )
            for b in blocks
        ]
        risk = {name: np.full((n, horizon), np.nan) for name in self.outcomes}
        ess = np.full((n, horizon), np.nan)
        stats: dict[str, float] = {}
        for b, result in zip(blocks, self._run(jobs), strict=True):
            h = result.ess.shape[1]
            for name in self.outcomes:
                risk[name][b, :h] = result.risk[name]
            ess[b, :h] = result.ess
            for key, value in result.stats.items():
                stats[key] = stats.get(key, 0) + value
        return SessionPosteriors(risk=risk, ess=ess, particles=self.particles, stats=stats)

    def _run(self, jobs: list[tuple]):
        settings = (self.particles, self.seed, self.profile, self.sweeps)
        if self.workers <= 1 or len(jobs) < 2:
            return [_block(job, settings) for job in jobs]
        with ProcessPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(_block, jobs, [settings] * len(jobs), chunksize=1))


def _block(job: tuple, settings: tuple):
    scores, attended, groups, client_ids = job
    particles, seed, profile, sweeps = settings
    first = FirstSession(
        phq9=scores["phq9"][:, 0], gad7=scores["gad7"][:, 0], checkin=scores["checkin"][:, 0], group=groups
    )
    state, log_weight = draw_particles(first, client_ids, particles, seed, profile)
    return run_block(block_data(scores), attended, client_ids, state, log_weight, profile, seed, sweeps)


def _columns(values: np.ndarray, width: int) -> np.ndarray:
    out = np.full((values.shape[0], width), np.nan)
    w = min(width, values.shape[1])
    out[:, :w] = values[:, :w]
    return out

"""What one particle implies: the likelihood of the forms, attending, and every outcome.

For a particle (a draw of the client's class and parameters) the simulator's pure functions give
the whole latent course (:func:`attunement.simulation.paths.latent_paths`). Given a particle,
everything else is integrated exactly, not sampled:

- the observed forms up to session s: the product of the rounded, clipped Gaussian score
  probabilities (:func:`attunement.simulation.observation.score_probability`); missed forms are
  missing completely at random and drop out of the likelihood;
- having attended sessions 1..s: the survival S(s) = P(L >= s), L the last attended session
  (:func:`attunement.simulation.endings.survival`);
- the course outcome given L >= s: the last observed session is either after s, with
  probability W(j) for session j (:func:`attunement.simulation.truth.last_observed_weights`;
  for j > s this is already the joint probability with L >= s) and outcome probabilities from the
  latent scores at j (:func:`attunement.simulation.truth.session_outcome_probabilities`), or it
  is the last observed session up to s, with probability R(s) (every later form missed,
  :func:`attunement.simulation.truth.forms_missed_after`), whose scores are known:

      P(deterioration | particle, L >= s) = [sum_{j>s} W(j) det(j) + R(s) det_observed(s)] / S(s)

- ``dropout_next``: P(L = s, dropout) / S(s) (:func:`attunement.simulation.endings.end_distribution`).

Every array is particles (rows) x sessions 1..horizon (columns).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from attunement.oracle.state import ParticleState, to_model
from attunement.simulation.cohort import intake_distribution
from attunement.simulation.endings import end_distribution, survival
from attunement.simulation.observation import score_probability
from attunement.simulation.paths import LatentPaths, latent_paths
from attunement.simulation.scales import checkin_maximum, outcome_ids, outcome_scale
from attunement.simulation.specification import SimulationParameters
from attunement.simulation.truth import (
    combine_measures,
    forms_missed_after,
    last_observed_weights,
    observed_change,
    session_outcome_probabilities,
)

MEASURES = ("phq9", "gad7", "checkin", "checkin_therapist")
TINY = 1e-300


@dataclass(frozen=True)
class BlockData:
    """The recorded forms of a block of clients, sessions 1..horizon (NaN = missing), and the
    outcome the last observed scores up to each session would give if no later form came."""

    scores: dict[str, np.ndarray]
    observed_improvement: np.ndarray
    observed_deterioration: np.ndarray

    @property
    def horizon(self) -> int:
        return self.scores["phq9"].shape[1]


def block_data(scores: dict[str, np.ndarray]) -> BlockData:
    dep, anx = (outcome_scale(i) for i in outcome_ids())
    i1, d1 = _measure_change(dep, scores["phq9"])
    i2, d2 = _measure_change(anx, scores["gad7"])
    improvement, deterioration = combine_measures((i1, i2), (d1, d2))
    return BlockData(scores, improvement, deterioration)


@dataclass
class Course:
    """Per particle and session s: cumulative log likelihood of the forms up to s, log S(s), and
    each course outcome's probability given the particle and L >= s."""

    cum_loglik: np.ndarray
    log_survival: np.ndarray
    deterioration: np.ndarray
    no_improvement: np.ndarray
    dropout_next: np.ndarray

    def take(self, index: np.ndarray) -> Course:
        return Course(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def put(self, index: np.ndarray, other: Course) -> None:
        for f in fields(self):
            getattr(self, f.name)[index] = getattr(other, f.name)


def target_at(
    state: ParticleState,
    data: BlockData,
    profile: SimulationParameters,
    session: int,
    measures: tuple[str, ...] = MEASURES,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """log P(forms of each of ``measures`` up to ``session`` | particle) and log P(attended
    ``session`` | particle): what the data say about a particle at ``session``. Only the first
    ``session`` sessions are computed, and only the measures asked for."""
    clients, therapists = to_model(state, intake_distribution(profile))
    paths = latent_paths(clients, therapists, profile, sessions=session)
    loglik = {
        name: _log_likelihood(data, state.owner, paths, profile, session, (name,)).sum(axis=1)
        for name in measures
    }
    with np.errstate(divide="ignore"):
        return loglik, np.log(survival(paths.completion, paths.dropout)[:, session - 1])


def whole_course(state: ParticleState, data: BlockData, profile: SimulationParameters) -> Course:
    """Everything the posterior needs from each particle, for sessions 1..horizon."""
    h = data.horizon
    clients, therapists = to_model(state, intake_distribution(profile))
    paths = latent_paths(clients, therapists, profile)
    cum_loglik = np.cumsum(_log_likelihood(data, state.owner, paths, profile, h), axis=1)

    completed, dropped = end_distribution(paths.completion, paths.dropout)
    ended = completed + dropped
    miss = profile.measurement.missed_questionnaires.value
    reached = survival(paths.completion, paths.dropout)[:, :h]
    reach = forms_missed_after(ended, miss)[:, :h]
    weights = last_observed_weights(ended, miss)
    m = profile.measurement
    per_session = session_outcome_probabilities(
        paths.phq9,
        paths.gad7,
        data.scores["phq9"][state.owner, 0],
        data.scores["gad7"][state.owner, 0],
        m.phq9_noise_sd.value,
        m.gad7_noise_sd.value,
        recovery=False,
    )
    future_det = _after(weights * per_session["deterioration"], h)
    future_imp = _after(weights * per_session["improvement"], h)
    future_any = _after(weights, h)
    obs_imp = data.observed_improvement[state.owner]
    obs_det = data.observed_deterioration[state.owner]
    s = np.maximum(reached, TINY)
    with np.errstate(divide="ignore"):
        log_survival = np.log(reached)
    return Course(
        cum_loglik=cum_loglik,
        log_survival=log_survival,
        deterioration=np.clip((future_det + reach * obs_det) / s, 0.0, 1.0),
        no_improvement=np.clip((future_any - future_imp + reach * (1.0 - obs_imp)) / s, 0.0, 1.0),
        dropout_next=np.clip(dropped[:, :h] / s, 0.0, 1.0),
    )


def _log_likelihood(
    data: BlockData,
    owner: np.ndarray,
    paths: LatentPaths,
    profile: SimulationParameters,
    columns: int,
    names: tuple[str, ...] = MEASURES,
) -> np.ndarray:
    """log P(observed forms at each session | particle) (particles x columns); missing add 0.

    Particles come client by client, the same number for each client (``owner`` says whose),
    so each client's forms broadcast over its particles."""
    m, a, t = profile.measurement, profile.alliance, profile.therapists
    step = 10.0**-a.score_decimals.value
    dep, anx = (outcome_scale(i) for i in outcome_ids())
    measures = (
        ("phq9", paths.phq9, m.phq9_noise_sd.value, dep.maximum, 1.0),
        ("gad7", paths.gad7, m.gad7_noise_sd.value, anx.maximum, 1.0),
        ("checkin", paths.checkin, a.noise_sd.value, checkin_maximum(), step),
        ("checkin_therapist", paths.therapist_estimate, t.estimate_noise_sd.value, checkin_maximum(), step),
    )
    rows, starts = np.unique(owner, return_index=True)
    per = len(owner) // len(rows)
    if per * len(rows) != len(owner) or not np.array_equal(owner, np.repeat(owner[np.sort(starts)], per)):
        raise ValueError("particles must come client by client, the same number for each client")
    clients = owner[np.sort(starts)]
    total = np.zeros((len(clients), per, columns))
    for name, latent, sd, maximum, grid in measures:
        if name not in names:
            continue
        observed = data.scores[name][clients, None, :columns]
        seen = ~np.isnan(observed)
        latent = latent[:, :columns].reshape(len(clients), per, columns)
        probability = score_probability(np.where(seen, observed, 0.0), latent, sd, maximum, grid)
        total += np.where(seen, np.log(np.maximum(probability, TINY)), 0.0)
    return total.reshape(len(owner), columns)


def _measure_change(scale, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Improvement / deterioration (0/1) of the last observed score up to each session."""
    improved, deteriorated = observed_change(scale, values[:, :1], _forward_fill(values))
    return improved, deteriorated


def _forward_fill(values: np.ndarray) -> np.ndarray:
    seen = ~np.isnan(values)
    index = np.where(seen, np.arange(values.shape[1])[None, :], 0)
    np.maximum.accumulate(index, axis=1, out=index)
    return np.take_along_axis(values, index, axis=1)


def _after(values: np.ndarray, h: int) -> np.ndarray:
    """Column s-1 holds the sum over sessions j > s (columns j-1 >= s), for s = 1..h."""
    tail = np.cumsum(values[:, ::-1], axis=1)[:, ::-1]
    out = np.zeros((values.shape[0], h))
    width = min(h, tail.shape[1] - 1)
    out[:, :width] = tail[:, 1 : width + 1]
    return out

"""The posterior of each outcome at every session: sequential importance sampling with
resampling and Metropolis moves (a resample-move particle filter), one pass over the sessions.

Each client starts with particles from :mod:`attunement.oracle.particles` (weights prior /
proposal). At session s every particle's weight is multiplied by what session s adds to the
posterior: the probability of the forms recorded at s and of having come back for s,
S(s) / S(s - 1). The estimate at s is the weighted mean of each particle's outcome probability
given L >= s (:mod:`attunement.oracle.course`); the weights already hold S(s), the information
in "attended sessions 1..s".

Importance weights degenerate as sessions accumulate (each session pins the client's values
down further). When a client's effective sample size falls below :data:`RESAMPLE_BELOW` of its
particles, its particles are resampled (systematic) and moved with Metropolis-Hastings steps
that leave the posterior at s unchanged (:mod:`attunement.oracle.moves`), then carried on.

Everything at session s uses only the forms up to s: the weights, the move targets and the
random streams (one per client and session, from the seed and the client id).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from attunement.oracle.course import BlockData, target_at, whole_course
from attunement.oracle.moves import AFFECTS, MOVES, Streams, propose, step_sizes
from attunement.oracle.state import ParticleState
from attunement.prediction.outcomes import rupture_in_progress
from attunement.simulation.specification import SimulationParameters

ORACLE_OUTCOMES = ("deterioration", "no_improvement", "dropout_next", "rupture")
#: Resample and move a client's particles when the effective sample size falls below this share.
RESAMPLE_BELOW = 0.5
#: Metropolis sweeps (each: every move of :data:`~attunement.oracle.moves.MOVES`) after resampling.
SWEEPS = 2


@dataclass
class BlockResult:
    """Per outcome an (n clients x horizon) array of posterior probabilities (NaN after the
    client's last attended session); the effective sample size before any resampling; counts."""

    risk: dict[str, np.ndarray]
    ess: np.ndarray
    stats: dict[str, int] = field(default_factory=dict)


def session_streams(seed: int, client_ids: np.ndarray, session: int, per_client: int) -> Streams:
    """The random stream of each client's moves at one session (seed, client id, session)."""
    generators = [
        np.random.default_rng(
            np.random.SeedSequence(int(seed), spawn_key=(zlib.crc32(str(c).encode("utf-8")), 1, session))
        )
        for c in client_ids
    ]
    return Streams(generators, per_client)


def run_block(
    data: BlockData,
    attended: np.ndarray,
    client_ids: np.ndarray,
    state: ParticleState,
    log_weight: np.ndarray,
    profile: SimulationParameters,
    seed: int,
    sweeps: int = SWEEPS,
) -> BlockResult:
    """The resample-move filter for one block of clients, sessions 1..``data.horizon``."""
    n, per = log_weight.shape
    h = data.horizon
    course = whole_course(state, data, profile)
    logw = log_weight.ravel().copy()
    risk = {name: np.full((n, h), np.nan) for name in ORACLE_OUTCOMES}
    ess_out = np.full((n, h), np.nan)
    stats = {"moved_client_sessions": 0, "proposals": 0, "accepted": 0, "empty": 0}
    for s in range(1, h + 1):
        col = s - 1
        active = attended >= s
        if not active.any():
            break
        with np.errstate(invalid="ignore"):  # a particle that cannot reach s: -inf - -inf
            increment = course.cum_loglik[:, col] + course.log_survival[:, col]
            if col > 0:
                increment = increment - course.cum_loglik[:, col - 1] - course.log_survival[:, col - 1]
            logw = np.where(np.isnan(logw + increment), -np.inf, logw + increment)
        w = logw.reshape(n, per)
        empty = ~np.isfinite(w.max(axis=1))
        stats["empty"] += int((empty & active).sum())
        w[empty] = 0.0  # no particle can explain the data: start again from equal weights
        ess = _ess(w)
        ess_out[active, col] = ess[active]
        need = active & ((ess < RESAMPLE_BELOW * per) | empty)
        if need.any():
            rows = np.flatnonzero(need)
            streams = session_streams(seed, client_ids[rows], s, per)
            index = _systematic(w[rows], streams.uniform().reshape(len(rows), per)) + (rows * per)[:, None]
            index = index.ravel()
            target = (rows[:, None] * per + np.arange(per)[None, :]).ravel()
            state.put(target, state.take(index))
            course.put(target, course.take(index))
            w[rows] = 0.0
            moved = _move(state.take(target), data, profile, s, streams, sweeps, stats)
            changed, new_state = moved
            if changed.any():
                state.put(target, new_state)
                course.put(target, whole_course(new_state, data, profile))
            stats["moved_client_sessions"] += len(rows)
        logw = w.ravel()
        v = np.exp(w - w.max(axis=1, keepdims=True))
        v /= v.sum(axis=1, keepdims=True)
        in_rupture = rupture_in_progress(state.rupture_start, state.rupture_repaired, s).reshape(n, per)
        for name, values in (
            ("deterioration", course.deterioration[:, col]),
            ("no_improvement", course.no_improvement[:, col]),
            ("dropout_next", course.dropout_next[:, col]),
            ("rupture", in_rupture),
        ):
            estimate = np.clip((v * values.reshape(n, per)).sum(axis=1), 0.0, 1.0)
            risk[name][active, col] = estimate[active]
    return BlockResult(risk=risk, ess=ess_out, stats=stats)


def _move(
    cur: ParticleState,
    data: BlockData,
    profile: SimulationParameters,
    session: int,
    streams: Streams,
    sweeps: int,
    stats: dict[str, int],
) -> tuple[np.ndarray, ParticleState]:
    """Metropolis sweeps at the posterior of ``session``; returns which particles changed."""
    parts, survival = target_at(cur, data, profile, session)
    changed = np.zeros(len(cur), dtype=bool)
    steps = step_sizes(cur, streams.per_client)
    for _ in range(sweeps):
        for kind in MOVES:
            prop, log_ratio = propose(kind, cur, streams, steps, profile)
            new_parts, new_survival = target_at(prop, data, profile, session, AFFECTS[kind])
            proposal = {**parts, **new_parts}
            with np.errstate(invalid="ignore"):
                log_alpha = log_ratio + sum(proposal.values()) + new_survival - sum(parts.values()) - survival
            accept = np.log(streams.uniform()) < np.where(np.isnan(log_alpha), -np.inf, log_alpha)
            accept &= np.isfinite(new_survival)
            cur = cur.where(accept, prop)
            parts = {name: np.where(accept, proposal[name], parts[name]) for name in parts}
            survival = np.where(accept, new_survival, survival)
            changed |= accept
            stats["proposals"] += len(cur)
            stats["accepted"] += int(accept.sum())
    return changed, cur


def _ess(log_weights: np.ndarray) -> np.ndarray:
    v = np.exp(log_weights - log_weights.max(axis=1, keepdims=True))
    return v.sum(axis=1) ** 2 / (v**2).sum(axis=1)


def _systematic(log_weights: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Systematic resampling within each row: indices of the chosen particles (rows x P)."""
    v = np.exp(log_weights - log_weights.max(axis=1, keepdims=True))
    cdf = np.cumsum(v / v.sum(axis=1, keepdims=True), axis=1)
    cdf[:, -1] = 1.0
    per = log_weights.shape[1]
    positions = (np.arange(per)[None, :] + uniforms[:, :1]) / per
    return np.stack([np.searchsorted(cdf[i], positions[i], side="right") for i in range(len(cdf))]).clip(
        0, per - 1
    )

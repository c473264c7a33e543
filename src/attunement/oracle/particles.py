"""The starting particles of each client: draws of the latent class and parameters, with weights.

The oracle integrates over everything the simulator draws at intake by importance sampling.
Most latent values are drawn from their prior with the simulator's own draw functions
(:func:`attunement.simulation.cohort.draw_therapists`, :func:`~attunement.simulation.cohort.draw_clients`):
the class, the change-share noise, the therapist's change effect and estimate bias (one prior
therapist per particle: what other clients of the same therapist reveal is ignored), the
good-enough level, the planned length and the rupture (start, depth, repaired).

Three values are pinned down by the first session's forms alone, because at session 1 every
class has made no progress yet and no rupture has started: the latent PHQ-9 and GAD-7 intake
severities (the first scores are these plus noise) and the stable check-in level (the first
check-in is this plus noise). Drawing them from the prior would waste most particles, so they are
drawn from their exact posterior given the first score, on a fine grid (inverse CDF, uniform
within a grid cell). The importance weight log prior - log proposal corrects for the proposal
(including the prior correlation of the two intake severities, which the proposal ignores);
the likelihood of the observed forms is added session by session (:mod:`attunement.oracle.posterior`).

The latent classes of a client's particles are drawn in the prior proportions (stratified).

The proposal uses only session-1 data and each client's particles come from a random stream
derived from the seed and the client id, so the particles for a client never depend on later
sessions or on other clients: the answer at session s depends only on the data up to s.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace

import numpy as np
from scipy.special import ndtr

from attunement.oracle.state import ParticleState, log_intake_density, log_normal
from attunement.simulation.cohort import (
    Clients,
    change_share_mean,
    change_share_sd,
    draw_clients,
    draw_therapists,
    intake_distribution,
)
from attunement.simulation.observation import score_probability
from attunement.simulation.scales import checkin_maximum
from attunement.simulation.specification import SimulationParameters

#: Grid cells per proposal (latent intake severities and check-in level); a computational
#: setting: the proposal density is piecewise constant on these cells, which the weights correct.
GRID_CELLS = 512
#: Half-width of the proposal grids in prior SDs.
GRID_HALF_WIDTH = 6.5


@dataclass(frozen=True)
class FirstSession:
    """The first-session forms of a block of clients (NaN when missing) and their groups."""

    phq9: np.ndarray
    gad7: np.ndarray
    checkin: np.ndarray
    group: np.ndarray  # profile group index, -1 when unknown


def client_stream(seed: int, client_id: str) -> np.random.Generator:
    """The random stream of one client's particles: depends on the seed and the id only."""
    key = zlib.crc32(str(client_id).encode("utf-8"))
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(key,)))


def draw_particles(
    first: FirstSession, client_ids: np.ndarray, per_client: int, seed: int, profile: SimulationParameters
) -> tuple[ParticleState, np.ndarray]:
    """Particles for every client of the block (client-major rows) and their log weights
    log prior - log proposal (see the module doc)."""
    parts: list[Clients] = []
    effects, biases, uniforms = [], [], []
    for client_id in client_ids:
        rng = client_stream(seed, client_id)
        therapists = draw_therapists(per_client, profile, rng)
        clients = draw_clients(0, per_client, therapists, profile, rng)
        parts.append(replace(clients, latent_class=stratified_classes(per_client, profile, rng)))
        effects.append(therapists.change_effect)
        biases.append(therapists.estimate_bias)
        uniforms.append(rng.random((3, per_client)))
    n = len(client_ids)
    u = np.stack(uniforms)  # n x 3 x P
    prior = _concat(parts)
    m, a = profile.measurement, profile.alliance
    intake = intake_distribution(profile)
    step = 10.0**-a.score_decimals.value

    phq_raw, q_phq = _grid_posterior(
        u[:, 0], intake.mean[0], intake.sd[0], first.phq9, m.phq9_noise_sd.value, intake.maximum[0], 1.0
    )
    gad_raw, q_gad = _grid_posterior(
        u[:, 1], intake.mean[1], intake.sd[1], first.gad7, m.gad7_noise_sd.value, intake.maximum[1], 1.0
    )
    level, q_level = _grid_posterior(
        u[:, 2],
        a.level_mean.value,
        a.level_sd.value,
        first.checkin,
        a.noise_sd.value,
        checkin_maximum(),
        step,
    )
    log_weight = (
        log_intake_density(phq_raw, gad_raw, intake)
        + log_normal(level, a.level_mean.value, a.level_sd.value)
        - q_phq
        - q_gad
        - q_level
    )
    group = np.repeat(first.group, per_client)
    group = np.where(group >= 0, group, prior.group)  # unknown group: keep the prior draw
    level = level.ravel()
    change_raw = (
        change_share_mean(prior.latent_class, level, group, profile)
        + change_share_sd(prior.latent_class, profile) * prior.change_noise
        + np.concatenate(effects)
    )
    state = ParticleState(
        owner=np.repeat(np.arange(n), per_client),
        group=group,
        latent_class=prior.latent_class,
        change_raw=change_raw,
        phq9_raw=phq_raw.ravel(),
        gad7_raw=gad_raw.ravel(),
        level=level,
        bias=np.concatenate(biases),
        good_enough=prior.good_enough,
        planned=prior.planned_sessions,
        rupture_start=prior.rupture_session,
        rupture_depth=prior.rupture_depth,
        rupture_repaired=prior.rupture_repaired,
    )
    return state, log_weight


def stratified_classes(n: int, profile: SimulationParameters, rng: np.random.Generator) -> np.ndarray:
    """Latent classes for ``n`` particles in the prior proportions (systematic, then shuffled):
    each particle's class still has the prior distribution, but the class mix of the set does
    not vary by chance, which removes most of the Monte Carlo error of early predictions."""
    shares = np.array([c.share.value for c in profile.classes.values()])
    positions = (np.arange(n) + rng.random()) / n
    classes = np.minimum(
        np.searchsorted(np.cumsum(shares) / shares.sum(), positions, side="right"), len(shares) - 1
    )
    return rng.permutation(classes)


def _grid_posterior(
    uniforms: np.ndarray,
    mean: float,
    sd: float,
    observed: np.ndarray,
    noise_sd: float,
    maximum: float,
    step: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw a latent value (before clipping) from prior N(mean, sd^2) times the likelihood of
    the first observed score, on a grid; returns the draws (n x P) and log proposal densities."""
    edges = mean + sd * np.linspace(-GRID_HALF_WIDTH, GRID_HALF_WIDTH, GRID_CELLS + 1)
    width = edges[1] - edges[0]
    mid = (edges[:-1] + edges[1:]) / 2
    prior_mass = np.diff(ndtr((edges - mean) / sd))
    obs = np.asarray(observed, dtype=float)[:, None]
    likelihood = score_probability(
        np.nan_to_num(obs), np.clip(mid, 0.0, maximum)[None, :], noise_sd, maximum, step
    )
    likelihood = np.where(np.isnan(obs), 1.0, likelihood)
    mass = prior_mass[None, :] * likelihood
    mass /= mass.sum(axis=1, keepdims=True)
    cdf = np.cumsum(mass, axis=1)
    cdf[:, -1] = 1.0
    cell = np.stack([np.searchsorted(cdf[i], uniforms[i], side="right") for i in range(len(cdf))])
    cell = np.minimum(cell, GRID_CELLS - 1)
    below = np.take_along_axis(np.concatenate([np.zeros((len(cdf), 1)), cdf], axis=1), cell, axis=1)
    cell_mass = np.take_along_axis(mass, cell, axis=1)
    within = np.clip((uniforms - below) / np.maximum(cell_mass, 1e-300), 0.0, 1.0)
    draws = edges[cell] + width * within
    return draws, np.log(np.maximum(cell_mass, 1e-300) / width)


def _concat(parts: list[Clients]) -> Clients:
    fields = Clients.__dataclass_fields__
    return Clients(**{name: np.concatenate([getattr(p, name) for p in parts]) for name in fields})

"""Who is in the simulated clinic: therapists and clients with their latent characteristics.

Everything here is drawn once per therapist or client, at intake, and stays fixed for the
course; the session-by-session model (:mod:`attunement.simulation.paths`) is deterministic given
these, apart from measurement noise, missed forms and the ending draws. Each draw is a
documented conditional distribution (all parameters from the profile):

- therapist t: change effect u_t ~ N(0, change_effect_sd^2); estimate bias
  b_t ~ N(estimate_bias_mean, estimate_bias_sd^2);
- client i: therapist uniform over therapists; group ~ Categorical(group shares);
  latent class k ~ Categorical(class shares);
- latent intake severity (PHQ-9, GAD-7) ~ bivariate normal with the national intake means, SDs
  reduced by the measurement noise (so observed first scores have the national SDs) and the
  latent correlation, clipped to the scales;
- stable check-in level a_i ~ N(level_mean, level_sd^2);
- change share c_i = clip(mu_k + sd_k z + u_t + level_effect * (a_i - level_mean) / level_sd
  + group shift, -1, 1), z standard normal;
- good-enough level g_i ~ N(good_enough_mean, good_enough_sd^2);
- planned maximum length = clip(round(median * exp(log_sd z)), minimum, max_sessions);
- rupture: with probability ``ruptures.probability`` one episode starting at a session uniform
  over [first_session, last_session], depth ~ N(depth_mean, depth_sd^2) raised to at least
  depth_minimum, repaired with probability repair_probability.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from attunement.simulation.scales import outcome_ids, outcome_scale
from attunement.simulation.specification import SimulationParameters


@dataclass(frozen=True)
class Therapists:
    """Per-therapist latent values (arrays indexed by therapist number)."""

    change_effect: np.ndarray
    estimate_bias: np.ndarray

    def __len__(self) -> int:
        return len(self.change_effect)


@dataclass(frozen=True)
class Clients:
    """Per-client latent values for one block of clients (arrays indexed by position)."""

    number: np.ndarray
    therapist: np.ndarray
    group: np.ndarray
    latent_class: np.ndarray
    phq9_intake: np.ndarray
    gad7_intake: np.ndarray
    alliance_level: np.ndarray
    change_share: np.ndarray
    good_enough: np.ndarray
    planned_sessions: np.ndarray
    rupture_session: np.ndarray
    rupture_depth: np.ndarray
    rupture_repaired: np.ndarray
    #: the standard normal z of the change share (kept so that a posterior computation can
    #: recompute the change share for another check-in level with :func:`change_share`)
    change_noise: np.ndarray

    def __len__(self) -> int:
        return len(self.number)


@dataclass(frozen=True)
class IntakeDistribution:
    """The bivariate normal of the latent intake severities (PHQ-9, GAD-7) before clipping."""

    mean: np.ndarray
    sd: np.ndarray
    correlation: float
    maximum: np.ndarray

    def clip(self, phq9: np.ndarray, gad7: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Latent severities are clipped to the scales (point masses at 0 and the maximum)."""
        return np.clip(phq9, 0.0, self.maximum[0]), np.clip(gad7, 0.0, self.maximum[1])


def intake_distribution(profile: SimulationParameters) -> IntakeDistribution:
    """Means, SDs (the national SD reduced by the measurement noise) and correlation of the
    latent intake severities, and the scale maxima they are clipped to."""
    i, m = profile.intake, profile.measurement
    depression, anxiety = outcome_ids()
    return IntakeDistribution(
        mean=np.array([i.phq9_mean.value, i.gad7_mean.value]),
        sd=np.array(
            [
                math.sqrt(i.phq9_sd.value**2 - m.phq9_noise_sd.value**2),
                math.sqrt(i.gad7_sd.value**2 - m.gad7_noise_sd.value**2),
            ]
        ),
        correlation=i.latent_correlation.value,
        maximum=np.array([outcome_scale(depression).maximum, outcome_scale(anxiety).maximum]),
    )


def change_share_mean(
    latent_class: np.ndarray, level: np.ndarray, group: np.ndarray, profile: SimulationParameters
) -> np.ndarray:
    """mu_k + level_effect (a - level_mean) / level_sd + group shift: the change share before the
    client's own deviation and the therapist's effect."""
    a = profile.alliance
    mean = np.array([c.change_mean.value for c in profile.classes.values()])[latent_class]
    return (
        mean
        + a.level_effect_on_change.value * (level - a.level_mean.value) / a.level_sd.value
        + np.asarray(profile.groups.change_shift.value)[group]
    )


def change_share_sd(latent_class: np.ndarray, profile: SimulationParameters) -> np.ndarray:
    """sd_k: the SD of the client's own deviation from the class's change share."""
    return np.array([c.change_sd.value for c in profile.classes.values()])[latent_class]


def bounded_change(raw: np.ndarray) -> np.ndarray:
    """The change share is kept within [-1, 1] (a latent score never leaves the scale)."""
    return np.clip(raw, -1.0, 1.0)


def change_share(
    latent_class: np.ndarray,
    noise: np.ndarray,
    therapist_effect: np.ndarray,
    level: np.ndarray,
    group: np.ndarray,
    profile: SimulationParameters,
) -> np.ndarray:
    """c = clip(mu_k + sd_k z + u_t + level_effect (a - level_mean) / level_sd + group shift, -1, 1)."""
    raw = (
        change_share_mean(latent_class, level, group, profile)
        + change_share_sd(latent_class, profile) * noise
        + therapist_effect
    )
    return bounded_change(raw)


def draw_endings(
    n: int, profile: SimulationParameters, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Good-enough levels ~ N(mean, sd^2) and planned maximum lengths
    clip(round(median exp(log_sd z)), minimum, max_sessions)."""
    e = profile.endings
    good_enough = e.good_enough_mean.value + e.good_enough_sd.value * rng.standard_normal(n)
    planned = np.rint(
        e.planned_sessions_median.value * np.exp(e.planned_sessions_log_sd.value * rng.standard_normal(n))
    )
    planned = np.clip(planned, e.planned_sessions_minimum.value, profile.max_sessions).astype(np.int64)
    return good_enough, planned


def draw_ruptures(
    n: int, profile: SimulationParameters, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start session (0 for none), depth (0 for none) and repaired flag of each client's rupture."""
    r = profile.ruptures
    has_rupture = rng.random(n) < r.probability.value
    start = rng.integers(int(r.first_session.value), int(r.last_session.value) + 1, n)
    depth = np.maximum(r.depth_mean.value + r.depth_sd.value * rng.standard_normal(n), r.depth_minimum.value)
    repaired = rng.random(n) < r.repair_probability.value
    return np.where(has_rupture, start, 0), np.where(has_rupture, depth, 0.0), has_rupture & repaired


def therapist_count(n_clients: int, profile: SimulationParameters) -> int:
    return max(1, math.ceil(n_clients / profile.therapists.clients_per_therapist.value))


def draw_therapists(n_therapists: int, profile: SimulationParameters, rng: np.random.Generator) -> Therapists:
    t = profile.therapists
    return Therapists(
        change_effect=t.change_effect_sd.value * rng.standard_normal(n_therapists),
        estimate_bias=t.estimate_bias_mean.value
        + t.estimate_bias_sd.value * rng.standard_normal(n_therapists),
    )


def draw_clients(
    first_number: int, n: int, therapists: Therapists, profile: SimulationParameters, rng: np.random.Generator
) -> Clients:
    """Draw ``n`` clients numbered from ``first_number``."""
    therapist = rng.integers(0, len(therapists), n)
    group = rng.choice(len(profile.groups.labels), size=n, p=profile.groups.shares.value)
    shares = [c.share.value for c in profile.classes.values()]
    latent_class = rng.choice(len(shares), size=n, p=shares)
    phq9, gad7 = _intake(n, profile, rng)

    a = profile.alliance
    level = a.level_mean.value + a.level_sd.value * rng.standard_normal(n)
    change_noise = rng.standard_normal(n)
    change = change_share(
        latent_class, change_noise, therapists.change_effect[therapist], level, group, profile
    )
    good_enough, planned = draw_endings(n, profile, rng)
    rupture_session, rupture_depth, rupture_repaired = draw_ruptures(n, profile, rng)
    return Clients(
        number=np.arange(first_number, first_number + n),
        therapist=therapist,
        group=group,
        latent_class=latent_class,
        phq9_intake=phq9,
        gad7_intake=gad7,
        alliance_level=level,
        change_share=change,
        good_enough=good_enough,
        planned_sessions=planned,
        rupture_session=rupture_session,
        rupture_depth=rupture_depth,
        rupture_repaired=rupture_repaired,
        change_noise=change_noise,
    )


def _intake(n: int, profile: SimulationParameters, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    d = intake_distribution(profile)
    rho = d.correlation
    z1, z2 = rng.standard_normal(n), rng.standard_normal(n)
    phq9 = d.mean[0] + d.sd[0] * z1
    gad7 = d.mean[1] + d.sd[1] * (rho * z1 + math.sqrt(1 - rho**2) * z2)
    return d.clip(phq9, gad7)

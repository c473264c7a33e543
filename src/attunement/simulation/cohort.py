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

from attunement.simulation.profile import Profile
from attunement.simulation.scales import outcome_ids, outcome_scale


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

    def __len__(self) -> int:
        return len(self.number)


def therapist_count(n_clients: int, profile: Profile) -> int:
    return max(1, math.ceil(n_clients / profile.therapists.clients_per_therapist.value))


def draw_therapists(n_therapists: int, profile: Profile, rng: np.random.Generator) -> Therapists:
    t = profile.therapists
    return Therapists(
        change_effect=t.change_effect_sd.value * rng.standard_normal(n_therapists),
        estimate_bias=t.estimate_bias_mean.value
        + t.estimate_bias_sd.value * rng.standard_normal(n_therapists),
    )


def draw_clients(
    first_number: int, n: int, therapists: Therapists, profile: Profile, rng: np.random.Generator
) -> Clients:
    """Draw ``n`` clients numbered from ``first_number``."""
    therapist = rng.integers(0, len(therapists), n)
    group = rng.choice(len(profile.groups.labels), size=n, p=profile.groups.shares.value)
    shares = [c.share.value for c in profile.classes.values()]
    latent_class = rng.choice(len(shares), size=n, p=shares)
    phq9, gad7 = _intake(n, profile, rng)

    a = profile.alliance
    level = a.level_mean.value + a.level_sd.value * rng.standard_normal(n)
    mean = np.array([c.change_mean.value for c in profile.classes.values()])[latent_class]
    sd = np.array([c.change_sd.value for c in profile.classes.values()])[latent_class]
    change = (
        mean
        + sd * rng.standard_normal(n)
        + therapists.change_effect[therapist]
        + a.level_effect_on_change.value * (level - a.level_mean.value) / a.level_sd.value
        + np.asarray(profile.groups.change_shift.value)[group]
    )

    e = profile.endings
    good_enough = e.good_enough_mean.value + e.good_enough_sd.value * rng.standard_normal(n)
    planned = np.rint(
        e.planned_sessions_median.value * np.exp(e.planned_sessions_log_sd.value * rng.standard_normal(n))
    )
    planned = np.clip(planned, e.planned_sessions_minimum.value, profile.max_sessions).astype(np.int64)

    r = profile.ruptures
    has_rupture = rng.random(n) < r.probability.value
    start = rng.integers(int(r.first_session.value), int(r.last_session.value) + 1, n)
    depth = np.maximum(r.depth_mean.value + r.depth_sd.value * rng.standard_normal(n), r.depth_minimum.value)
    repaired = rng.random(n) < r.repair_probability.value
    return Clients(
        number=np.arange(first_number, first_number + n),
        therapist=therapist,
        group=group,
        latent_class=latent_class,
        phq9_intake=phq9,
        gad7_intake=gad7,
        alliance_level=level,
        change_share=np.clip(change, -1.0, 1.0),
        good_enough=good_enough,
        planned_sessions=planned,
        rupture_session=np.where(has_rupture, start, 0),
        rupture_depth=np.where(has_rupture, depth, 0.0),
        rupture_repaired=has_rupture & repaired,
    )


def _intake(n: int, profile: Profile, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    i, m = profile.intake, profile.measurement
    phq_sd = math.sqrt(i.phq9_sd.value**2 - m.phq9_noise_sd.value**2)
    gad_sd = math.sqrt(i.gad7_sd.value**2 - m.gad7_noise_sd.value**2)
    rho = i.latent_correlation.value
    z1, z2 = rng.standard_normal(n), rng.standard_normal(n)
    phq9 = i.phq9_mean.value + phq_sd * z1
    gad7 = i.gad7_mean.value + gad_sd * (rho * z1 + math.sqrt(1 - rho**2) * z2)
    depression, anxiety = outcome_ids()
    return (
        np.clip(phq9, 0.0, outcome_scale(depression).maximum),
        np.clip(gad7, 0.0, outcome_scale(anxiety).maximum),
    )

"""The particles: one draw of a client's latent class and parameters per row, and their prior.

A particle holds what the simulator draws at intake (:mod:`attunement.simulation.cohort`), in the
form the posterior computation moves around in:

- ``latent_class`` and ``change_raw``, the change share before clipping to [-1, 1]. Given the
  class, the check-in level and the group it is normal with SD sqrt(sd_k^2 + change_effect_sd^2):
  the client's own deviation and the therapist's change effect, integrated over the therapist
  prior (what other clients of the same therapist reveal is ignored);
- ``phq9_raw``, ``gad7_raw``: latent intake severities before clipping to the scales;
- ``level`` (stable check-in level) and ``bias`` (the therapist's estimate bias, also integrated
  over the therapist prior);
- ``good_enough``, ``planned``; the rupture ``rupture_start`` (0 for none), ``rupture_depth``,
  ``rupture_repaired``; the client's ``group``.

:func:`to_model` turns particles into the simulator's ``Clients`` and ``Therapists`` so that the
simulator's own pure functions compute their latent course; :class:`Prior` gives the log prior
density of the parts that the Metropolis moves change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np

from attunement.simulation.cohort import (
    Clients,
    IntakeDistribution,
    Therapists,
    bounded_change,
    change_share_mean,
    change_share_sd,
    intake_distribution,
)
from attunement.simulation.specification import SimulationParameters

LOG_2PI = math.log(2 * math.pi)


@dataclass(frozen=True)
class ParticleState:
    """Latent values, one row per particle; ``owner`` is the particle's client (block row)."""

    owner: np.ndarray
    group: np.ndarray
    latent_class: np.ndarray
    change_raw: np.ndarray
    phq9_raw: np.ndarray
    gad7_raw: np.ndarray
    level: np.ndarray
    bias: np.ndarray
    good_enough: np.ndarray
    planned: np.ndarray
    rupture_start: np.ndarray
    rupture_depth: np.ndarray
    rupture_repaired: np.ndarray

    def __len__(self) -> int:
        return len(self.owner)

    def take(self, index: np.ndarray) -> ParticleState:
        return ParticleState(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def put(self, index: np.ndarray, other: ParticleState) -> None:
        """Overwrite rows ``index`` with ``other`` (in place: the arrays are the block's own)."""
        for f in fields(self):
            getattr(self, f.name)[index] = getattr(other, f.name)

    def where(self, mask: np.ndarray, other: ParticleState) -> ParticleState:
        """Rows of ``other`` where ``mask``, else of ``self``."""
        return ParticleState(
            **{f.name: np.where(mask, getattr(other, f.name), getattr(self, f.name)) for f in fields(self)}
        )

    def but(self, **changes: np.ndarray) -> ParticleState:
        return replace(self, **changes)


def to_model(state: ParticleState, intake: IntakeDistribution) -> tuple[Clients, Therapists]:
    """The particles as simulator clients, each with its own (prior) therapist."""
    m = len(state)
    phq9, gad7 = intake.clip(state.phq9_raw, state.gad7_raw)
    clients = Clients(
        number=np.arange(m),
        therapist=np.arange(m),
        group=state.group,
        latent_class=state.latent_class,
        phq9_intake=phq9,
        gad7_intake=gad7,
        alliance_level=state.level,
        change_share=bounded_change(state.change_raw),
        good_enough=state.good_enough,
        planned_sessions=state.planned,
        rupture_session=state.rupture_start,
        rupture_depth=state.rupture_depth,
        rupture_repaired=state.rupture_repaired,
        change_noise=np.zeros(m),
    )
    return clients, Therapists(change_effect=np.zeros(m), estimate_bias=state.bias)


@dataclass(frozen=True)
class Prior:
    """Log prior densities (up to constants) of the particle parts that the moves change."""

    profile: SimulationParameters

    @property
    def intake(self) -> IntakeDistribution:
        return intake_distribution(self.profile)

    def change_sd(self, latent_class: np.ndarray) -> np.ndarray:
        """SD of the raw change share given class, level and group (therapist integrated)."""
        effect_sd = self.profile.therapists.change_effect_sd.value
        return np.sqrt(change_share_sd(latent_class, self.profile) ** 2 + effect_sd**2)

    def class_and_change(self, s: ParticleState) -> np.ndarray:
        shares = np.log([c.share.value for c in self.profile.classes.values()])[s.latent_class]
        mean = change_share_mean(s.latent_class, s.level, s.group, self.profile)
        return shares + log_normal(s.change_raw, mean, self.change_sd(s.latent_class))

    def intake_severity(self, s: ParticleState) -> np.ndarray:
        return log_intake_density(s.phq9_raw, s.gad7_raw, self.intake)

    def level(self, s: ParticleState) -> np.ndarray:
        a = self.profile.alliance
        return log_normal(s.level, a.level_mean.value, a.level_sd.value)

    def bias(self, s: ParticleState) -> np.ndarray:
        t = self.profile.therapists
        return log_normal(s.bias, t.estimate_bias_mean.value, t.estimate_bias_sd.value)

    def depth(self, s: ParticleState) -> np.ndarray:
        """Density of the depth where it lies above the minimum (its continuous part)."""
        r = self.profile.ruptures
        return log_normal(s.rupture_depth, r.depth_mean.value, r.depth_sd.value)


def log_normal(x: np.ndarray, mean: np.ndarray | float, sd: np.ndarray | float) -> np.ndarray:
    return -0.5 * ((x - mean) / sd) ** 2 - np.log(sd) - 0.5 * LOG_2PI


def log_intake_density(phq9: np.ndarray, gad7: np.ndarray, intake: IntakeDistribution) -> np.ndarray:
    """Log density of the bivariate normal of the latent intake severities before clipping."""
    z1 = (phq9 - intake.mean[0]) / intake.sd[0]
    z2 = (gad7 - intake.mean[1]) / intake.sd[1]
    rho = intake.correlation
    quad = (z1**2 - 2 * rho * z1 * z2 + z2**2) / (1 - rho**2)
    return -0.5 * quad - math.log(2 * math.pi * intake.sd[0] * intake.sd[1] * math.sqrt(1 - rho**2))

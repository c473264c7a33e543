"""Metropolis-Hastings moves that refresh particles after resampling.

After resampling, many particles are copies of the few that fit the data so far. Each move
proposes a change to some latent values of every particle and accepts it with the
Metropolis-Hastings probability for the posterior at the current session s,
prior x P(forms up to s) x P(attended s) (:func:`attunement.oracle.course.target_at`), so the
particles stay a sample of that posterior while becoming diverse again:

- ``symptoms``: Gaussian random walk on the latent intake severities and the raw change share;
- ``relationship``: random walk on the check-in level, the therapist's estimate bias and the
  rupture depth;
- ``class``: a new class and raw change share from their prior given the check-in level (an
  independence proposal: the prior cancels); this lets particles move between classes whose
  courses look alike so far (a delayed responder and a non-responder before session 6);
- ``rupture``: a new rupture (start, depth, repaired) from its prior (independence proposal);
- ``rupture_local``: the rupture's start one session earlier or later, or repaired flipped;
- ``ending``: a new good-enough level and planned length from their prior.

Random-walk step sizes are the spread of each value among the client's particles (floored), so
they follow the posterior's width as it narrows over the sessions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from attunement.oracle.state import ParticleState, Prior
from attunement.simulation.cohort import change_share_mean, draw_endings, draw_ruptures
from attunement.simulation.specification import SimulationParameters

MOVES = ("symptoms", "relationship", "class", "rupture", "rupture_local", "ending")
#: The forms whose likelihood each move can change (the others are reused): the check-in level
#: and bias do not touch the symptom scores; the ending levels touch only attending.
AFFECTS = {
    "symptoms": ("phq9", "gad7", "checkin", "checkin_therapist"),
    "relationship": ("checkin", "checkin_therapist"),
    "class": ("phq9", "gad7", "checkin", "checkin_therapist"),
    "rupture": ("phq9", "gad7", "checkin", "checkin_therapist"),
    "rupture_local": ("phq9", "gad7", "checkin", "checkin_therapist"),
    "ending": (),
}
#: Smallest random-walk steps (scale points; change share as a fraction): computational settings.
STEP_FLOOR = {"phq9_raw": 0.3, "gad7_raw": 0.2, "change_raw": 0.02, "level": 0.05, "bias": 0.05, "depth": 0.1}
STEP_SCALE = 1.0


@dataclass
class Streams:
    """One random stream per client being moved (client-major, ``per_client`` particles each)."""

    generators: list[np.random.Generator]
    per_client: int

    def normal(self) -> np.ndarray:
        return np.concatenate([g.standard_normal(self.per_client) for g in self.generators])

    def uniform(self) -> np.ndarray:
        return np.concatenate([g.random(self.per_client) for g in self.generators])

    def each(self, draw: Callable[[int, np.random.Generator], tuple]) -> tuple[np.ndarray, ...]:
        parts = [draw(self.per_client, g) for g in self.generators]
        return tuple(np.concatenate(p) for p in zip(*parts, strict=True))


def step_sizes(state: ParticleState, per_client: int) -> dict[str, np.ndarray]:
    """Per particle, the random-walk step of each value: its SD among the client's particles."""
    out = {}
    for name in ("phq9_raw", "gad7_raw", "change_raw", "level", "bias"):
        values = getattr(state, name).reshape(-1, per_client)
        out[name] = np.repeat(np.maximum(values.std(axis=1), STEP_FLOOR[name]), per_client)
    depth = state.rupture_depth.reshape(-1, per_client)
    has = state.rupture_start.reshape(-1, per_client) > 0
    count = np.maximum(has.sum(axis=1), 1)
    mean = (depth * has).sum(axis=1) / count
    sd = np.sqrt(((depth - mean[:, None]) ** 2 * has).sum(axis=1) / count)
    out["depth"] = np.repeat(np.maximum(sd, STEP_FLOOR["depth"]), per_client)
    return out


def propose(
    kind: str,
    cur: ParticleState,
    streams: Streams,
    steps: dict[str, np.ndarray],
    profile: SimulationParameters,
) -> tuple[ParticleState, np.ndarray]:
    """A proposal of kind ``kind`` and its log prior ratio (plus proposal ratio; symmetric walks
    and prior proposals need none)."""
    prior = Prior(profile)
    if kind == "symptoms":
        prop = cur.but(
            phq9_raw=cur.phq9_raw + STEP_SCALE * steps["phq9_raw"] * streams.normal(),
            gad7_raw=cur.gad7_raw + STEP_SCALE * steps["gad7_raw"] * streams.normal(),
            change_raw=cur.change_raw + STEP_SCALE * steps["change_raw"] * streams.normal(),
        )
        ratio = (
            prior.intake_severity(prop)
            - prior.intake_severity(cur)
            + prior.class_and_change(prop)
            - prior.class_and_change(cur)
        )
        return prop, ratio
    if kind == "relationship":
        has = cur.rupture_start > 0
        depth = cur.rupture_depth + STEP_SCALE * steps["depth"] * streams.normal()
        prop = cur.but(
            level=cur.level + STEP_SCALE * steps["level"] * streams.normal(),
            bias=cur.bias + STEP_SCALE * steps["bias"] * streams.normal(),
            rupture_depth=np.where(has, depth, cur.rupture_depth),
        )
        minimum = profile.ruptures.depth_minimum.value
        # the walk moves the continuous part of the depth only; the point mass at the minimum is
        # reached by the rupture move
        leaves = has & ((cur.rupture_depth <= minimum) | (prop.rupture_depth <= minimum))
        ratio = (
            prior.level(prop)
            - prior.level(cur)
            + prior.bias(prop)
            - prior.bias(cur)
            + prior.class_and_change(prop)
            - prior.class_and_change(cur)
            + np.where(has, prior.depth(prop) - prior.depth(cur), 0.0)
        )
        return prop, np.where(leaves, -np.inf, ratio)
    if kind == "class":
        shares = np.array([c.share.value for c in profile.classes.values()])
        latent_class = np.searchsorted(np.cumsum(shares) / shares.sum(), streams.uniform(), side="right")
        latent_class = np.minimum(latent_class, len(shares) - 1)
        mean = change_share_mean(latent_class, cur.level, cur.group, profile)
        change = mean + prior.change_sd(latent_class) * streams.normal()
        return cur.but(latent_class=latent_class, change_raw=change), np.zeros(len(cur))
    if kind == "rupture_local":
        r = profile.ruptures
        has = cur.rupture_start > 0
        flip = streams.uniform() < 0.5
        shift = np.where(streams.uniform() < 0.5, -1, 1)
        start = np.where(has & ~flip, cur.rupture_start + shift, cur.rupture_start)
        repaired = np.where(has & flip, ~cur.rupture_repaired, cur.rupture_repaired)
        inside = (start >= r.first_session.value) & (start <= r.last_session.value)
        odds = np.log(r.repair_probability.value) - np.log1p(-r.repair_probability.value)
        ratio = np.where(has & flip, np.where(repaired, odds, -odds), 0.0)
        prop = cur.but(
            rupture_start=np.where(has & ~inside, cur.rupture_start, start), rupture_repaired=repaired
        )
        return prop, np.where(has & ~inside, -np.inf, ratio)
    if kind == "rupture":
        start, depth, repaired = streams.each(lambda n, g: draw_ruptures(n, profile, g))
        return cur.but(rupture_start=start, rupture_depth=depth, rupture_repaired=repaired), np.zeros(
            len(cur)
        )
    if kind == "ending":
        good_enough, planned = streams.each(lambda n, g: draw_endings(n, profile, g))
        return cur.but(good_enough=good_enough, planned=planned), np.zeros(len(cur))
    raise ValueError(f"unknown move {kind!r}")

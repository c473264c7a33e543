"""From latent values to what a service records: noise, rounding, clipping, items, gaps.

A questionnaire score is the latent value plus independent Gaussian noise, rounded to the
scale's step and clipped to its range:

    observed = clip(step * floor((latent + noise) / step + 1/2), 0, maximum),  noise ~ N(0, sd^2)

so the probability of each possible score is a difference of two normal CDFs, with the scale ends
collecting the tails (:func:`score_probability`, :func:`probability_at_most`). That is what a
likelihood over observed histories needs.

PHQ-9 item answers are drawn *given* the total (:func:`split_items`), so they carry no
information about the latent class beyond the total. Missed questionnaires are missing
completely at random (:func:`missed`).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr


def observe(
    latent: np.ndarray, noise_sd: float, maximum: float, rng: np.random.Generator, step: float = 1.0
) -> np.ndarray:
    """Draw observed scores for latent values (any shape)."""
    noisy = latent + noise_sd * rng.standard_normal(np.shape(latent))
    return np.clip(step * np.floor(noisy / step + 0.5), 0.0, maximum)


def probability_at_most(
    threshold: np.ndarray, latent: np.ndarray, noise_sd: float, maximum: float, step: float = 1.0
) -> np.ndarray:
    """P(observed <= threshold) for a score on the grid 0, step, ..., maximum (broadcasting)."""
    t = np.asarray(threshold, dtype=float)
    # the scale ends collect the tails; deciding them on the thresholds (often one per client)
    # rather than on the broadcast result keeps this cheap inside a likelihood
    upper = np.where(t < 0, -np.inf, np.where(t >= maximum, np.inf, t + step / 2))
    return ndtr((upper - latent) / noise_sd)


def score_probability(
    observed: np.ndarray, latent: np.ndarray, noise_sd: float, maximum: float, step: float = 1.0
) -> np.ndarray:
    """P(observed score = ``observed`` | latent value), for scores on the grid (broadcasting)."""
    v = np.asarray(observed, dtype=float)
    return probability_at_most(v, latent, noise_sd, maximum, step) - probability_at_most(
        v - step, latent, noise_sd, maximum, step
    )


def missed(shape: tuple[int, ...], probability: float, rng: np.random.Generator) -> np.ndarray:
    """Which forms are missing: independent Bernoulli draws (missing completely at random)."""
    return rng.random(shape) < probability


def split_items(
    totals: np.ndarray, n_items: int, item_max: int, weights: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Spread whole-number totals over items, each from 0 to ``item_max``.

    The form has ``n_items * item_max`` item points; the total chooses that many of them by
    weighted sampling without replacement (Efraimidis-Spirakis keys u ** (1 / weight)), and an
    item's answer is the number of its points chosen. Items with a lower weight are answered
    lower, and more often 0, at the same total. Returns an array of shape (len(totals), n_items).
    """
    totals = np.asarray(totals, dtype=np.int64)
    point_item = np.repeat(np.arange(n_items), item_max)
    point_weight = np.asarray(weights, dtype=float)[point_item]
    keys = rng.random((len(totals), point_item.size)) ** (1.0 / point_weight)
    rank = np.argsort(np.argsort(-keys, axis=1), axis=1)
    chosen = rank < totals[:, None]
    items = np.zeros((len(totals), n_items), dtype=np.int64)
    for item in range(n_items):
        items[:, item] = chosen[:, point_item == item].sum(axis=1)
    return items

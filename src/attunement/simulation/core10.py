"""CORE-10 in the simulated clinic: a service that measures general distress instead of PHQ-9 and GAD-7.

The reference material records CORE-10's range, cut-off and reliable-change index but no joint
distribution with PHQ-9 and GAD-7, and no trajectory parameters of its own. So a simulated
client's latent CORE-10 is *equated* from the same latent course that drives their PHQ-9 and
GAD-7 (:func:`equated_latent`), and only its measurement noise and its items are its own. Early
warning on a CORE-10 cohort then faces the same latent classes, changes and ruptures as on the
full set, seen through a different questionnaire; the outcome labels come from CORE-10's own
reliable-change definition (``instruments/definitions/core10.json``), not from the simulation.

Every number is in the profile's ``core10`` group with its source and status.
"""

from __future__ import annotations

import numpy as np

from attunement.instruments import get_instrument
from attunement.simulation.observation import observe, split_items
from attunement.simulation.scales import OutcomeScale, outcome_ids, outcome_scale
from attunement.simulation.specification import Core10

CORE10 = "core10"


def position(latent: np.ndarray, scale: OutcomeScale) -> np.ndarray:
    """Where a latent score lies on a scale: 0 at the bottom, 1 at the caseness cut-off, 2 at the
    top, linear in between (and beyond, so the latent's spread past the ends is kept)."""
    cut = float(scale.caseness.value)
    below = latent / cut
    above = 1.0 + (latent - cut) / (scale.maximum - cut)
    return np.where(latent < cut, below, above)


def equated_latent(phq9: np.ndarray, gad7: np.ndarray, p: Core10) -> np.ndarray:
    """The latent CORE-10 of clients whose latent PHQ-9 and GAD-7 are given (any shape)."""
    depression, anxiety = (outcome_scale(m) for m in outcome_ids())
    pos = (position(phq9, depression) + position(gad7, anxiety)) / 2.0
    bottom, cut, top = p.equating_anchors.value
    return np.where(pos < 1.0, bottom + pos * (cut - bottom), cut + (pos - 1.0) * (top - cut))


def observed_totals(latent: np.ndarray, p: Core10, rng: np.random.Generator) -> np.ndarray:
    """Noisy whole-number CORE-10 totals, clipped to the scale."""
    return observe(latent, p.noise_sd.value, _maximum(), rng)


def item_answers(
    totals: np.ndarray, p: Core10, rng: np.random.Generator
) -> tuple[tuple[str, ...], np.ndarray]:
    """Item ids and answers (rows x 10) as a client writes them: the total's distress points
    spread over the items, the risk item weighted down, positively worded items reverse-keyed."""
    inst = get_instrument(CORE10)
    items = tuple(inst.scoring.items)
    item_max = max(int(inst.items[i].high) for i in items)
    risk = {c.item for c in inst.scoring.critical_items}
    weights = np.array([p.risk_item_weight.value if i in risk else 1.0 for i in items])
    distress = split_items(totals, len(items), item_max, weights, rng)
    reverse = np.array([i in set(inst.scoring.reverse) for i in items])
    return items, np.where(reverse[None, :], item_max - distress, distress)


def _maximum() -> float:
    scale_range = get_instrument(CORE10).scoring.range
    if scale_range is None:
        raise ValueError("core10: the simulation needs the score range in the definition")
    return float(scale_range[1])

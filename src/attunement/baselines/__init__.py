"""Published early-warning baselines under the common ``Method`` interface of attunement.prediction.

- :class:`~attunement.baselines.rational.RationalRules`: reliable deterioration from intake and
  no reliable improvement by session k (Jacobson & Truax 1991; NHS Talking Therapies definitions);
- :class:`~attunement.baselines.pcoms.PcomsZones`: PCOMS/OpenFIT successful and unsuccessful
  expected curves from the intake score, with the OpenFIT zone and SRS rules;
- :class:`~attunement.baselines.oq_curves.OqExpectedRecovery`: OQ-style expected recovery curves
  by intake band with tolerance-interval signals (Finch, Lambert & Schaalje 2001);
- :class:`~attunement.baselines.trier.TrierNearestNeighbours`: nearest-neighbour expected curves
  with a 90% failure boundary (Lutz et al. 2006; Schilling et al. 2021).

How each was transferred to attunement's measures is documented in docs/baselines.md.
"""

from __future__ import annotations

from attunement.baselines.oq_curves import OqExpectedRecovery
from attunement.baselines.pcoms import PcomsZones
from attunement.baselines.rational import RationalRules
from attunement.baselines.trier import TrierNearestNeighbours
from attunement.prediction.methods import Method

__all__ = [
    "OqExpectedRecovery",
    "PcomsZones",
    "RationalRules",
    "TrierNearestNeighbours",
    "registered_baselines",
]


def registered_baselines() -> list[Method]:
    """Fresh, unfitted instances of every baseline, in the order reports list them."""
    return [RationalRules(), PcomsZones(), OqExpectedRecovery(), TrierNearestNeighbours()]

"""The evidence registry: what the task forces found about therapy relationships and adaptations.

Data in ``registry.json``; models in :mod:`attunement.evidence.models`. Numbers that are not
verified carry their status into every rendering.
"""

from attunement.evidence.models import Entry, Estimate, Rating, RatingLevel, Registry
from attunement.evidence.registry import UnknownEntryError, get_entry, load_registry

__all__ = [
    "Entry",
    "Estimate",
    "Rating",
    "RatingLevel",
    "Registry",
    "UnknownEntryError",
    "get_entry",
    "load_registry",
]

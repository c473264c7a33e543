"""The client profile at intake and how answers become one."""

from attunement.profile.intake import build_profile, load_mapping
from attunement.profile.model import CATEGORIES, DIMENSIONS, Observation, Profile, label, parse_profile

__all__ = [
    "CATEGORIES",
    "DIMENSIONS",
    "Observation",
    "Profile",
    "build_profile",
    "label",
    "load_mapping",
    "parse_profile",
]

"""Questionnaires as data: definitions, the registry that loads them, and the scoring engine."""

from attunement.instruments.definition import Instrument, ItemSpec, Status
from attunement.instruments.registry import get_instrument, instrument_ids, load_instruments
from attunement.instruments.scoring import (
    Flag,
    ScoreResult,
    TooManyMissingError,
    answers_from_sequence,
    critical_flags,
    score,
)

__all__ = [
    "Flag",
    "Instrument",
    "ItemSpec",
    "ScoreResult",
    "Status",
    "TooManyMissingError",
    "answers_from_sequence",
    "critical_flags",
    "get_instrument",
    "instrument_ids",
    "load_instruments",
    "score",
]

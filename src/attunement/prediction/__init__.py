"""Early-warning prediction: client histories as arrays, outcome labels, the method interface.

Every early-warning method (a published baseline, attunement's own model, the oracle) sees a
:class:`~attunement.prediction.histories.Histories` cut at one session and returns a
:class:`~attunement.prediction.methods.Prediction`; the evaluation harness compares those with the
labels of :mod:`attunement.prediction.outcomes`.
"""

from attunement.prediction.histories import MEASURES, Histories, histories_from_tables
from attunement.prediction.methods import KINDS, OUTCOMES, Method, Prediction

__all__ = [
    "KINDS",
    "MEASURES",
    "OUTCOMES",
    "Histories",
    "Method",
    "Prediction",
    "histories_from_tables",
]

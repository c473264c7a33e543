"""The one interface every early-warning method implements, so the harness can compare them.

A method is fitted once on a reference cohort (clients it will not be evaluated on), then asked,
session by session, about clients whose histories are cut at that session. It answers with a
risk score per outcome (a probability when ``is_probability``) and the verdict of its own alert
rule. Published methods that only give a yes/no flag return the flag as a 0/1 risk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from attunement.prediction.histories import Histories
from attunement.prediction.outcomes import Labels

#: What methods predict. ``deterioration`` and ``no_improvement`` concern the whole course (NHS
#: Talking Therapies paired definitions, first against last observed scores); ``dropout_next`` is
#: ending by dropout after the current session; ``rupture`` is a relationship rupture in
#: progress at the current session (known only in simulated data).
OUTCOMES = ("deterioration", "no_improvement", "dropout_next", "rupture")
KINDS = ("baseline", "ours", "oracle")


@dataclass(frozen=True)
class Prediction:
    """A method's answer for every client of a cut history, outcome by outcome.

    ``risk[outcome]`` and ``alert[outcome]`` are arrays aligned with the histories' clients;
    higher risk means more likely. Outcomes the method does not cover are simply absent.
    """

    risk: dict[str, np.ndarray]
    alert: dict[str, np.ndarray]
    is_probability: bool = False


class Method(Protocol):
    """An early-warning method as the harness sees it."""

    #: Short unique name shown in tables, e.g. ``"oq_expected_recovery"``.
    name: str
    #: ``baseline`` (a published method), ``ours`` or ``oracle``.
    kind: str
    #: Where the method comes from (citation), shown in reports.
    citation: str

    @property
    def outcomes(self) -> tuple[str, ...]:
        """The outcomes it predicts (a subset of :data:`OUTCOMES`)."""

    def fit(self, reference: Histories, labels: Labels) -> None:
        """Learn whatever the method needs from a reference cohort with known outcomes."""

    def predict(self, histories: Histories) -> Prediction:
        """Risk and alerts for clients whose histories end at ``histories.max_session``."""


def unavailable_outcomes(method: Method) -> dict[str, str]:
    """Outcomes a fitted method cannot answer on its cohort, each with the reason in words.

    A method that covers several outcomes may lack what one of them needs (PCOMS's relationship
    rule on a cohort without the check-in) while the others stand; its ``fit`` then sets
    ``unavailable`` (outcome -> reason), and the harness reports those outcomes as not
    applicable instead of scoring empty answers. Methods without the attribute answer all.
    """
    return dict(getattr(method, "unavailable", None) or {})

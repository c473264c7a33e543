"""The one contract every early-warning method fulfils, so the harness can compare them.

A method is fitted once on a reference cohort (clients it will not be evaluated on), then asked,
session by session, about clients whose histories are cut at that session. It answers with a
risk score per outcome (a probability when ``is_probability``) and the verdict of its own alert
rule. Published methods that only give a yes/no flag return the flag as a 0/1 risk.

The contract, in the spirit of scikit-learn's estimators (:class:`Method`):

- **settings go to the constructor** and are stored unchanged; a constructor reads no file the
  caller did not ask for (a setting left at ``None`` is taken from the package's data files by
  ``fit``, or the caller passes the parameters in);
- **``fit(reference, labels)`` learns and returns the method itself**; whatever it learns sits in
  attributes whose names end in ``_``, set only by ``fit``;
- **``predict(histories)``** answers for clients cut at ``histories.max_session``, every outcome
  of ``outcomes`` and no other;
- **``predict_sessions(histories, sessions)``** answers at several sessions at once, each answer
  the same as ``predict(histories.upto(s))``; the base class loops, a method overrides it when it
  can do the same faster;
- before ``fit`` both refuse with :class:`~attunement.errors.NotFittedError`, naming the method.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar, Self

import numpy as np

from attunement.errors import NotFittedError
from attunement.prediction.histories import Histories
from attunement.prediction.outcomes import Labels

__all__ = [
    "KINDS",
    "OUTCOMES",
    "Labels",
    "Method",
    "NotFittedError",
    "Prediction",
    "attended_sessions",
    "unavailable_outcomes",
]

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


class Method(ABC):
    """An early-warning method: fitted on a reference cohort, then asked session by session.

    Subclasses set the class attributes, implement :meth:`fit` (returning ``self``, learned
    attributes ending in ``_``) and :meth:`predict` (starting with :meth:`check_fitted`), and may
    override :meth:`predict_sessions` when they can answer many sessions faster than one by one.
    """

    #: Short unique name shown in tables, e.g. ``"oq_expected_recovery"``.
    name: ClassVar[str]
    #: ``baseline`` (a published method), ``ours`` or ``oracle``.
    kind: ClassVar[str]
    #: Where the method comes from (citation), shown in reports.
    citation: ClassVar[str]
    #: The outcomes it predicts (a subset of :data:`OUTCOMES`); each answer has exactly these.
    outcomes: ClassVar[tuple[str, ...]]

    @abstractmethod
    def fit(self, reference: Histories, labels: Labels) -> Self:
        """Learn whatever the method needs from a reference cohort with known outcomes.

        Sets the learned attributes (names ending in ``_``) and returns ``self``. Raises an
        :class:`~attunement.errors.AttunementError` when the cohort cannot serve (a measure it
        needs is missing, too few clients with an outcome).
        """

    @abstractmethod
    def predict(self, histories: Histories) -> Prediction:
        """Risk and alerts for clients whose histories end at ``histories.max_session``."""

    def predict_sessions(self, histories: Histories, sessions: Iterable[int]) -> dict[int, Prediction]:
        """The answer at each of ``sessions`` for the clients who attended it, from their data up to
        that session only: ``predict_sessions(h, [s])[s]`` equals ``predict(h.upto(s))``. A session
        no client attended is left out."""
        self.check_fitted()
        return {s: self.predict(histories.upto(s)) for s in attended_sessions(histories, sessions)}

    def unavailable_outcomes(self) -> dict[str, str]:
        """Outcomes of :attr:`outcomes` the fitted method cannot answer on its cohort, each with the
        reason in words (the harness reports them as not applicable). None by default."""
        self.check_fitted()
        return {}

    @property
    def is_fitted(self) -> bool:
        """Whether :meth:`fit` has run: the method holds a learned attribute (a name ending in
        ``_``, not starting with one)."""
        return any(key.endswith("_") and not key.startswith("_") for key in vars(self))

    def check_fitted(self) -> None:
        """Raise :class:`~attunement.errors.NotFittedError` unless :meth:`fit` has run."""
        if not self.is_fitted:
            raise NotFittedError(self.name)


def attended_sessions(histories: Histories, sessions: Iterable[int]) -> list[int]:
    """The requested sessions (as ints, first occurrence kept) that at least one client attended."""
    asked = dict.fromkeys(int(s) for s in sessions)
    return [s for s in asked if s >= 1 and bool((histories.sessions >= s).any())]


def unavailable_outcomes(method: Method) -> dict[str, str]:
    """Outcomes a fitted method cannot answer on its cohort (:meth:`Method.unavailable_outcomes`).

    A method that covers several outcomes may lack what one of them needs (PCOMS's relationship
    rule on a cohort without the check-in) while the others stand; the harness then reports
    those outcomes as not applicable instead of scoring empty answers.
    """
    return method.unavailable_outcomes()

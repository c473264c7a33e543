"""Typed exceptions shared by the core.

Every error names the field, the value and what was expected, so that a person reading it
(or a web form showing it) can fix the input without guessing.
"""

from __future__ import annotations

from dataclasses import dataclass


class AttunementError(Exception):
    """Base class for errors raised by attunement."""


class DefinitionError(AttunementError):
    """A data file (instrument, parameter set) is malformed."""


class UnknownInstrumentError(AttunementError, KeyError):
    """An instrument id that no definition file provides."""

    def __init__(self, instrument_id: str, known: list[str]):
        self.instrument_id = instrument_id
        self.known = known
        super().__init__(f"unknown instrument {instrument_id!r}; expected one of: {', '.join(sorted(known))}")

    def __str__(self) -> str:  # KeyError would otherwise quote the whole message
        return str(self.args[0])


@dataclass(frozen=True)
class FieldProblem:
    """One problem with one input field: which field, what it held, what was expected."""

    field: str
    value: object
    expected: str

    def __str__(self) -> str:
        return f"{self.field}: got {self.value!r}, expected {self.expected}"


class InvalidInputError(AttunementError, ValueError):
    """Input that cannot be used; lists every problem found, not just the first."""

    def __init__(self, context: str, problems: list[FieldProblem]):
        self.context = context
        self.problems = problems
        detail = "; ".join(str(p) for p in problems)
        super().__init__(f"{context}: {detail}")


class NotFittedError(RuntimeError):
    """An early-warning method asked for predictions before it was fitted.

    Not an :class:`AttunementError`: it is a mistake in the calling code, not in the data, so the
    evaluation harness does not turn it into a "not applicable" row.
    """

    def __init__(self, method: str):
        self.method = method
        super().__init__(
            f"{method} is not fitted yet: call fit(reference, labels) with a reference cohort "
            "before asking it for predictions"
        )

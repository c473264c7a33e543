"""The scoring engine: one set of answers to one instrument becomes totals, bands and flags.

Pure functions over an :class:`Instrument`; nothing here reads files or talks to a database.
A critical item (such as PHQ-9 item 9) always produces a flag when endorsed, and a flag when it
is left unanswered, even if the form as a whole cannot be scored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import overload

import numpy as np
import numpy.typing as npt

from attunement.errors import FieldProblem, InvalidInputError
from attunement.instruments.definition import Instrument, Method, Status

Answer = float | int | str | None
ScoreArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Flag:
    """Something a clinician must see, with the reason in plain words and its source."""

    kind: str
    item: str
    value: float | None
    reason: str
    source: str
    status: Status


@dataclass(frozen=True)
class ScoreResult:
    instrument: str
    total: float | None
    band: str | None
    caseness: bool | None
    subscales: dict[str, float | None]
    composites: dict[str, float | None]
    flags: list[Flag]
    answered: int
    missing: list[str]
    prorated: bool
    valid: bool
    texts: dict[str, str] = field(default_factory=dict)
    #: Each subscale with a published screening cut-off: positive (True), negative, or None
    #: when the subscale could not be scored.
    screens: dict[str, bool | None] = field(default_factory=dict)

    @property
    def critical(self) -> bool:
        return any(f.kind != "critical_item_unanswered" for f in self.flags)


class TooManyMissingError(InvalidInputError):
    """More items are missing than the instrument allows to prorate.

    The partial result travels with the error so that critical-item flags are never lost.
    """

    def __init__(self, context: str, problems: list[FieldProblem], partial: ScoreResult):
        self.partial = partial
        super().__init__(context, problems)
        if partial.flags:
            kept = "; ".join(f.reason for f in partial.flags)
            self.args = (f"{self.args[0]}. Safety flags still stand: {kept}",)


def answers_from_sequence(instrument: Instrument, values: Sequence[Answer]) -> dict[str, Answer]:
    """Pair a list of answers with the instrument's scored items, in form order.

    Empty strings and ``None`` mean "not answered".
    """
    items = instrument.scoring.items
    if len(values) != len(items):
        raise InvalidInputError(
            f"{instrument.short_name} answers",
            [FieldProblem("answers", f"{len(values)} values", f"{len(items)} values, one per item")],
        )
    return dict(zip(items, values, strict=True))


def score(
    instrument: Instrument, answers: Mapping[str, Answer], *, allow_incomplete: bool = False
) -> ScoreResult:
    """Score one completed form.

    Raises :class:`InvalidInputError` for unknown items and out-of-range values, and
    :class:`TooManyMissingError` when too many items are missing (unless ``allow_incomplete``,
    which returns a result with ``valid=False`` and no total instead).
    """
    values, texts = _validated(instrument, answers)
    scoring = instrument.scoring
    missing = [i for i in scoring.items if values.get(i) is None]
    flags = critical_flags(instrument, values)
    keyed_values = {i: keyed(instrument, i, v) for i, v in values.items() if i in scoring.items}

    limit = int(scoring.max_missing.value)
    valid = len(missing) <= limit
    total = (
        _combine(scoring.method, [keyed_values.get(i) for i in scoring.items])
        if valid and scoring.method
        else None
    )
    subscales = {
        s.id: _combine(s.method, [keyed_values.get(i) for i in s.items])
        if sum(keyed_values.get(i) is None for i in s.items) <= s.max_missing
        else None
        for s in scoring.subscales
    }
    composites = {c.id: _weighted(c.weights, subscales) for c in scoring.composites}
    result = ScoreResult(
        instrument=instrument.id,
        total=total,
        band=scoring.bands.classify(total) if scoring.bands and total is not None else None,
        caseness=scoring.caseness.is_case(total) if scoring.caseness and total is not None else None,
        subscales=subscales,
        composites=composites,
        flags=flags,
        answered=len(scoring.items) - len(missing),
        missing=missing,
        prorated=valid and bool(missing),
        valid=valid,
        texts=texts,
        screens={
            s.id: None if (value := subscales[s.id]) is None else s.screen.is_case(value)
            for s in scoring.subscales
            if s.screen is not None
        },
    )
    if not valid and not allow_incomplete:
        raise TooManyMissingError(
            f"{instrument.short_name} cannot be scored",
            [
                FieldProblem(
                    "missing items",
                    ", ".join(missing),
                    f"at most {limit} of {len(scoring.items)} items missing",
                )
            ],
            result,
        )
    return result


def _validated(
    instrument: Instrument, answers: Mapping[str, Answer]
) -> tuple[dict[str, float | None], dict[str, str]]:
    """Check every answer against the form; collect all problems before raising."""
    problems: list[FieldProblem] = []
    values: dict[str, float | None] = {}
    texts: dict[str, str] = {}
    for link_id, raw in answers.items():
        spec = instrument.items.get(link_id)
        if spec is None:
            problems.append(
                FieldProblem(
                    link_id, raw, f"an item of {instrument.short_name} ({', '.join(instrument.items)})"
                )
            )
            continue
        if spec.type in ("string", "text"):
            if raw not in (None, ""):
                texts[link_id] = str(raw)
            continue
        if raw is None or (isinstance(raw, str) and raw.strip() == ""):
            values[link_id] = None
            continue
        number = _as_number(raw)
        if number is None or not spec.accepts(number) or (spec.type == "integer" and not number.is_integer()):
            problems.append(FieldProblem(link_id, raw, spec.expected()))
            continue
        values[link_id] = number
    if problems:
        raise InvalidInputError(f"{instrument.short_name} answers", problems)
    return values, texts


def _as_number(raw: Answer) -> float | None:
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        number = float(raw)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@overload
def keyed(instrument: Instrument, link_id: str, value: None) -> None: ...
@overload
def keyed(instrument: Instrument, link_id: str, value: float) -> float: ...
@overload
def keyed(instrument: Instrument, link_id: str, value: float | None) -> float | None: ...
@overload
def keyed(instrument: Instrument, link_id: str, value: ScoreArray) -> ScoreArray: ...
def keyed(
    instrument: Instrument, link_id: str, value: float | ScoreArray | None
) -> float | ScoreArray | None:
    """Apply reverse keying: a reversed item scores ``low + high - value`` (scalars or arrays)."""
    if value is None or link_id not in instrument.scoring.reverse:
        return value
    spec = instrument.items[link_id]
    return spec.low + spec.high - value


@overload
def from_mean(method: Method, mean: float, n_items: int) -> float: ...
@overload
def from_mean(method: Method, mean: ScoreArray, n_items: int) -> ScoreArray: ...
def from_mean(method: Method, mean: float | ScoreArray, n_items: int) -> float | ScoreArray:
    """Turn the mean of the answered items into the score: a sum is prorated to all ``n_items``."""
    if method == "sum":
        return mean * n_items
    if method == "mean":
        return mean
    return mean * 10


def _weighted(weights: Mapping[str, float], subscales: Mapping[str, float | None]) -> float | None:
    """The weighted sum of the subscales; None when any of them is missing."""
    total = 0.0
    for sub, weight in weights.items():
        score = subscales.get(sub)
        if score is None:
            return None
        total += weight * score
    return total


def _combine(method: Method | None, values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    if not present or method is None:
        return None
    return from_mean(method, sum(present) / len(present), len(values))


def critical_flags(instrument: Instrument, values: Mapping[str, float | None]) -> list[Flag]:
    """A flag for every critical item endorsed, and for every one left unanswered, whatever the
    rest of the form (so a form too incomplete to score still raises its safety flags)."""
    flags: list[Flag] = []
    for critical in instrument.scoring.critical_items:
        value = values.get(critical.item)
        if value is None:
            flags.append(
                Flag(
                    kind="critical_item_unanswered",
                    item=critical.item,
                    value=None,
                    reason=(
                        f"{instrument.short_name} {critical.item} (a safety item) was not answered: "
                        "ask directly"
                    ),
                    source=critical.source,
                    status=critical.status,
                )
            )
        elif value >= critical.min_value:
            flags.append(
                Flag(
                    kind=critical.flag,
                    item=critical.item,
                    value=value,
                    reason=critical.reason.format(value=_plain(value)),
                    source=critical.source,
                    status=critical.status,
                )
            )
    return flags


def _plain(value: float) -> str:
    return str(int(value)) if value.is_integer() else f"{value:g}"

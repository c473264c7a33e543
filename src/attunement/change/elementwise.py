"""One code path for one client and for a whole caseload.

Change statistics are asked of a single pair of scores (a clinician looking at one client) and of
thousands (a service report, a simulation). Writing each formula twice invites the two versions to
drift apart, so every function in this package turns its inputs into numpy arrays here, computes
once, and hands the result back in the shape it was given:

- plain numbers in, plain Python values out (``float``, ``bool``, ``str``; ``None`` when a score
  is missing);
- numpy arrays in, numpy float arrays for numbers and pandas extension arrays for yes/no flags and
  categories, because those need a "missing" value that numpy's ``bool`` and ``str`` lack;
- pandas Series in, Series on the same index out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from attunement.errors import FieldProblem, InvalidInputError

Direction = Literal["lower_is_better", "higher_is_better"]
DIRECTIONS: tuple[str, ...] = get_args(Direction)


@dataclass(frozen=True)
class Shape:
    """How the caller's inputs were shaped, so results can be given back the same way."""

    scalar: bool
    index: pd.Index | None = None

    def numbers(self, values: np.ndarray, name: str | None = None) -> Any:
        """Floats; NaN where an input was missing (``None`` for a single value)."""
        if self.scalar:
            value = float(values)
            return None if math.isnan(value) else value
        if self.index is not None:
            return pd.Series(values, index=self.index, name=name, dtype=float)
        return values

    def flags(self, values: np.ndarray, known: np.ndarray, name: str | None = None) -> Any:
        """Yes/no answers; missing (``None`` / ``pd.NA``) where ``known`` is false."""
        if self.scalar:
            return bool(values) if bool(known) else None
        data = pd.array(np.where(known, values, False), dtype="boolean")
        data[~np.asarray(known, dtype=bool)] = pd.NA
        if self.index is not None:
            return pd.Series(data, index=self.index, name=name)
        return data

    def labels(self, values: np.ndarray, categories: Sequence[str], name: str | None = None) -> Any:
        """One category per element (``None`` entries are missing), as a categorical in the order given."""
        if self.scalar:
            value = values.item() if isinstance(values, np.ndarray) else values
            return None if value is None else str(value)
        data = pd.Categorical(list(values), categories=list(categories))
        if self.index is not None:
            return pd.Series(data, index=self.index, name=name)
        return data


def numeric(context: str, **named: Any) -> tuple[Shape, list[np.ndarray]]:
    """Check that every input is a number (or missing) and broadcast them to one shape.

    Missing values (``None``, NaN, ``pd.NA``) are allowed and propagate; text, infinities and
    Series that do not share an index are refused with an :class:`InvalidInputError` that names
    each offending input.
    """
    problems: list[FieldProblem] = []
    arrays: list[np.ndarray] = []
    index: pd.Index | None = None
    scalar = True
    for field, value in named.items():
        array = _to_float_array(field, value, problems)
        if isinstance(value, pd.Series):
            scalar = False
            if index is None:
                index = value.index
            elif not value.index.equals(index):
                problems.append(FieldProblem(field, "a Series with a different index", "the same index"))
        elif array is not None and array.ndim > 0:
            scalar = False
        if array is not None:
            if np.isinf(array).any():
                problems.append(FieldProblem(field, _first(array[np.isinf(array)]), "a finite number"))
            arrays.append(array)
    if not problems:
        try:
            arrays = [np.asarray(a, dtype=float) for a in np.broadcast_arrays(*arrays)]
        except ValueError:
            shapes = ", ".join(f"{f} {np.shape(v)}" for f, v in named.items())
            problems.append(FieldProblem("shape", shapes, "inputs of the same length"))
    if problems:
        raise InvalidInputError(context, problems)
    if index is not None and arrays and arrays[0].ndim != 1:
        raise InvalidInputError(context, [FieldProblem("shape", arrays[0].shape, "one-dimensional data")])
    return Shape(scalar=scalar, index=index), arrays


def check_direction(direction: str, context: str) -> Direction:
    match direction:
        case "lower_is_better" | "higher_is_better":
            return direction
    raise InvalidInputError(
        context, [FieldProblem("direction", direction, "one of " + ", ".join(DIRECTIONS))]
    )


def beneficial(pre: np.ndarray, post: np.ndarray, direction: Direction) -> np.ndarray:
    """Change in the helpful direction: a fall on lower-is-better scales, a rise otherwise."""
    change: np.ndarray = pre - post if direction == "lower_is_better" else post - pre
    return change


def _to_float_array(field: str, value: Any, problems: list[FieldProblem]) -> np.ndarray | None:
    if value is None:
        return np.asarray(np.nan)
    if isinstance(value, bool | np.bool_):
        problems.append(FieldProblem(field, value, "a number, not true/false"))
        return None
    try:
        if isinstance(value, pd.Series):
            if pd.api.types.is_bool_dtype(value.dtype):
                raise TypeError
            numbers: np.ndarray = pd.to_numeric(value, errors="raise").to_numpy(dtype=float, na_value=np.nan)
            return numbers
        if value is pd.NA:
            return np.asarray(np.nan)
        return np.asarray(
            [np.nan if v is None or v is pd.NA else v for v in value] if _is_list(value) else value,
            dtype=float,
        )
    except (TypeError, ValueError):
        if isinstance(value, pd.Series) and pd.api.types.is_bool_dtype(value.dtype):
            shown: Any = f"a column of {value.dtype} values"
        else:
            shown = value if np.ndim(value) == 0 else _first_bad(value)
        problems.append(FieldProblem(field, shown, "a number or a missing value"))
        return None


def _is_list(value: Any) -> bool:
    return isinstance(value, list | tuple)


def _first(values: np.ndarray) -> float:
    return float(values.ravel()[0])


def _first_bad(values: Any) -> Any:
    for v in values:
        if v is None or v is pd.NA:
            continue
        try:
            float(v)
        except (TypeError, ValueError):
            return v
    return values

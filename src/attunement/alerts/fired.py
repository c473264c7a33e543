"""Alerts as columns: which clients a rule fired for, with the reason and figures per client.

Rules work on whole arrays of clients at once (a national caseload has millions), so they return
a :class:`Fired` holding one entry per alert in aligned arrays. Turning those into
:class:`~attunement.alerts.alert.Alert` objects, or into a table for a batch run, happens once at
the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from attunement.prediction.histories import Histories


@dataclass(frozen=True)
class Fired:
    """One rule's alerts: ``rows`` index the clients of the histories it was run on."""

    kind: str
    rows: np.ndarray
    session: np.ndarray
    severity: np.ndarray
    reason: pa.Array
    requires_action: bool = False
    probability: np.ndarray | None = None
    figures: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    def keep(self, mask: np.ndarray) -> Fired:
        """The alerts selected by a boolean mask over this rule's alerts."""
        return Fired(
            kind=self.kind,
            rows=self.rows[mask],
            session=self.session[mask],
            severity=self.severity[mask],
            reason=self.reason.filter(pa.array(mask)),
            requires_action=self.requires_action,
            probability=None if self.probability is None else self.probability[mask],
            figures={name: np.asarray(values)[mask] for name, values in self.figures.items()},
        )


def positions_in(rows: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """Where each of ``rows`` stands in ``chosen`` (-1 when it is not there): how a batch renumbers
    course codes as the rows of one block, in time that grows with the block, not with the
    millions of courses of the whole table."""
    order = np.argsort(chosen, kind="stable")
    ordered = chosen[order]
    if not len(ordered):
        return np.full(len(rows), -1, dtype=np.int64)
    at = np.minimum(np.searchsorted(ordered, rows), len(ordered) - 1)
    return np.where(ordered[at] == rows, order[at], -1).astype(np.int64)


def latest(histories: Histories) -> tuple[np.ndarray, np.ndarray]:
    """Rows of clients with at least one session, and the 0-based column of their latest one."""
    rows = np.flatnonzero(histories.sessions >= 1)
    cols = np.minimum(histories.sessions[rows], histories.max_session) - 1
    return rows, cols.astype(np.int64)


def plain(value: Any) -> float | int | str:
    """A figure as a plain Python number or text (for an :class:`Alert`'s figures)."""
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value)
    return str(value)


def at(values: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    picked: np.ndarray = values[rows, cols]
    return picked


def text(values: np.ndarray, digits: int = 1) -> pa.Array:
    """Numbers as short text for reasons: ``digits`` decimals, trailing zeros dropped (7.8, 10).

    Arrow's number formatting does this for whole columns at once, without a Python call per
    number, which matters when a national caseload produces hundreds of thousands of reasons.
    """
    rounded = pa.array(np.round(np.asarray(values, dtype=float), digits), from_pandas=True)
    if digits == 0:
        rounded = pc.cast(rounded, pa.int64())
    return pc.cast(rounded, pa.string())


def join(*parts: pa.Array | str) -> pa.Array:
    """Concatenate text columns and constants, element by element."""
    return pc.binary_join_element_wise(*parts, "")


def choose(condition: np.ndarray, when_true: pa.Array, otherwise: pa.Array) -> pa.Array:
    return pc.if_else(pa.array(np.asarray(condition, dtype=bool)), when_true, otherwise)


def when(condition: np.ndarray, words: pa.Array | str) -> pa.Array:
    """``words`` where ``condition`` holds and empty text elsewhere, for optional parts of a reason.

    Empty text rather than a missing value, because Arrow's join that skips missing parts drops
    rows in which every part is missing (pyarrow 26), and a reason must never lose its row.
    """
    condition = np.asarray(condition, dtype=bool)
    if isinstance(words, str):
        words = pa.array(np.full(len(condition), words, dtype=object), type=pa.string())
    return choose(condition, words, pa.array(np.full(len(condition), "", dtype=object), type=pa.string()))


def prefixed(separator: str, *parts: tuple[np.ndarray, pa.Array | str]) -> pa.Array:
    """The parts whose condition holds, in order, each preceded by ``separator``."""
    return join(
        *(
            when(condition, separator + words if isinstance(words, str) else join(separator, words))
            for condition, words in parts
        )
    )


def listed(separator: str, *parts: tuple[np.ndarray, pa.Array | str]) -> pa.Array:
    """The parts whose condition holds, in order, joined by ``separator`` (empty when none holds)."""
    return pc.utf8_slice_codeunits(prefixed(separator, *parts), len(separator))

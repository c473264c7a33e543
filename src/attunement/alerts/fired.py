"""Alerts as columns: which clients a rule fired for, with the reason and figures per client.

Rules work on whole arrays of clients at once (a national caseload has millions), so they return
a :class:`Fired` holding one entry per alert in aligned arrays. Turning those into
:class:`~attunement.alerts.alert.Alert` objects, or into a table for a batch run, happens once at
the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from attunement.prediction.histories import Histories


@dataclass(frozen=True)
class Fired:
    """One rule's alerts: ``rows`` index the clients of the histories it was run on."""

    kind: str
    rows: np.ndarray
    session: np.ndarray
    severity: np.ndarray
    reason: np.ndarray
    requires_action: bool = False
    probability: np.ndarray | None = None
    figures: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)


def latest(histories: Histories) -> tuple[np.ndarray, np.ndarray]:
    """Rows of clients with at least one session, and the 0-based column of their latest one."""
    rows = np.flatnonzero(histories.sessions >= 1)
    cols = np.minimum(histories.sessions[rows], histories.max_session) - 1
    return rows, cols.astype(np.int64)


def at(values: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    return values[rows, cols]


def text(values: np.ndarray, digits: int = 1) -> pd.Series:
    """Numbers as short text for reasons: ``digits`` decimals, trailing zeros dropped.

    Rounded floats print as their shortest form (7.8, not 7.800000000000001), so the work stays
    in pandas' own string conversion instead of one Python call per number.
    """
    rounded = pd.Series(np.round(np.asarray(values, dtype=float), digits))
    if digits == 0:
        return rounded.astype("Int64").astype(str)
    return rounded.astype(str).str.replace(r"\.0+$", "", regex=True)


def join(*parts: pd.Series | str) -> np.ndarray:
    """Concatenate text columns and constants, element by element."""
    out: pd.Series | str = ""
    for part in parts:
        out = out + (part.reset_index(drop=True).astype(object) if isinstance(part, pd.Series) else part)
    return np.asarray(out, dtype=object)

"""How many rows an UPDATE or DELETE changed.

``Session.execute`` is typed to return a plain ``Result`` whatever the statement; for an UPDATE
or DELETE it is a ``CursorResult``, which carries the count.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, Result


def changed_rows(result: Result[*tuple[Any, ...]]) -> int:
    """The number of rows the UPDATE or DELETE that gave ``result`` matched."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"an UPDATE or DELETE gives a CursorResult, not a {type(result).__name__}")
    return result.rowcount

"""Values a transaction reads once: the clinic's settings, the measures it holds wording for,
the active forecast model.

A page asks for these several times (a client page for the offered measures three times), and
each would be a query. They change only by an administrator's action, so within one transaction
the first answer stands, except where the transaction itself writes one: the writer calls
:func:`forget`. When the transaction ends the values are forgotten, so the next one reads what
other transactions committed meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

T = TypeVar("T")
_KEY = "attunement.read_once"


def read_once(db: Session, name: str, read: Callable[[], T]) -> T:
    """``read()``'s value, read at most once in ``db``'s current transaction under ``name``."""
    known = db.info.setdefault(_KEY, {})
    if name not in known:
        known[name] = read()
    return known[name]


def forget(db: Session) -> None:
    """The transaction is about to change what it read: read everything afresh."""
    db.info.pop(_KEY, None)


@event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session: Session, transaction) -> None:
    if transaction.parent is None:
        forget(session)

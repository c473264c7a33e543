"""The client's change counter: raised first thing in every transaction that changes a client.

Derived data (the stored summaries) is current only while it carries the latest counter. The
row lock that raising it takes also makes two changes to one client run one after the other on
PostgreSQL as on SQLite (where every write transaction already holds the write lock): two
clicks on "send link", a client's answers arriving while a session is planned, or two requests
to end one episode are applied in turn, each seeing what the other did.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from sqlalchemy import select, update
from sqlalchemy.orm import Session, SessionTransaction

from attunement.store.models import Client

#: The clients whose counter each open transaction has raised already.
_raised: WeakKeyDictionary[SessionTransaction, set[int]] = WeakKeyDictionary()


def touch_client(db: Session, client_id: int) -> None:
    """Raise the client's change counter, once per transaction (so a stored summary one change
    behind can still be brought up to date incrementally), which also locks the client's row
    until the transaction ends."""
    transaction = db.get_transaction()
    if transaction is not None and client_id in _raised.get(transaction, ()):
        return
    db.execute(
        update(Client)
        .where(Client.id == client_id)
        .values(data_version=Client.data_version + 1)
        .execution_options(synchronize_session=False)
    )
    begun = db.get_transaction()  # the statement has begun one when there was none
    if begun is None:
        raise RuntimeError("a session without a transaction after a statement")
    _raised.setdefault(begun, set()).add(client_id)


def lock_client(db: Session, client_id: int) -> None:
    """Take the client's row lock for this transaction without counting a change (PostgreSQL's
    ``SELECT ... FOR UPDATE``; on SQLite every write transaction holds the database's write lock
    from its start, ``BEGIN IMMEDIATE``)."""
    db.execute(select(Client.id).where(Client.id == client_id).with_for_update())

"""What every command that works on the app's own database shares: the ``--database`` option and
one unit of work on it (opened, migrated, committed or rolled back, and closed again)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:  # SQLAlchemy is imported when a command opens the database, not before
    from sqlalchemy.orm import Session

DATABASE = typer.Option(
    "--database", help="Database URL; default ATTUNEMENT_DATABASE_URL, else ./attunement.db."
)


@contextmanager
def database_session(url: str | None) -> Iterator[Session]:
    """One transaction on the database at ``url`` (or the default one); the engine is disposed after."""
    from attunement.store import default_database_url, open_database

    db = open_database(url or default_database_url())
    try:
        with db.session() as session:
            yield session
    finally:
        db.dispose()

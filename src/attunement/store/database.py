"""Open the database: pick the URL, tune SQLite for durability, run the migrations.

An acknowledged client submission must survive a crash of the server, so every write commits
before the response is sent, and SQLite runs in WAL mode with ``synchronous=FULL`` (each commit
is on disk before it returns). PostgreSQL is durable by default (``fsync`` and
``synchronous_commit`` on).

Statement parameters are never put into error messages (``hide_parameters``): they hold client
answers, comments and password hashes, and error messages end up in logs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from attunement.store.migrate import upgrade

ENV_URL = "ATTUNEMENT_DATABASE_URL"
DEFAULT_FILE = "attunement.db"


def default_database_url() -> str:
    """``ATTUNEMENT_DATABASE_URL`` when set, otherwise the SQLite file ./attunement.db."""
    return os.environ.get(ENV_URL) or f"sqlite:///{Path.cwd() / DEFAULT_FILE}"


def normalise_url(url: str) -> str:
    """Let people write ``postgresql://``; SQLAlchemy needs the psycopg 3 driver named."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass
class Database:
    engine: Engine
    sessions: sessionmaker[Session]

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends normally, rolled back otherwise."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(url: str | None = None, *, migrate: bool = True) -> Database:
    """Connect, and bring the schema up to date unless ``migrate`` is False."""
    url = normalise_url(url or default_database_url())
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
    else:
        engine = create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True, hide_parameters=True)
    if migrate:
        upgrade(engine)
    return Database(engine, sessionmaker(engine, expire_on_commit=False))


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let SQLAlchemy issue BEGIN itself (see _sqlite_begin_immediate) instead of pysqlite.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_immediate(connection) -> None:
    """Take the write lock at the start of a transaction, so two writers queue instead of failing."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")

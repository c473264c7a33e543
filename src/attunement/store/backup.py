"""Backups of the whole database, and restoring one into an empty database.

A backup is a consistent snapshot taken while the app runs: SQLite's online backup (every page
copied inside one read transaction, so a submission committed meanwhile is either wholly in the
copy or wholly absent) or ``pg_dump``'s custom format (one repeatable-read snapshot). The file
holds every client's data, so it is created readable by its owner only, and an existing file is
never overwritten.

Restoring never replaces data: it is refused unless the target is empty (a SQLite file that does
not exist yet, or a PostgreSQL database without tables). The restored database is then brought up
to this version's schema, so a backup from an earlier version can be restored.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from attunement.errors import AttunementError, FieldProblem, InvalidInputError
from attunement.store.database import normalise_url

SQLITE_HEADER = b"SQLite format 3\x00"
#: The first bytes of a ``pg_dump --format=custom`` archive.
PG_DUMP_HEADER = b"PGDMP"


@dataclass(frozen=True)
class BackupFile:
    path: Path
    kind: str
    size: int


def backup(url: str, to: Path) -> BackupFile:
    """Write a snapshot of the database at ``url`` to the new file ``to``."""
    parsed = make_url(normalise_url(url))
    to = Path(to)
    if to.exists():
        raise InvalidInputError("backup", [FieldProblem("to", str(to), "a file that does not exist yet")])
    if not to.parent.is_dir():
        raise InvalidInputError("backup", [FieldProblem("to", str(to), "a file in an existing folder")])
    _audit(url, "backup", to.name)  # before the snapshot, so the backup holds its own entry
    partial = to.with_name(to.name + ".partial")
    partial.unlink(missing_ok=True)
    # Readable by the owner only, from the first byte written.
    partial.touch(mode=0o600)
    try:
        if parsed.get_backend_name() == "sqlite":
            kind = "sqlite"
            _sqlite_copy(_sqlite_file(parsed, must_exist=True), partial)
        else:
            kind = "postgresql"
            _pg("pg_dump", parsed, "--format=custom", "--no-owner", f"--file={partial}")
        os.replace(partial, to)
    finally:
        partial.unlink(missing_ok=True)
    return BackupFile(to, kind, to.stat().st_size)


def restore(url: str, source: Path) -> str:
    """Restore the backup ``source`` into the empty database at ``url``; returns its kind."""
    from attunement.store.database import open_database

    parsed = make_url(normalise_url(url))
    kind = backup_kind(Path(source))
    backend = parsed.get_backend_name()
    if kind != backend:
        raise InvalidInputError(
            "restore",
            [FieldProblem("database", backend, f"a {kind} database, as the backup is a {kind} backup")],
        )
    if backend == "sqlite":
        target = _sqlite_file(parsed, must_exist=False)
        if target.exists() and target.stat().st_size > 0:
            raise _not_empty(str(target))
        _sqlite_copy(Path(source), target)
    else:
        _require_empty(url)
        _pg("pg_restore", parsed, "--no-owner", "--exit-on-error", "--single-transaction", str(source))
    open_database(url).dispose()  # brings an earlier version's backup up to this schema
    _audit(url, "restore", Path(source).name)
    return kind


def _audit(url: str, action: str, file_name: str) -> None:
    from attunement.store.audit import record
    from attunement.store.database import open_database

    db = open_database(url, migrate=False)
    try:
        with db.session() as session:
            record(session, "operator", "operator", action, detail=file_name)
    finally:
        db.dispose()


def backup_kind(path: Path) -> str:
    """``sqlite`` or ``postgresql``, read from the file's first bytes."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except OSError:
        raise InvalidInputError(
            "restore", [FieldProblem("backup", str(path), "a backup file that exists")]
        ) from None
    if head.startswith(SQLITE_HEADER):
        return "sqlite"
    if head.startswith(PG_DUMP_HEADER):
        return "postgresql"
    raise InvalidInputError(
        "restore", [FieldProblem("backup", str(path), "a file made by attunement backup")]
    )


def _sqlite_file(parsed: URL, *, must_exist: bool) -> Path:
    name = parsed.database
    if not name or name == ":memory:":
        raise InvalidInputError("backup", [FieldProblem("database", str(parsed), "a SQLite file")])
    path = Path(name)
    if must_exist and not path.is_file():
        raise InvalidInputError("backup", [FieldProblem("database", name, "a SQLite file that exists")])
    return path


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup, then a check that the copy reads back whole."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        ok = dst.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        src.close()
        dst.close()
    if ok != "ok":
        raise InvalidInputError("backup", [FieldProblem("database", str(source), f"a sound database ({ok})")])


def _require_empty(url: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(normalise_url(url))
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise _not_empty(make_url(normalise_url(url)).render_as_string(hide_password=True))


def _not_empty(where: str) -> InvalidInputError:
    return InvalidInputError(
        "restore",
        [FieldProblem("database", where, "an empty database: restoring never replaces data")],
    )


def _pg(program: str, parsed: URL, *args: str) -> None:
    """Run ``pg_dump`` or ``pg_restore`` against the database; the password travels in the
    environment, never on a command line that other users of the machine can list."""
    if shutil.which(program) is None:
        raise AttunementError(f"{program} is not installed: install PostgreSQL's client programs")
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    connection = [f"--dbname={parsed.database}"]
    if parsed.host:
        connection.append(f"--host={parsed.host}")
    if parsed.port:
        connection.append(f"--port={parsed.port}")
    if parsed.username:
        connection.append(f"--username={parsed.username}")
    result = subprocess.run(
        [program, *connection, "--no-password", *args], env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        # pg_dump's own message names the database and the problem, never a row's content.
        said = result.stderr.strip().splitlines()
        raise AttunementError(f"{program} failed: {said[-1] if said else f'exit {result.returncode}'}")

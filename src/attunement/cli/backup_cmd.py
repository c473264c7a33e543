"""``attunement backup`` and ``attunement restore``: a consistent snapshot of the whole database,
and restoring one into an empty database (never over data)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from attunement.cli.app import JSON_HELP, app
from attunement.cli.database import DATABASE, database_session
from attunement.cli.output import console, emit, fail
from attunement.errors import AttunementError


@app.command("backup")
def backup_cmd(
    to: Annotated[Path, typer.Argument(help="The backup file to create (never overwritten).")],
    database: Annotated[str | None, DATABASE] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Snapshot the database while the app runs (SQLite's online backup, or pg_dump). The file
    holds every client's data: it is made readable by its owner only; keep it as safe as the
    database."""
    from attunement.store import default_database_url
    from attunement.store.backup import backup

    try:
        made = backup(database or default_database_url(), to)
    except AttunementError as exc:
        fail(str(exc), as_json)
        return
    data = {"file": str(made.path), "kind": made.kind, "bytes": made.size}
    said = f"Backed up ({made.kind}, {made.size:,} bytes) to {made.path}."
    emit(data, as_json, lambda: console.print(said))


@app.command("restore")
def restore_cmd(
    source: Annotated[Path, typer.Argument(help="A file made by attunement backup.")],
    database: Annotated[str | None, DATABASE] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Restore a backup into an empty database (a SQLite file that does not exist yet, or a
    PostgreSQL database without tables), bring it up to this version, and check its audit log."""
    from attunement.store import default_database_url
    from attunement.store.audit import verify
    from attunement.store.backup import restore

    url = database or default_database_url()
    try:
        kind = restore(url, source)
    except AttunementError as exc:
        fail(str(exc), as_json)
        return
    with database_session(url) as session:
        found = verify(session)
    data = {"kind": kind, "audit_intact": found.ok, "sealed_entries": found.sealed_entries}

    def render() -> None:
        console.print(f"Restored the {kind} backup {source}.")
        console.print(
            "The audit log is intact."
            if found.ok
            else "The audit log does not match its seals: run attunement audit verify."
        )

    emit(data, as_json, render)
    if not found.ok:
        raise typer.Exit(1)

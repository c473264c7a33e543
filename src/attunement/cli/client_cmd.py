"""``attunement client export`` and ``attunement client erase``: a client's whole record, given to
them on request or erased at their request. Both are audited; erasing asks for ``--yes``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from attunement.cli.app import JSON_HELP, app
from attunement.cli.database import DATABASE, database_session
from attunement.cli.output import console, emit, fail
from attunement.errors import AttunementError, FieldProblem, InvalidInputError

client_app = typer.Typer(help="Export or erase one client's record.", no_args_is_help=True)
app.add_typer(client_app, name="client")

CLIENT = typer.Argument(help="The client's id, as in the address of their page (/clients/<id>).")


@client_app.command("export")
def export_cmd(
    client: Annotated[str, CLIENT],
    out: Annotated[Path, typer.Option("--out", help="The JSON file to write (never overwritten).")],
    database: Annotated[str | None, DATABASE] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Write every row of one client's data (episodes, sessions, answers, ratings, alerts and
    what was done about them) to a JSON file readable by its owner only."""
    from attunement.store.client_record import export_json, export_record, find_client

    try:
        if out.exists():
            raise InvalidInputError(
                "export", [FieldProblem("out", str(out), "a file that does not exist yet")]
            )
        with database_session(database) as session:
            data = export_record(session, find_client(session, client), "operator", "operator")
            # Written before the audit entry commits: a failed write leaves no claim of an export.
            descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as f:
                f.write(export_json(data))
    except (AttunementError, OSError) as exc:
        fail(str(exc), as_json)
        return
    rows = {name: len(rows) for name, rows in data["tables"].items()}
    emit(
        {"file": str(out), "rows": rows},
        as_json,
        lambda: console.print(f"Exported {sum(rows.values()):,} rows of client {client} to {out}."),
    )


@client_app.command("erase")
def erase_cmd(
    client: Annotated[str, CLIENT],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: the record cannot be brought back.")] = False,
    database: Annotated[str | None, DATABASE] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Erase every row of one client's data, for good (backups aside). Refused while the client
    has an active episode or an open safety alert. The audit log keeps only that it happened."""
    from attunement.store.client_record import erase, find_client

    try:
        if not yes:
            raise InvalidInputError(
                "erase", [FieldProblem("--yes", "missing", "--yes, to confirm that the record goes for good")]
            )
        with database_session(database) as session:
            erased = erase(session, find_client(session, client), "operator", "operator")
    except AttunementError as exc:
        fail(str(exc), as_json)
        return
    emit(
        {"client": client, "rows": erased.rows},
        as_json,
        lambda: console.print(f"Erased {sum(erased.rows.values()):,} rows of client {client}."),
    )

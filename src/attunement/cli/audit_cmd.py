"""``attunement audit seal`` and ``attunement audit verify``: the audit log's hash chain."""

from __future__ import annotations

from typing import Annotated

import typer

from attunement.cli.app import JSON_HELP, app
from attunement.cli.database import DATABASE, database_session
from attunement.cli.output import console, emit

audit_app = typer.Typer(help="Seal and verify the audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("seal")
def seal_cmd(
    database: Annotated[str | None, DATABASE] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Seal every audit entry older than a minute that no seal covers yet (the app also seals
    after caseload views)."""
    from attunement.store import default_database_url, open_database
    from attunement.store.audit import seal

    db = open_database(database or default_database_url())
    made = []
    try:
        while True:
            with db.session() as session:
                s = seal(session)
                if s is None:
                    break
                made.append({"seal": s.id, "through_entry": s.last_event_id})
    finally:
        db.dispose()
    emit({"seals": made}, as_json, lambda: console.print(f"{len(made)} new seal(s)."))


@audit_app.command("verify")
def verify_cmd(
    database: Annotated[str | None, DATABASE] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Recompute every seal from the audit entries: exit 1 and name the first broken seal if any
    sealed entry was changed, removed or added."""
    from attunement.store.audit import verify

    with database_session(database) as session:
        found = verify(session)
    broken = found.broken
    data = {
        "ok": found.ok,
        "seals": found.seals,
        "sealed_entries": found.sealed_entries,
        "unsealed_entries": found.unsealed_entries,
        "broken": None
        if broken is None
        else {"seal": broken[0], "first_entry": broken[1], "last_entry": broken[2]},
    }

    def render() -> None:
        if broken is None:
            console.print(
                f"The audit log is intact: {found.sealed_entries:,} entries under {found.seals:,} seals; "
                f"{found.unsealed_entries:,} newer entries not sealed yet."
            )
        else:
            seal_id, first, last = broken
            console.print(
                f"The audit log was changed: seal {seal_id} no longer matches entries {first} to {last}."
            )

    emit(data, as_json, render)
    if not found.ok:
        raise typer.Exit(1)

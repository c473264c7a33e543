"""``attunement import-history``: a service's history (the canonical measures and episodes
tables, and optionally the actions recorded for alerts) stored in the app's database, every row
checked first (:mod:`attunement.store.history_import`).

One transaction: the history is stored completely or not at all, and once the command says it
is stored it survives a crash. Importing the same files again changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from attunement.cli.app import JSON_HELP, app
from attunement.cli.database import DATABASE, database_session
from attunement.cli.output import console, emit, fail, progress_bar
from attunement.errors import AttunementError

#: Problems printed for people (all of them are in --json).
SHOWN = 200


@app.command("import-history")
def import_history_cmd(
    measures: Annotated[Path, typer.Option("--measures", help="The measures table (CSV or Parquet).")],
    episodes: Annotated[Path, typer.Option("--episodes", help="The episodes table (CSV or Parquet).")],
    actions: Annotated[
        Path | None,
        typer.Option(
            "--actions",
            help="The actions table (CSV or Parquet): what was done for alerts, recorded on the alerts "
            "the import opens (a safety alert closes only by one).",
        ),
    ] = None,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid",
            help="Import the valid rows and leave out the invalid ones (and the rows that depend on them).",
        ),
    ] = False,
    database: Annotated[str | None, DATABASE] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Import a service's history (canonical measures, episodes and actions tables) into the app's database.
    Every row is checked first and nothing is stored while any has a problem (unless
    --skip-invalid); therapist_id is a clinician's user name; an action is recorded on the alert
    of its kind open at its session, and a safety alert closes only by one; importing the same
    files again changes nothing."""
    from attunement.store.history_import import import_history
    from attunement.tables.files import read_table

    try:
        measures_table = read_table(measures)
        episodes_table = read_table(episodes)
        actions_table = read_table(actions) if actions is not None else None
    except (AttunementError, OSError, ValueError) as exc:
        fail(str(exc), as_json)
        return
    progress = progress_bar("{task.description}", as_json)
    tasks: dict[str, Any] = {}

    def tick(step: str, done: int, total: int) -> None:
        if step not in tasks:
            tasks[step] = progress.add_task(step, total=total)
        progress.update(tasks[step], completed=done, total=total)

    try:
        with progress, database_session(database) as session:
            report = import_history(
                session,
                measures_table,
                episodes_table,
                actions_table,
                skip_invalid=skip_invalid,
                progress=tick,
            )
    except (AttunementError, OSError) as exc:
        fail(str(exc), as_json)
        return
    data = report.to_dict()

    def render() -> None:
        for problem in report.problems[:SHOWN]:
            console.print(escape(str(problem)), highlight=False)
        if len(report.problems) > SHOWN:
            more = len(report.problems) - SHOWN
            console.print(f"... and {more:,} more problems (all of them with --json).")
        if report.refused:
            console.print(
                f"[red]Nothing imported:[/red] {len(report.problems):,} problems. Correct the tables, "
                "or import the valid rows with --skip-invalid."
            )
            return
        new, already, skipped = report.imported, report.already_imported, report.skipped
        console.print(
            f"Imported {new.get('clients', 0):,} new clients, {new.get('episodes', 0):,} episodes, "
            f"{new.get('forms', 0):,} form sets and {new.get('measures', 0):,} measures rows."
        )
        if actions is not None:
            console.print(f"Recorded {new.get('actions', 0):,} actions on alerts.")
        console.print(
            f"Already imported: {already.get('measures', 0):,} measures rows, "
            f"{already.get('episodes', 0):,} episodes"
            + (f", {already.get('actions', 0):,} actions." if actions is not None else ".")
        )
        safety = report.safety_alerts
        console.print(
            f"Safety alerts opened: {safety['opened']:,}; still open: {safety['open']:,} (each with its "
            f"notice to the clinician, until what was done is recorded); closed by the actions: "
            f"{safety['opened'] - safety['open']:,}."
        )
        if report.problems:
            console.print(
                f"Skipped: {skipped.get('measures', 0):,} measures rows, {skipped.get('episodes', 0):,} "
                f"episodes and {skipped.get('actions', 0):,} actions ({len(report.problems):,} problems)."
            )

    emit(data, as_json, render)
    if report.refused:
        raise typer.Exit(1)

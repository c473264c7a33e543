"""``attunement export``: everything the service holds, as tables in a folder
(:mod:`attunement.store.service_export`); audited, with no client data in the audit entry."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from attunement.cli.app import JSON_HELP, app
from attunement.cli.database import DATABASE, database_session
from attunement.cli.output import console, emit, fail, progress_bar
from attunement.errors import AttunementError, FieldProblem, InvalidInputError

if TYPE_CHECKING:
    from attunement.store.service_export import ExtraFile


class FileFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


@app.command("export")
def export_cmd(
    out: Annotated[Path, typer.Option("--out", help="A folder to write the tables to (new, or empty).")],
    file_format: Annotated[FileFormat, typer.Option("--format", help="csv or parquet.")] = FileFormat.csv,
    database: Annotated[str | None, DATABASE] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Export everything the service holds as tables (the canonical measures, episodes and actions,
    and the rest of the record), CSV or Parquet, and as one FHIR Bundle (fhir.json). Files are
    readable by their owner only; the export is recorded in the audit log."""
    from attunement.store.audit import record
    from attunement.store.service_export import MANIFEST, count_text, export_files, extra_files
    from attunement.web.security import public_url

    extra: list[ExtraFile] = extra_files(public_url())  # the FHIR Bundle beside the tables
    progress = progress_bar("exporting {task.description}", as_json)
    written: dict[str, int] = {}
    try:
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise InvalidInputError("export", [FieldProblem("out", str(out), "a new or empty folder")])
        out.mkdir(parents=True, exist_ok=True)
        with progress, database_session(database) as session:
            task: Any = progress.add_task("tables", total=None)

            def tick(name: str, done: int, total: int) -> None:
                progress.update(task, description=name, completed=done, total=total)

            for name, data in export_files(session, file_format.value, extra=extra, progress=tick):
                descriptor = os.open(out / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(descriptor, "wb") as f:
                    f.write(data)
                written[name] = len(data)
            rows = _rows(out / MANIFEST)
            # Written before the audit entry commits: a failed write leaves no claim of an export.
            record(session, "operator", "operator", "export_all", detail=count_text(rows))
    except (AttunementError, OSError) as exc:
        fail(str(exc), as_json)
        return
    summary = {"folder": str(out), "format": file_format.value, "rows": rows, "files": sorted(written)}
    emit(
        summary,
        as_json,
        lambda: console.print(
            f"Exported {sum(rows.values()):,} rows in {len(rows)} tables to {out} ({file_format.value})."
        ),
    )


def _rows(manifest: Path) -> dict[str, int]:
    import json

    return dict(json.loads(manifest.read_text(encoding="utf-8"))["rows"])

"""``attunement fhir import`` and ``attunement fhir export``: questionnaire answers in and out as
FHIR R4 JSON (docs/fhir.md). An import is stored as a web form's answers are, in one
transaction, and any safety notice it raised is e-mailed after the commit; both are audited."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from attunement.cli.app import JSON_HELP, app
from attunement.cli.database import DATABASE
from attunement.cli.output import console, emit, fail, progress_bar
from attunement.errors import AttunementError, FieldProblem, InvalidInputError

fhir_app = typer.Typer(
    help="Import FHIR QuestionnaireResponses; export clients as FHIR Bundles.", no_args_is_help=True
)
app.add_typer(fhir_app, name="fhir")

BASE = typer.Option(
    "--base",
    help="The canonical base of the codes and identifiers written (default: ATTUNEMENT_FHIR_BASE, "
    "else the public address with /fhir, else urn:attunement).",
)


@fhir_app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="A QuestionnaireResponse or a Bundle, as FHIR JSON.")],
    client: Annotated[
        str | None,
        typer.Option(
            "--client",
            help="The client's id (as in /clients/<id>); leave out to restore a Bundle exported by "
            "'attunement fhir export' (clients, episodes and answers).",
        ),
    ] = None,
    episode: Annotated[
        int | None, typer.Option("--episode", help="The client's episode number (default: the current one).")
    ] = None,
    database: Annotated[str | None, DATABASE] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Import a client's FHIR QuestionnaireResponses (one, or a Bundle) into their episode, checked
    against the questionnaire and scored and alerted as a web form; the same response twice is
    stored once. Without --client, restore a Bundle that 'attunement fhir export' wrote."""
    from attunement.store import default_database_url, open_database
    from attunement.store.client_record import find_client
    from attunement.store.fhir_import import import_responses
    from attunement.store.fhir_restore import is_service_bundle, restore_service_bundle
    from attunement.store.notifications import deliver

    try:
        resource = _read(file)
        db = open_database(database or default_database_url())
        try:
            with db.session() as session:
                if client is None:
                    if not is_service_bundle(resource):
                        raise InvalidInputError(
                            "fhir import",
                            [
                                FieldProblem(
                                    "--client", None, "the client's id, for answers without a Patient"
                                )
                            ],
                        )
                    restored = restore_service_bundle(session, resource, actor="operator", role="operator")
                    data: dict[str, Any] = restored.as_dict()
                    text = restored.summary()
                else:
                    result = import_responses(
                        session,
                        find_client(session, client),
                        resource,
                        actor="operator",
                        role="operator",
                        episode_number=episode,
                    )
                    data, text = result.as_dict(), result.summary()
            deliver(db)  # any safety notice, after the commit
        finally:
            db.dispose()
    except AttunementError as exc:
        fail(str(exc), as_json)
        return
    emit(data, as_json, lambda: console.print(text, highlight=False))


@fhir_app.command("export")
def export_cmd(
    out: Annotated[Path, typer.Option("--out", help="The JSON file to write (never overwritten).")],
    client: Annotated[str | None, typer.Option("--client", help="One client's id.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every client of the service.")] = False,
    base: Annotated[str | None, BASE] = None,
    database: Annotated[str | None, DATABASE] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Write one client's record (--client) or the whole service's (--all) as a FHIR Bundle:
    Patient (opaque id only), EpisodeOfCare, QuestionnaireResponse, Observation, Flag and
    RiskAssessment; readable by its owner only."""

    from attunement.cli.database import database_session
    from attunement.fhir.canonical import fhir_base
    from attunement.store.audit import record
    from attunement.store.client_record import find_client
    from attunement.store.fhir_export import client_bundle, write_service_bundle
    from attunement.web.security import public_url

    try:
        if (client is None) == (not every):
            raise InvalidInputError(
                "fhir export", [FieldProblem("--client / --all", None, "exactly one of --client ID or --all")]
            )
        if out.exists():
            raise InvalidInputError(
                "fhir export", [FieldProblem("--out", str(out), "a file that does not exist yet")]
            )
        chosen = base or fhir_base(public_url())
        with database_session(database) as session:
            descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(descriptor, "w", encoding="utf-8") as f:
                    if client is not None:
                        found = find_client(session, client)
                        bundle = client_bundle(session, found, chosen)
                        json.dump(bundle, f, ensure_ascii=False)
                        entries = len(bundle["entry"])
                        record(session, "operator", "operator", "export_fhir", client_id=found.id)
                    else:
                        progress = progress_bar("clients", as_json)
                        with progress:
                            task = progress.add_task("clients", total=None)

                            def advance(done: int, total: int) -> None:
                                progress.update(task, completed=done, total=total)

                            entries = write_service_bundle(session, f, chosen, advance)
                        record(session, "operator", "operator", "export_fhir", detail="every client")
            except BaseException:
                out.unlink(missing_ok=True)  # no half-written export left behind
                raise
    except (AttunementError, OSError) as exc:
        fail(str(exc), as_json)
        return
    emit(
        {"file": str(out), "entries": entries},
        as_json,
        lambda: console.print(f"Wrote a FHIR Bundle of {entries:,} resources to {out}."),
    )


def _read(file: Path) -> Any:
    """The JSON of ``file``, or a plain error saying why it cannot be read."""
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInputError(
            "fhir import", [FieldProblem("FILE", str(file), f"a readable file ({exc.strerror})")]
        ) from None
    except RecursionError:
        raise InvalidInputError(
            "fhir import", [FieldProblem("FILE", str(file), "FHIR JSON (nested too deeply)")]
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(
            "fhir import", [FieldProblem("FILE", str(file), f"FHIR JSON ({exc})")]
        ) from None

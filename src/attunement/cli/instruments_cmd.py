"""``attunement instruments`` (with ``attunement instruments import`` and ``attunement instruments
fhir``) and ``attunement score``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, TypedDict

import typer
from rich.markup import escape
from rich.table import Table

from attunement.cli.app import JSON_HELP, app
from attunement.cli.database import DATABASE, database_session
from attunement.cli.output import console, emit, fail, number
from attunement.errors import AttunementError, InvalidInputError
from attunement.instruments import answers_from_sequence, get_instrument, load_instruments, score

instruments_app = typer.Typer(
    help="List the instruments; import a clinic's licensed wording; print a Questionnaire as FHIR "
    "tools get it.",
    invoke_without_command=True,
)
app.add_typer(instruments_app, name="instruments")


class _InstrumentRow(TypedDict):
    """One instrument as the list shows it (and as --json gives it)."""

    id: str
    name: str
    domain: str
    rater: str
    items: int
    licence_tier: str
    licence_holder: str
    item_text_shipped: bool
    validated: bool


@instruments_app.callback()
def instruments(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False
) -> None:
    """List the instruments, their licence and whether their item wording is shipped."""
    if ctx.invoked_subcommand is not None:
        return
    rows: list[_InstrumentRow] = [
        {
            "id": i.id,
            "name": i.short_name,
            "domain": i.domain,
            "rater": i.rater,
            "items": len(i.scoring.items),
            "licence_tier": i.licence.tier,
            "licence_holder": i.licence.holder,
            "item_text_shipped": i.licence.item_text_shipped,
            "validated": i.validated,
        }
        for i in load_instruments().values()
    ]

    def render() -> None:
        table = Table(title="Instruments")
        for col in ("id", "name", "domain", "rater", "items", "licence", "item text"):
            table.add_column(col)
        for r in rows:
            table.add_row(
                r["id"],
                r["name"] + ("" if r["validated"] else " (not a validated measure)"),
                r["domain"],
                r["rater"],
                str(r["items"]),
                f"{r['licence_tier']} ({r['licence_holder']})",
                "shipped" if r["item_text_shipped"] else "import your licensed text",
            )
        console.print(table)

    emit(rows, as_json, render)


@instruments_app.command("import")
def import_cmd(
    file: Annotated[
        Path, typer.Argument(help="A FHIR R4 Questionnaire (JSON) holding the licensed wording.")
    ],
    licence: Annotated[
        str,
        typer.Option(
            "--licence",
            help="The licence the clinic uses the wording under, with the holder's notice "
            "(shown under the client's form).",
        ),
    ],
    supplied_by: Annotated[str, typer.Option("--supplied-by", help="Who supplies the wording.")],
    instrument: Annotated[
        str | None,
        typer.Option("--instrument", "-i", help="The measure, e.g. core10; default: the one the file names."),
    ] = None,
    database: Annotated[str | None, DATABASE] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Import a clinic's licensed wording of a measure whose wording is not shipped: checked item
    by item against the shipped scoring, stored only when it matches (earlier uploads are kept)."""
    from attunement.store.licensed_wording import import_wording

    try:
        raw = file.read_bytes()
    except OSError as exc:
        fail(f"questionnaire file: cannot read {str(file)!r} ({exc.strerror or exc})", as_json)
        return
    try:
        with database_session(database) as session:
            done = import_wording(session, raw, licence, supplied_by, instrument_id=instrument)
    except InvalidInputError as exc:
        from attunement.instruments.licensed import problem_text

        if as_json:
            problems = [
                {"field": p.field, "value": p.value, "expected": p.expected, "text": problem_text(p)}
                for p in exc.problems
            ]
            print(json.dumps({"error": exc.context, "problems": problems}, indent=2, ensure_ascii=False))
            raise typer.Exit(2) from None
        lines = [f"{exc.context}: {len(exc.problems)} problem(s)"]
        lines += [f"  - {problem_text(p)}" for p in exc.problems]
        fail(escape("\n".join(lines)), as_json)
        return
    except AttunementError as exc:
        fail(escape(str(exc)), as_json)
        return
    result = {
        "id": done.id,
        "instrument": done.instrument,
        "items": done.items,
        "supplied_by": done.supplied_by,
        "supplied_at": done.supplied_at.isoformat(),
        "licence_statement": done.licence_statement,
        "earlier_uploads_kept": done.earlier,
    }

    def render() -> None:
        kept = f"; {done.earlier} earlier upload(s) kept" if done.earlier else ""
        console.print(
            escape(
                f"Stored the licensed wording of {done.short_name} ({done.items} items), supplied by "
                f"{done.supplied_by}{kept}. An administrator can now offer it to clients."
            )
        )

    emit(result, as_json, render)


#: Where ``attunement serve`` listens by default: the base of the canonical addresses when
#: neither ``--base``, ``ATTUNEMENT_FHIR_BASE`` nor ``ATTUNEMENT_PUBLIC_URL`` says otherwise.
DEFAULT_SERVER = "http://127.0.0.1:8000"


@instruments_app.command("fhir")
def fhir_cmd(
    instrument: Annotated[str, typer.Argument(help="The instrument, e.g. phq9 or core10.")],
    base: Annotated[
        str | None,
        typer.Option(
            "--base",
            help="Base of the canonical address ({base}/Questionnaire/{id}); default "
            "ATTUNEMENT_FHIR_BASE, else ATTUNEMENT_PUBLIC_URL/fhir, else http://127.0.0.1:8000/fhir.",
        ),
    ] = None,
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            help="The clinic's database: a measure whose wording is not shipped is given in the "
            "wording imported there. Without it, such a measure is given without wording.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Errors as JSON too.")] = False,
) -> None:
    """Print one instrument's FHIR Questionnaire as a FHIR tool gets it: a canonical address, the
    clinic's licensed wording when imported, else numbered items with numeric answers (no wording)."""
    from attunement.fhir.canonical import fhir_base
    from attunement.fhir.questionnaires import handed_out

    try:
        inst = get_instrument(instrument)
    except AttunementError as exc:
        fail(escape(str(exc)), as_json)
        return
    wording = None
    if database is not None and not inst.licence.item_text_shipped:
        from attunement.store.licensed_wording import current_wordings

        try:
            with database_session(database) as session:
                wording = current_wordings(session).get(inst.id)
        except Exception as exc:  # a database that cannot be opened: say so, never a traceback
            fail(escape(f"--database: cannot read {database!r} ({type(exc).__name__}: {exc})"), as_json)
            return
    if base is not None and not base.strip():
        fail("--base: expected an address such as https://clinic.example/fhir", as_json)
    if base is None:
        from attunement.web.security import public_url

        base = fhir_base(public_url() or DEFAULT_SERVER)
    print(
        json.dumps(
            handed_out(inst.id, base=base.strip().rstrip("/"), wording=wording), indent=2, ensure_ascii=False
        )
    )


def _cut_off(cut) -> str:
    """A cut-off as the output says it: rule, value and, when not verified, its status."""
    return f"cut-off {cut.rule} {number(cut.value)}" + (f" {cut.tag}" if cut.tag else "")


@app.command("score")
def score_cmd(
    instrument: Annotated[str, typer.Option("--instrument", "-i", help="Instrument id, e.g. phq9.")],
    answers: Annotated[
        str,
        typer.Option(
            "--answers", "-a", help="Comma-separated answers in item order; leave a gap for a missing one."
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Score one completed questionnaire: total, band, caseness and safety flags."""
    try:
        inst = get_instrument(instrument)
        result = score(inst, answers_from_sequence(inst, [a.strip() for a in answers.split(",")]))
    except AttunementError as exc:
        fail(str(exc), as_json)
        return

    def render() -> None:
        console.print(
            f"[bold]{inst.short_name}[/bold] total {number(result.total)}"
            + (f" ({result.band})" if result.band else "")
            + (" - prorated" if result.prorated else "")
        )
        if result.caseness is not None:
            c = inst.scoring.caseness
            console.print(escape(f"caseness: {'yes' if result.caseness else 'no'} ({_cut_off(c)})"))
        screens = {s.id: s.screen for s in inst.scoring.subscales if s.screen is not None}
        for sid, value in {**result.subscales, **result.composites}.items():
            positive = result.screens.get(sid)
            screen = screens.get(sid)
            said = (
                ""
                if positive is None or screen is None
                else escape(f" ({'positive' if positive else 'negative'} screen, {_cut_off(screen)})")
            )
            console.print(f"  {sid}: {number(value)}{said}")
        for flag in result.flags:
            console.print(f"[red bold]SAFETY[/red bold] {escape(flag.reason)}")
        if not inst.licence.item_text_shipped:
            console.print(f"[dim]{inst.licence.holder}: scored by item id; wording not shipped.[/dim]")

    emit(result, as_json, render)

"""``attunement instruments`` and ``attunement score``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from attunement.cli.app import JSON_HELP, app
from attunement.cli.output import console, emit, fail, number
from attunement.errors import AttunementError
from attunement.instruments import answers_from_sequence, get_instrument, load_instruments, score


@app.command()
def instruments(as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    """List the instruments, their licence and whether their item wording is shipped."""
    rows = [
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
            console.print(
                escape(
                    f"caseness: {'yes' if result.caseness else 'no'} "
                    f"(cut-off {c.rule} {number(c.value)} {c.tag})"
                )
            )
        for sid, value in {**result.subscales, **result.composites}.items():
            console.print(f"  {sid}: {number(value)}")
        for flag in result.flags:
            console.print(f"[red bold]SAFETY[/red bold] {escape(flag.reason)}")
        if not inst.licence.item_text_shipped:
            console.print(f"[dim]{inst.licence.holder}: scored by item id; wording not shipped.[/dim]")

    emit(result, as_json, render)

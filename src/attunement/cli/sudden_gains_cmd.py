"""``attunement sudden-gains``: sudden gains (and losses) in a measures table.

Session 0, when present, is the pre-treatment assessment: it serves as the baseline for a
reliable-change cut-off and is not searched for gains, which are session-to-session changes
during treatment.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from attunement.change.sudden_gains import (
    BASELINE_SESSION,
    Direction,
    SuddenGainsResult,
    find_sudden_gains,
    load_parameters,
    reliable_change_cutoff,
)
from attunement.cli.app import JSON_HELP, app
from attunement.cli.output import console, emit, fail, number
from attunement.errors import AttunementError, FieldProblem, InvalidInputError, UnknownInstrumentError
from attunement.instruments import get_instrument
from attunement.tables import instruments_in, read_measures, session_scores


@app.command("sudden-gains")
def sudden_gains_cmd(
    file: Annotated[
        Path, typer.Argument(help="A measures table (.csv or .parquet) in the canonical long format.")
    ],
    instrument: Annotated[
        str | None,
        typer.Option(
            "--instrument", "-i", help="Which instrument's scores to use; needed when the file holds several."
        ),
    ] = None,
    cutoff: Annotated[
        float | None,
        typer.Option("--cutoff", help="Criterion 1: the least change in score points (inclusive)."),
    ] = None,
    reliability: Annotated[
        float | None,
        typer.Option(
            "--reliability",
            help="Derive criterion 1 from reliable change, 1.96 x sqrt(2) x SD x sqrt(1 - R), with SD the "
            "sample SD of the baseline scores (session 0, or else each client's first session).",
        ),
    ] = None,
    losses: Annotated[
        bool, typer.Option("--losses", help="Also find sudden losses (sudden worsening).")
    ] = False,
    higher_is_better: Annotated[
        bool,
        typer.Option(
            "--higher-is-better",
            help="For an instrument that is not installed: higher scores mean improvement (default: lower).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Find sudden gains (Tang & DeRubeis 1999) in client-rated session scores, with reversals."""
    if (cutoff is None) == (reliability is None):
        fail("give exactly one of --cutoff (score points) or --reliability (derives a cut-off)", as_json)
    try:
        measures = read_measures(file)
        instrument = _instrument(measures, instrument)
        direction = _direction(instrument, higher_is_better)
        scores = session_scores(measures, instrument, rater="client")
        criterion = _criterion(scores, cutoff, reliability)
        result = find_sudden_gains(
            scores, criterion["cutoff"], gains=True, losses=losses, direction=direction
        )
    except (AttunementError, OSError) as exc:
        fail(str(exc), as_json)
        return

    data = {
        "instrument": instrument,
        "direction": direction,
        "criterion1": criterion,
        "rules": asdict(result.rules),
        "summary": asdict(result.summary),
        "events": _records(result.events),
    }
    emit(data, as_json, lambda: _render(instrument, criterion, result))


def _instrument(measures: pd.DataFrame, chosen: str | None) -> str:
    available = instruments_in(measures[measures["rater"] == "client"])
    if chosen is not None:
        return chosen
    if len(available) == 1:
        return available[0]
    found = ", ".join(available) or "none"
    raise InvalidInputError(
        "measures table", [FieldProblem("--instrument", None, f"one of the instruments in the file: {found}")]
    )


def _direction(instrument: str, higher_is_better: bool) -> Direction:
    try:
        defined = get_instrument(instrument).direction
    except UnknownInstrumentError:
        return "higher_is_better" if higher_is_better else "lower_is_better"
    if defined == "neither":
        raise InvalidInputError(
            instrument, [FieldProblem("--instrument", instrument, "a measure on which one end is better")]
        )
    if higher_is_better and defined != "higher_is_better":
        raise InvalidInputError(
            instrument,
            [FieldProblem("--higher-is-better", True, "left out: on this instrument lower is better")],
        )
    return defined


def _criterion(scores: pd.DataFrame, cutoff: float | None, reliability: float | None) -> dict[str, Any]:
    if cutoff is not None:
        return {"cutoff": cutoff, "from": "--cutoff"}
    if reliability is None:
        raise InvalidInputError(
            "sudden gains", [FieldProblem("--reliability", None, "a reliability, or a --cutoff instead")]
        )
    at_baseline = scores[scores["session"] == BASELINE_SESSION]
    if at_baseline.empty:
        baseline = scores.sort_values("session").groupby("client_id").head(1)
        where = "first session of each client"
    else:
        baseline = at_baseline
        where = f"session {BASELINE_SESSION}"
    z = load_parameters().reliable_change_z
    return {
        "cutoff": reliable_change_cutoff(baseline["score"], reliability),
        "from": "reliable change",
        "reliability": reliability,
        "baseline": where,
        "baseline_n": len(baseline),
        "baseline_sd": float(baseline["score"].std(ddof=1)),
        "z": z.value,
        "z_source": z.source,
    }


def _records(events: pd.DataFrame) -> list[dict[str, Any]]:
    plain = events.astype(object).where(events.notna(), None)
    return plain.to_dict("records")


def _render(instrument: str, criterion: dict[str, Any], result: SuddenGainsResult) -> None:
    rules, summary, events = result.rules, result.summary, result.events
    params = load_parameters()
    title = "Sudden gains and losses" if summary.losses is not None else "Sudden gains"
    table = Table(title=f"{title}: {escape(instrument)}")
    for column in ("client", "kind", "sessions", "scores", "size", "% of pre", "reversed"):
        table.add_column(column)
    for e in events.itertuples(index=False):
        table.add_row(
            escape(str(e.client_id)),
            e.kind,
            f"{e.pregain_session} -> {e.postgain_session}",
            f"{number(e.pregain_score)} -> {number(e.postgain_score)}",
            number(e.size),
            number(100 * e.relative_size, 0) if pd.notna(e.relative_size) else "-",
            f"yes (session {e.reversal_session})" if e.reversal else "no",
        )
    if len(events):
        console.print(table)
    else:
        console.print(f"[bold]{title}[/bold]: none found")
    how = f"cut-off {number(rules.cutoff)} points"
    if criterion["from"] == "reliable change":
        r, sd = number(criterion["reliability"], 3), number(criterion["baseline_sd"])
        how += f" (reliable change: r = {r}, SD {sd} of {criterion['baseline_n']} baseline scores"
        how += f", {criterion['baseline']})"
    console.print(
        escape(
            f"Criteria: {how}; at least {number(100 * rules.relative, 0)}% of the pre-gain score; "
            f"window means differ beyond t (alpha {number(rules.alpha)}, two-tailed) "
            f"{'adjusted for missing sessions' if rules.adjust_for_missing else 'unadjusted'}; "
            f"{rules.direction.replace('_', ' ')}. "
            f"Tang & DeRubeis 1999 {params.relative_criterion.tag}".rstrip()
        )
    )
    console.print(
        f"{summary.clients} clients, {summary.clients_evaluated} with at least one evaluable interval; "
        f"{summary.intervals_evaluable} intervals evaluable."
    )
    totals = [("gains", summary.gains, summary.clients_with_gain, summary.gain_reversals)]
    if summary.losses is not None:
        totals.append(("losses", summary.losses, summary.clients_with_loss, summary.loss_reversals))
    for name, found, clients, reversed_ in totals:
        console.print(f"Sudden {name}: {found} in {clients} clients, {reversed_} reversed.")

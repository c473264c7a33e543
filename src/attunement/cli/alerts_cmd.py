"""``attunement alerts --batch DIR``: the current alerts of every client in large tables."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from attunement.alerts.alert import KINDS, SEVERITIES
from attunement.alerts.batch import batch_alerts
from attunement.cli.app import JSON_HELP, app
from attunement.cli.output import console, emit, fail, progress_bar
from attunement.errors import AttunementError

SHOWN = 20


@app.command("alerts")
def alerts_cmd(
    batch: Annotated[
        Path,
        typer.Option(
            "--batch",
            help="Folder with the canonical tables: measures, and episodes and actions if any.",
        ),
    ],
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            help="A fitted forecast model (JSON, from attunement fit) for not-on-track and dropout alerts;"
            " 'default' for the bundled model.",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write every alert to this .csv or .parquet file.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Current alerts (safety, rupture, perception gap; with a model also not on track and
    dropout risk) for the latest session of every client's course of treatment; split alliance
    and cohesion for the latest session of every couple, family and group (rows with case_id). An episode of
    care that has ended (end_reason other than ongoing) keeps only its safety alerts. An actions
    table closes the safety alerts an action covers and marks the other alerts it was recorded
    for (action_recorded)."""
    try:
        forecast = _load_model(model) if model is not None else None
        progress = progress_bar("alerts", as_json)
        started = time.perf_counter()
        with progress:
            task = progress.add_task("clients", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            result = batch_alerts(batch, forecast, advance)
        seconds = time.perf_counter() - started
        if out is not None:
            _write(result.alerts, out)
    except AttunementError as exc:
        fail(str(exc), as_json)
        return
    table = result.alerts
    counts = {
        kind: {s: int(((table["kind"] == kind) & (table["severity"] == s)).sum()) for s in SEVERITIES}
        for kind in KINDS
    }
    summary: dict[str, Any] = {
        "folder": str(batch),
        "clients": result.clients,
        "episodes": result.episodes,
        "cases": result.cases,
        "ended_episodes": result.ended_episodes,
        "measure_rows": result.measure_rows,
        "alerts": len(table),
        "clients_with_alerts": int(table["client_id"].nunique()),
        "requires_action": int(table["requires_action"].sum()),
        "safety_item_recorded": result.safety_item_recorded,
        "actions": result.actions,
        "closed_by_action": result.closed_by_action,
        "action_recorded": int(table["action_recorded"].sum()) if len(table) else 0,
        "by_kind": counts,
        "forecast_model": str(model) if model is not None else None,
        "seconds": round(seconds, 2),
        "out": str(out) if out is not None else None,
    }

    def render() -> None:
        courses = f" ({result.episodes:,} episodes)" if result.episodes != result.clients else ""
        console.print(
            f"{result.clients:,} clients{courses}, {result.measure_rows:,} measure rows: "
            f"{len(table):,} alerts for {summary['clients_with_alerts']:,} clients "
            f"({summary['requires_action']:,} need a recorded action) in {seconds:.1f} s"
        )
        if result.cases:
            console.print(
                f"{result.cases:,} couples, families and groups: split alliance and cohesion at each "
                "case's latest session"
            )
        if result.ended_episodes:
            console.print(f"{result.ended_episodes:,} episodes have ended: only their safety alerts are kept")
        if not result.safety_item_recorded:
            console.print(
                "These tables hold no item answers of a questionnaire with safety items (such as PHQ-9 "
                "item 9; totals only): safety items could not be checked"
            )
        if result.actions is not None:
            console.print(
                f"{result.actions:,} recorded actions: {result.closed_by_action:,} safety alerts closed, "
                f"{summary['action_recorded']:,} alerts still shown with their action recorded"
            )
        if model is None:
            console.print("not on track and dropout risk need --model: not computed")
        grid = Table("kind", *SEVERITIES)
        for kind, by in counts.items():
            grid.add_row(kind, *(f"{by[s]:,}" for s in SEVERITIES))
        console.print(grid)
        if out is not None:
            console.print(f"written to {out}")
        else:
            urgent = table.sort_values("requires_action", ascending=False, kind="stable").head(SHOWN)
            for row in urgent.itertuples():
                who = (
                    row.client_id if pd.isna(row.episode_id) else f"{row.client_id} episode {row.episode_id}"
                )
                console.print(
                    f"{who} session {row.session} [{row.severity}] {row.kind}: {row.reason}",
                    markup=False,
                    highlight=False,
                )
            if len(table) > SHOWN:
                console.print(f"... {len(table) - SHOWN:,} more; use --out FILE for all of them")

    emit(summary, as_json, render)


def _load_model(path: Path) -> Any:
    from attunement.forecast import default_model, load_model

    return default_model() if str(path) == "default" else load_model(path)


def _write(frame: pd.DataFrame, path: Path) -> None:
    if path.suffix == ".parquet":
        _text_where_mixed(frame).to_parquet(path, index=False)
    elif path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        raise typer.BadParameter(f"--out must end in .csv or .parquet, got {path.suffix!r}")


def _text_where_mixed(frame: pd.DataFrame) -> pd.DataFrame:
    """The table with every column that mixes numbers and words written as text, which Parquet
    needs (a safety alert's answer is a number, or "not answered" for a blank item)."""
    mixed = [
        name
        for name in frame.columns
        if frame[name].dtype == object
        and pd.api.types.infer_dtype(frame[name], skipna=True).startswith("mixed")
    ]
    if not mixed:
        return frame
    out = frame.copy()
    for name in mixed:
        out[name] = out[name].map(_as_text, na_action="ignore")
    return out


def _as_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)

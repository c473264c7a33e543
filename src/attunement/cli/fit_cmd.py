"""``attunement fit``: fit the forecast model on a service's own history."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from attunement.cli.app import JSON_HELP, app
from attunement.cli.output import console, emit, errors, fail, number
from attunement.errors import AttunementError, FieldProblem, InvalidInputError
from attunement.evaluation.cohort import table_path
from attunement.forecast import fit_model, save_model
from attunement.forecast.settings import load_settings
from attunement.prediction.histories import histories_from_tables
from attunement.prediction.outcomes import labels_from_tables
from attunement.tables.files import read_episodes, read_measures


@app.command("fit")
def fit_cmd(
    history: Annotated[
        Path,
        typer.Option(
            "--history", help="Folder with the canonical measures and episodes tables (CSV or Parquet)."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model file to write (JSON).")],
    settings_path: Annotated[
        Path | None,
        typer.Option(
            "--settings", help="Fitting settings (a copy of the default settings.json with changed values)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Fit the forecast (deterioration, no improvement, dropout) on finished courses and write the model.

    The episodes table must say how each course ended (end_reason). The model file is plain JSON:
    it records what it was trained on and its held-out validation figures. See docs/forecast.md.
    """
    started = time.perf_counter()
    try:
        if not history.is_dir():
            raise InvalidInputError("fit", [FieldProblem("history", str(history), "an existing folder")])
        measures = read_measures(table_path(history, "measures"))
        episodes = read_episodes(table_path(history, "episodes"))
        if "end_reason" not in episodes.columns:
            raise InvalidInputError(
                "episodes table", [FieldProblem("end_reason", "missing", "how each course ended")]
            )
        settings = load_settings(settings_path) if settings_path else None
        histories = histories_from_tables(measures, episodes)
        labels = labels_from_tables(histories, episodes)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=errors,
            transient=True,
            disable=as_json,
        ) as bar:
            task = bar.add_task("features", total=None)

            def progress(step: str, done: int, total: int) -> None:
                bar.update(task, description=step, completed=done, total=total)

            source = f"attunement fit --history {history.name}"
            # The simulator writes its truth tables next to the measures; a service's export has none.
            simulated = table_path(history, "truth", required=False) is not None
            model = fit_model(
                histories, labels, source=source, settings=settings, progress=progress, simulated=simulated
            )
        save_model(model, out)
    except AttunementError as exc:
        fail(str(exc), as_json)
        return
    seconds = time.perf_counter() - started
    summary = {
        "model": str(out),
        "seconds": round(seconds, 1),
        "trained_on": model.trained_on,
        "validation": {
            name: {
                "session_3": figures["by_session"].get("3"),
                "pooled": figures["pooled"],
                "alert": figures["alert"],
            }
            for name, figures in model.validation.items()
        },
        "alert_thresholds": {name: part.alert.threshold for name, part in model.outcomes.items()},
    }
    emit(summary, as_json, lambda: _render(summary))


def _render(summary: dict) -> None:
    trained = summary["trained_on"]
    console.print(
        f"Fitted on {trained['clients']:,} clients ({trained['session_rows']:,} client-sessions) "
        f"in {summary['seconds']} s; written to {summary['model']}"
    )
    table = Table(title="Held-out validation (reference clients not used for fitting)")
    for column in (
        "outcome",
        "AUC s3",
        "AUC pooled",
        "Brier",
        "ECE",
        "threshold",
        "alert: flagged / false alarms",
    ):
        table.add_column(column)
    for name, figures in summary["validation"].items():
        s3, pooled = figures["session_3"] or {}, figures["pooled"]
        alert = " / ".join(number(v, 3) for v in figures["alert"].values())
        table.add_row(
            name,
            number(s3.get("auc"), 3),
            number(pooled["auc"], 3),
            number(pooled["brier"], 4),
            number(pooled["ece"], 4),
            number(summary["alert_thresholds"][name], 3),
            alert,
        )
    console.print(table)

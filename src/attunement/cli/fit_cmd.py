"""``attunement fit``: fit the forecast model on a service's own history."""

from __future__ import annotations

import getpass
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from attunement.cli.app import JSON_HELP, app
from attunement.cli.output import console, emit, errors, fail, number
from attunement.errors import AttunementError, FieldProblem, InvalidInputError
from attunement.forecast import fit_model, save_model
from attunement.forecast.settings import ForecastSettings, load_settings
from attunement.prediction.histories import histories_from_tables
from attunement.prediction.outcomes import labels_from_tables
from attunement.tables.files import find_table, read_episodes, read_measures


@app.command("fit")
def fit_cmd(
    history: Annotated[
        Path | None,
        typer.Option(
            "--history", help="Folder with the canonical measures and episodes tables (CSV or Parquet)."
        ),
    ] = None,
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            help="Fit on this app database's ended episodes and store the model there as a candidate.",
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Model file to write (JSON).")] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Name of the stored model (with --database).")
    ] = None,
    settings_path: Annotated[
        Path | None,
        typer.Option(
            "--settings", help="Fitting settings (a copy of the default settings.json with changed values)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Fit the forecast (deterioration, no improvement, dropout) on finished courses and write the model.

    From a folder (--history, with --out): the episodes table must say how each course ended
    (end_reason). From the app's database (--database): its ended episodes of care, at least
    min_ended_episodes of them (forecast/settings.json); the model is stored there as a candidate
    an administrator can activate on the Forecast models page, and written to --out when given.
    The model file is plain JSON: it records what it was trained on and its held-out validation
    figures. See docs/forecast.md.
    """
    started = time.perf_counter()
    stored = None
    try:
        settings = load_settings(settings_path) if settings_path else load_settings()
        if history is not None and database is None:
            if out is None:
                raise InvalidInputError("fit", [FieldProblem("out", "missing", "a model file to write")])
            measures, episodes, simulated = _folder_tables(history)
            source = f"attunement fit --history {history.name}"
            histories = histories_from_tables(measures, episodes)
            labels = labels_from_tables(histories, episodes)
            model = _fit(histories, labels, source, settings, simulated, as_json)
        elif database is not None and history is None:
            model, stored = _fit_database(database, name, settings, as_json)
        else:
            raise InvalidInputError(
                "fit", [FieldProblem("history or database", "both" if history else "neither", "exactly one")]
            )
        if out is not None:
            save_model(model, out)
    except AttunementError as exc:
        fail(str(exc), as_json)
        return
    seconds = time.perf_counter() - started
    summary = {
        "model": str(out) if out is not None else None,
        "stored": stored,
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


def _folder_tables(history: Path):
    if not history.is_dir():
        raise InvalidInputError("fit", [FieldProblem("history", str(history), "an existing folder")])
    measures = read_measures(find_table(history, "measures", context="history folder"))
    episodes = read_episodes(find_table(history, "episodes", context="history folder"))
    if "end_reason" not in episodes.columns:
        raise InvalidInputError(
            "episodes table", [FieldProblem("end_reason", "missing", "how each course ended")]
        )
    # The simulator writes its truth tables next to the measures; a service's export has none.
    simulated = find_table(history, "truth", required=False, context="history folder") is not None
    return measures, episodes, simulated


def _fit_database(url: str, name: str | None, settings: ForecastSettings, as_json: bool):
    """Fit on the database's ended episodes and store the model as a candidate; (model, stored)."""
    from attunement.store import open_database
    from attunement.store.forecast_models import count_ended, ended_history, store_candidate

    minimum = int(settings.min_ended_episodes.value)
    db = open_database(url)
    try:
        with db.session() as session:
            ended = count_ended(session)
            if ended < minimum:
                raise InvalidInputError(
                    "fit",
                    [
                        FieldProblem(
                            "ended episodes",
                            ended,
                            f"at least {minimum} ended episodes of care to fit on (min_ended_episodes in "
                            "forecast/settings.json); keep using the bundled model until there are",
                        )
                    ],
                )
            measures, episodes = ended_history(session)
        histories = histories_from_tables(measures, episodes)
        labels = labels_from_tables(histories, episodes)
        model = _fit(histories, labels, "attunement fit --database", settings, False, as_json)
        label = name or f"Clinic model of {model.trained_on['date'][:10]} ({len(episodes):,} ended episodes)"
        comparison = _bundled_on_held_out(histories, labels, settings)
        with db.session() as session:
            row = store_candidate(
                session, model.to_dict(), label, f"attunement fit ({_os_user()})", comparison
            )
            stored = {"id": row.id, "name": row.name, "status": row.status}
    finally:
        db.dispose()
    return model, stored


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment: the command is still the author
        return "unknown user"


def _bundled_on_held_out(histories, labels, settings: ForecastSettings) -> dict:
    """The bundled model's figures and the published baselines' on the candidate's own held-out
    episodes, for a fair comparison. ``bundled`` is None when the bundled model cannot answer
    for this clinic's data (the page then says so)."""
    from attunement.evaluation.comparison import baselines_on_held_out
    from attunement.forecast import default_model
    from attunement.forecast.fitting import held_out_clients, validate_model

    held_out = held_out_clients(len(histories), settings)
    try:
        bundled = validate_model(default_model(), histories, labels, held_out, settings)
    except AttunementError:
        bundled = None
    return {"bundled": bundled, "baselines": baselines_on_held_out(histories, labels, held_out)}


def _fit(histories, labels, source: str, settings: ForecastSettings, simulated: bool, as_json: bool):
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

        return fit_model(
            histories, labels, source=source, settings=settings, progress=progress, simulated=simulated
        )


def _render(summary: dict) -> None:
    trained = summary["trained_on"]
    where = [f"written to {summary['model']}"] if summary["model"] else []
    if summary["stored"]:
        where.append(
            f"stored in the database as candidate {summary['stored']['id']} ({summary['stored']['name']}): "
            "an administrator can compare and activate it on the Forecast models page"
        )
    console.print(
        f"Fitted on {trained['clients']:,} clients ({trained['session_rows']:,} client-sessions) "
        f"in {summary['seconds']} s; {'; '.join(where)}"
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

"""``attunement evaluate``: measure every early-warning method on held-out clients."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markdown import Markdown
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from attunement.alerts.room import load_room_parameters as load_room_alert_parameters
from attunement.cli.app import JSON_HELP, app
from attunement.cli.output import console, emit, errors, fail
from attunement.errors import AttunementError
from attunement.evaluation.cohort import load_cohort, split_by_client
from attunement.evaluation.harness import evaluate
from attunement.evaluation.plots import write_plots
from attunement.evaluation.registry import registered_methods
from attunement.evaluation.report import markdown_report
from attunement.evaluation.room_cohort import load_room_cohort
from attunement.evaluation.rooms import evaluate_rooms
from attunement.evaluation.rooms_report import rooms_markdown
from attunement.evaluation.settings import Settings, load_settings


@app.command("evaluate")
def evaluate_cmd(
    cohort_dir: Annotated[
        Path,
        typer.Option(
            "--cohort",
            "-c",
            help="Folder with the held-out cohort's tables (measures, episodes; truth if simulated).",
        ),
    ],
    reference_dir: Annotated[
        Path | None,
        typer.Option(
            "--reference",
            "-r",
            help="Folder with a reference cohort to fit methods on (default: the cohort split by client).",
        ),
    ] = None,
    plots: Annotated[
        Path | None,
        typer.Option("--plots", help="Folder for the ROC and calibration plots (default: COHORT/plots)."),
    ] = None,
    method_names: Annotated[
        list[str] | None, typer.Option("--method", "-m", help="Only this method (repeatable).")
    ] = None,
    markdown: Annotated[
        Path | None, typer.Option("--markdown", help="Also write the report as Markdown to this file.")
    ] = None,
    rooms: Annotated[
        bool,
        typer.Option(
            "--rooms",
            help="Measure the room alerts (split alliance, cohesion) instead, on a cohort written by "
            "`attunement simulate --rooms`: precision and recall against its known events, with a "
            "naive cut-off rule and an oracle.",
        ),
    ] = False,
    room_parameters: Annotated[
        Path | None,
        typer.Option(
            "--room-parameters",
            help="With --rooms: the room alerts' thresholds from this file (a copy of "
            "alerts/room_parameters.json with changed values) instead of the bundled ones.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Fit every early-warning method on reference clients and measure it, session by session, on others.

    Figures per method and outcome: AUC at sessions 2, 3, 4 and 6, the alert rule's sensitivity and
    false-alarm rate, Brier score and expected calibration error, clients flagged before their last
    session, and the same per client group. A simulated cohort adds the oracle (the best any method
    could do) and rupture outcomes. See docs/evaluation.md.

    With --rooms: the split-alliance and cohesion alerts of simulated couples, families and groups
    against their known events (docs/evaluation.md, "Room alerts").
    """
    settings = load_settings()
    if rooms:
        evaluate_rooms_cmd(cohort_dir, settings, room_parameters, as_json)
        return
    try:
        held_out = load_cohort(cohort_dir)
        if reference_dir is not None:
            reference = load_cohort(reference_dir)
        else:
            reference, held_out = split_by_client(
                held_out, settings.reference_share.value, int(settings.split_seed.value)
            )
        methods = registered_methods(held_out, method_names)
    except (AttunementError, OSError, KeyError) as exc:
        fail(str(exc), as_json)
        return

    sessions = int(settings.course_sessions.value)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
        disable=as_json,
    )
    with progress:
        task = progress.add_task("evaluating", total=len(methods) * sessions)

        def advance(name: str, session: int) -> None:
            progress.update(task, advance=1, description=f"{name}, session {session}")

        rows, runs = evaluate(reference, held_out, methods, settings, advance)
    plot_dir = plots or cohort_dir / "plots"
    written = write_plots(
        runs, held_out, int(settings.plot_session.value), int(settings.calibration_bins.value), plot_dir
    )
    if as_json:
        emit(rows, True, lambda: None)
    command = _command(cohort_dir, reference_dir, plot_dir, markdown, method_names)
    report_dir = markdown.parent if markdown else Path.cwd()
    text = markdown_report(
        rows,
        title="Early-warning validation",
        command=command,
        reference=f"{len(reference):,} clients ({reference.name})",
        held_out=f"{len(held_out):,} held-out clients ({held_out.name})",
        plots=written,
        folder=report_dir,
    )
    if markdown:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(text + "\n" + _kept_sections(markdown))
    if not as_json:
        console.print(Markdown(text))


def evaluate_rooms_cmd(cohort_dir: Path, settings: Settings, parameters: Path | None, as_json: bool) -> None:
    """The room evaluation (see :mod:`attunement.evaluation.rooms`)."""
    window, cutoff = int(settings.room_window.value), settings.room_naive_cutoff.value
    try:
        thresholds = load_room_alert_parameters(parameters.resolve()) if parameters else None
        cohort = load_room_cohort(cohort_dir)
    except (AttunementError, OSError, KeyError) as exc:
        fail(str(exc), as_json)
        return
    rows = evaluate_rooms(cohort, window, cutoff, thresholds)
    command = f"attunement evaluate --cohort {cohort_dir} --rooms"
    if parameters:
        command += f" --room-parameters {parameters}"
    emit(rows, as_json, lambda: console.print(Markdown(rooms_markdown(rows, command, window, cutoff))))


#: Everything after this line of an existing report is written by hand (figures measured by other
#: commands) and is kept when the report is written again.
KEPT_MARKER = "<!-- kept when regenerated: sections below are written by hand -->"


def _kept_sections(markdown: Path) -> str:
    if not markdown.exists():
        return ""
    _, found, kept = markdown.read_text(encoding="utf-8").partition(KEPT_MARKER)
    return f"\n{KEPT_MARKER}{kept}" if found else ""


def _command(cohort: Path, reference: Path | None, plots: Path, markdown: Path | None, names) -> str:
    parts = ["attunement evaluate", f"--cohort {cohort}"]
    if reference:
        parts.append(f"--reference {reference}")
    parts.append(f"--plots {plots}")
    if markdown:
        parts.append(f"--markdown {markdown}")
    parts += [f"--method {n}" for n in names or []]
    return " ".join(parts)

"""``attunement simulate``: write a simulated clinic whose truth is known."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from attunement.cli.app import JSON_HELP, app
from attunement.cli.output import console, emit, errors, fail, number
from attunement.cli.simulate_rooms import write_rooms
from attunement.errors import AttunementError, FieldProblem, InvalidInputError
from attunement.evaluation.cohort import PROFILE_FILE
from attunement.simulation import ClinicSimulation, load_parameters
from attunement.simulation.summary import block_counts, summarise
from attunement.tables import normalise_episodes, normalise_measures


class FileFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


TABLES = ("measures", "episodes", "truth", "truth_ruptures", "truth_therapists", "truth_negative_processes")


class _Appender:
    """Writes a table block by block to one CSV or Parquet file."""

    def __init__(self, path: Path, fmt: FileFormat):
        self.path, self.fmt = path, fmt
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None

    def write(self, frame: pd.DataFrame) -> None:
        if self.fmt is FileFormat.csv:
            frame.to_csv(self.path, mode="w" if self.rows == 0 else "a", header=self.rows == 0, index=False)
        else:
            table = pa.Table.from_pandas(
                frame, preserve_index=False, schema=None if self._writer is None else self._writer.schema
            )
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.path, table.schema)
            self._writer.write_table(table)
        self.rows += len(frame)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


#: What the simulated clinic measures, the instruments ``--measures`` may keep. CORE-10 is drawn
#: only when asked for by name: a service rarely measures it beside PHQ-9 and GAD-7.
SIMULATED_INSTRUMENTS = ("phq9", "gad7", "checkin", "checkin_therapist", "core10")


def _kept_instruments(keep: str | None) -> tuple[str, ...] | None:
    if keep is None:
        return None
    chosen = tuple(dict.fromkeys(part.strip() for part in keep.split(",") if part.strip()))
    wrong = [c for c in chosen if c not in SIMULATED_INSTRUMENTS]
    if not chosen or wrong:
        raise InvalidInputError(
            "simulate",
            [
                FieldProblem(
                    "measures",
                    keep,
                    "a comma-separated list of the simulated instruments: "
                    + ", ".join(SIMULATED_INSTRUMENTS),
                )
            ],
        )
    return chosen


@app.command("simulate")
def simulate_cmd(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder to write the tables into (created if needed).")
    ],
    clients: Annotated[int, typer.Option("--clients", "-n", min=1, help="Number of clients.")] = 20000,
    seed: Annotated[
        int, typer.Option("--seed", "-s", min=0, help="Random seed: the same seed gives the same clinic.")
    ] = 1,
    file_format: Annotated[
        FileFormat, typer.Option("--format", "-f", help="File format of the tables.")
    ] = FileFormat.csv,
    profile_path: Annotated[
        Path | None,
        typer.Option("--profile", help="A simulation profile (JSON); the default profile otherwise."),
    ] = None,
    phq9_items: Annotated[
        bool,
        typer.Option(
            "--phq9-items/--phq9-totals",
            help="Write PHQ-9 (and CORE-10) as item rows (with the risk items) or as totals only "
            "(smaller files).",
        ),
    ] = True,
    keep: Annotated[
        str | None,
        typer.Option(
            "--measures",
            help="Keep only these instruments in the measures table, comma-separated (e.g. phq9, "
            "phq9,gad7 or core10): a cohort shaped like a service that measures less or otherwise. "
            "PHQ-9, GAD-7 and both check-ins by default; CORE-10 only when named.",
        ),
    ] = None,
    rooms: Annotated[
        int | None,
        typer.Option(
            "--rooms",
            min=1,
            help="Instead of individual clients, simulate this many couples, this many families and "
            "this many groups, with known split-alliance episodes and cohesion drops "
            "(measures with case_id and role, truth_room_events, truth_room_participants).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Simulate a clinic with known truth: measures, episodes and truth tables, and a summary.

    Tables written: measures and episodes (canonical), truth, truth_ruptures, truth_therapists,
    truth_negative_processes, and profile.json, the parameters used (which the oracle of
    `attunement evaluate` reads).

    With --rooms N: N couples, N families and N groups instead (docs/simulation.md, "Couples,
    families and groups").

    The model and every parameter's source: docs/simulation.md.
    """
    if rooms is not None:
        try:
            if keep is not None or profile_path is not None:
                raise InvalidInputError(
                    "simulate",
                    [
                        FieldProblem(
                            "--measures" if keep is not None else "--profile",
                            keep if keep is not None else str(profile_path),
                            "nothing with --rooms: the rooms have their own parameters "
                            "(simulation/parameters/rooms.json) and write only relationship check-ins",
                        )
                    ],
                )
            write_rooms(rooms, seed, out, file_format.value, as_json)
        except (AttunementError, OSError, ValueError) as exc:
            fail(str(exc), as_json)
        return
    try:
        kept = _kept_instruments(keep)
        profile = load_parameters(profile_path)
        run = ClinicSimulation(
            clients, seed, profile, item_rows=phq9_items, core10=kept is not None and "core10" in kept
        )
        out.mkdir(parents=True, exist_ok=True)
    except (AttunementError, OSError, ValueError) as exc:
        fail(str(exc), as_json)
        return

    paths = {name: out / f"{name}.{file_format.value}" for name in TABLES}
    writers = {name: _Appender(path, file_format) for name, path in paths.items()}
    counts = None
    progress = Progress(
        TextColumn("simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("blocks"),
        TimeRemainingColumn(),
        console=errors,
        transient=True,
        disable=as_json or run.block_count < 2,
    )
    try:
        with progress:
            task = progress.add_task("blocks", total=run.block_count)
            for block in run.blocks():
                measures = normalise_measures(block.measures)
                if kept is not None:
                    measures = measures[measures["instrument"].isin(kept)]
                writers["measures"].write(measures)
                writers["episodes"].write(normalise_episodes(block.episodes))
                writers["truth"].write(block.truth)
                writers["truth_ruptures"].write(block.ruptures)
                writers["truth_negative_processes"].write(block.negative_processes)
                found = block_counts(block)
                counts = found if counts is None else counts + found
                progress.advance(task)
            writers["truth_therapists"].write(run.therapist_table())
        (out / PROFILE_FILE).write_text(profile.model_dump_json(indent=1, by_alias=True, exclude_none=True))
    except (AttunementError, OSError) as exc:
        fail(str(exc), as_json)
        return
    finally:
        for writer in writers.values():
            writer.close()

    if counts is None:  # a run has at least one block
        raise RuntimeError("the simulation made no blocks")
    summary = {
        "seed": seed,
        "profile": profile.name,
        "therapists": len(run.therapists),
        **summarise(counts, profile.class_names),
        "files": {name: {"path": str(path), "rows": writers[name].rows} for name, path in paths.items()},
    }

    def render() -> None:
        rates = summary["nhs_rates_percent"]
        console.print(
            f"Simulated [bold]{summary['clients']:,}[/bold] clients of {summary['therapists']:,} therapists "
            f"(profile {profile.name}, seed {seed}): {summary['sessions_attended']:,} attended sessions."
        )
        table = Table(title="Summary", show_header=False)
        table.add_column("what")
        table.add_column("value", justify="right")
        table.add_row("dropout", _pct(summary["dropout_percent"]))
        table.add_row("finished courses (2+ sessions)", f"{summary['finished_courses']:,}")
        table.add_row("mean sessions, finished courses", number(summary["mean_sessions_finished"]))
        table.add_row("reliable improvement", _pct(rates["improvement"]))
        table.add_row("recovery", _pct(rates["recovery"]))
        table.add_row("reliable deterioration", _pct(rates["deterioration"]))
        table.add_row("finished courses with a rupture", _pct(summary["rupture_percent_of_finished"]))
        console.print(table)
        for name, info in summary["files"].items():
            console.print(f"  {name}: {info['path']} ({info['rows']:,} rows)")

    emit(summary, as_json, render)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{number(value, 1)}%"

"""``attunement simulate --rooms N``: write simulated couples, families and groups with known truth.

Kept beside ``simulate_cmd`` so that the individual clinic's command and files stay as they were:
without ``--rooms`` nothing here runs.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from attunement.cli.output import console, emit
from attunement.simulation.rooms import FORMATS, simulate_rooms
from attunement.simulation.rooms_parameters import load_room_parameters
from attunement.simulation.rooms_tables import room_episodes, room_events, room_measures, room_participants
from attunement.tables import normalise_episodes, normalise_measures

ROOM_TABLES = ("measures", "episodes", "truth_room_events", "truth_room_participants")
ROOM_PARAMETERS_FILE = "room_parameters.json"
PLURALS = {"couple": "couples", "family": "families", "group": "groups"}


def write_rooms(cases_per_format: int, seed: int, out: Path, file_format: str, as_json: bool) -> None:
    """Simulate and write the room tables and the parameters used, then print a summary."""
    parameters = load_room_parameters()
    cases = simulate_rooms(cases_per_format, seed, parameters)
    tables = {
        "measures": normalise_measures(room_measures(cases)),
        "episodes": normalise_episodes(room_episodes(cases)),
        "truth_room_events": room_events(cases),
        "truth_room_participants": room_participants(cases),
    }
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, frame in tables.items():
        path = out / f"{name}.{file_format}"
        _write(frame, path)
        files[name] = {"path": str(path), "rows": len(frame)}
    (out / ROOM_PARAMETERS_FILE).write_text(parameters.model_dump_json(indent=1, exclude_none=True))
    counts = {fmt: sum(1 for c in cases if c.format == fmt) for fmt in FORMATS}
    kinds = tables["truth_room_events"]["kind"].value_counts().sort_index()
    events = {str(k): int(v) for k, v in kinds.items()}
    participants = int(sum(len(c.participants) for c in cases))
    summary = {
        "seed": seed,
        "cases": counts,
        "participants": participants,
        "events": events,
        "files": files,
    }

    def render() -> None:
        console.print(
            f"Simulated {sum(counts.values()):,} cases "
            f"({', '.join(f'{n:,} {PLURALS[fmt]}' for fmt, n in counts.items())}; seed {seed}) "
            f"with {participants:,} participants."
        )
        for kind, count in events.items():
            console.print(f"  known events, {kind}: {count:,}")
        for name, info in files.items():
            console.print(f"  {name}: {info['path']} ({info['rows']:,} rows)")

    emit(summary, as_json, render)


def _write(frame: pd.DataFrame, path: Path) -> None:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)

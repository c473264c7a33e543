"""Read and write the canonical tables as CSV or Parquet, chosen by the file suffix."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, overload

import pandas as pd

from attunement.errors import FieldProblem, InvalidInputError
from attunement.tables.schema import normalise_actions, normalise_episodes, normalise_measures

SUFFIXES = (".csv", ".parquet")


@overload
def find_table(folder: Path, name: str, *, required: Literal[True] = True, context: str = ...) -> Path: ...
@overload
def find_table(folder: Path, name: str, *, required: bool, context: str = ...) -> Path | None: ...
def find_table(folder: Path, name: str, *, required: bool = True, context: str = "folder") -> Path | None:
    """``folder/name.csv`` or ``folder/name.parquet``, whichever exists. A folder holding both is
    refused rather than read one way by one command and the other way by another; a missing
    table is refused when ``required`` (``context`` names what was being read)."""
    found = [folder / f"{name}{suffix}" for suffix in SUFFIXES if (folder / f"{name}{suffix}").exists()]
    if len(found) > 1:
        raise InvalidInputError(
            f"{context} {folder}",
            [
                FieldProblem(
                    name, "both .csv and .parquet", f"one file {name}.csv or {name}.parquet, not both"
                )
            ],
        )
    if found:
        return found[0]
    if required:
        raise InvalidInputError(
            f"{context} {folder}", [FieldProblem(name, "missing", f"a file {name}.csv or {name}.parquet")]
        )
    return None


def read_table(path: Path) -> pd.DataFrame:
    """Read any table (CSV or Parquet, by suffix) as it is, without checking its columns."""
    path = Path(path)
    if path.suffix == ".csv":
        text = ("client_id", "episode_id", "case_id", "role", "therapist_id", "item", "kind", "action")
        return pd.read_csv(path, dtype=dict.fromkeys(text, "string"))
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    raise InvalidInputError("file", [FieldProblem("suffix", path.suffix, "one of " + ", ".join(SUFFIXES))])


def _write(frame: pd.DataFrame, path: Path) -> Path:
    path = Path(path)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        raise InvalidInputError(
            "file", [FieldProblem("suffix", path.suffix, "one of " + ", ".join(SUFFIXES))]
        )
    return path


def read_measures(path: str | Path) -> pd.DataFrame:
    """Read and check a measures table."""
    return normalise_measures(read_table(Path(path)))


def write_measures(frame: pd.DataFrame, path: str | Path) -> Path:
    """Check a measures table and write it."""
    return _write(normalise_measures(frame), Path(path))


def read_episodes(path: str | Path) -> pd.DataFrame:
    """Read and check an episodes table."""
    return normalise_episodes(read_table(Path(path)))


def write_episodes(frame: pd.DataFrame, path: str | Path) -> Path:
    """Check an episodes table and write it."""
    return _write(normalise_episodes(frame), Path(path))


def read_actions(path: str | Path, kinds: tuple[str, ...]) -> pd.DataFrame:
    """Read and check an actions table (``kinds``: the alert kinds an action may be for)."""
    return normalise_actions(read_table(Path(path)), kinds)

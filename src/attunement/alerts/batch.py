"""Current alerts for every client of large canonical tables (a national-scale year).

Reading tens of millions of measure rows through pandas, one string at a time, would cost far
more than the alerts themselves. So a Parquet ``measures`` table is read with its text columns
kept dictionary-encoded (clients become integer codes without hashing every row), score rows are
scattered straight into the clients-by-sessions arrays of a :class:`Histories`, and the rules run
on blocks of clients (vectorised inside each block; the blocks only give a progress bar and keep
temporary arrays small). Item rows (e.g. PHQ-9 answered item by item) take the ordinary scoring
path, since they need the instrument's prorating rules. CSV tables use the ordinary reader.

The fast path trusts the table as :mod:`attunement.tables` would check it; it does not re-check
every row (``attunement.tables.read_measures`` does, for smaller files).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from attunement.alerts.engine import alert_table
from attunement.errors import FieldProblem, InvalidInputError
from attunement.prediction.histories import NO_GROUP, Histories, histories_from_tables
from attunement.tables import read_episodes, read_measures, session_scores

#: (measure name in Histories, instrument, rater) for score rows.
SCORE_MEASURES = (
    ("phq9", "phq9", "client"),
    ("gad7", "gad7", "client"),
    ("checkin", "checkin", "client"),
    ("checkin_therapist", "checkin_therapist", "therapist"),
)
COLUMNS = ["client_id", "session", "instrument", "rater", "item", "value", "score"]
BLOCK = 100_000

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class BatchResult:
    clients: int
    measure_rows: int
    alerts: pd.DataFrame


def table_file(folder: Path, name: str, required: bool = True) -> Path | None:
    for suffix in (".parquet", ".csv"):
        path = folder / f"{name}{suffix}"
        if path.exists():
            return path
    if required:
        raise InvalidInputError(
            "alerts --batch", [FieldProblem(str(folder), "no such table", f"{name}.parquet or {name}.csv")]
        )
    return None


def read_batch_histories(folder: str | Path) -> tuple[Histories, int]:
    """The histories of every client in ``folder`` and the number of measure rows read."""
    folder = Path(folder)
    measures_path = table_file(folder, "measures")
    episodes_path = table_file(folder, "episodes", required=False)
    if measures_path.suffix == ".csv":
        measures = read_measures(measures_path)
        episodes = read_episodes(episodes_path) if episodes_path is not None else None
        return histories_from_tables(measures, episodes), len(measures)
    return _parquet_histories(measures_path, episodes_path)


def batch_alerts(
    folder: str | Path, model: Any | None = None, progress: Progress | None = None, block: int = BLOCK
) -> BatchResult:
    histories, rows = read_batch_histories(folder)
    n = len(histories)
    parts = []
    for start in range(0, n, block):
        chunk = _slice(histories, start, min(start + block, n))
        parts.append(alert_table(chunk, model))
        if progress is not None:
            progress(min(start + block, n), n)
    table = pd.concat(parts, ignore_index=True) if parts else alert_table(histories, model)
    return BatchResult(clients=n, measure_rows=rows, alerts=table)


def _slice(h: Histories, start: int, stop: int) -> Histories:
    return Histories(
        client_id=h.client_id[start:stop],
        therapist_id=h.therapist_id[start:stop],
        group=h.group[start:stop],
        sessions=h.sessions[start:stop],
        scores={name: values[start:stop] for name, values in h.scores.items()},
    )


def _parquet_histories(measures_path: Path, episodes_path: Path | None) -> tuple[Histories, int]:
    schema = pq.read_schema(measures_path)
    missing = [c for c in ("client_id", "session", "instrument") if c not in schema.names]
    if missing:
        raise InvalidInputError("measures table", [FieldProblem(c, "missing", "a column") for c in missing])
    columns = [c for c in COLUMNS if c in schema.names]
    textual = [
        c for c in ("client_id", "instrument", "rater", "item") if c in columns and _is_text(schema, c)
    ]
    table = pq.read_table(measures_path, columns=columns, read_dictionary=textual).unify_dictionaries()
    rows = table.num_rows
    codes, ids = _codes(table.column("client_id"))
    session = table.column("session").to_numpy(zero_copy_only=False).astype(np.int64)
    instrument = _coded(table.column("instrument"))
    rater = _coded(table.column("rater")) if "rater" in columns else None
    score = _floats(table, "score", rows)
    has_item = (
        ~np.asarray(table.column("item").is_null().to_numpy(zero_copy_only=False))
        if "item" in columns
        else np.zeros(rows, dtype=bool)
    )

    width = max(1, int(session.max(initial=1)))
    usable = (session >= 1) & (session <= width) & ~np.isnan(score)
    cell = codes * width + (session - 1)
    scores: dict[str, np.ndarray] = {}
    for name, inst, who in SCORE_MEASURES:
        pick = usable & instrument.equals(inst)
        pick &= rater.equals(who) if rater is not None else who == "client"
        if pick.any():
            values = np.full(len(ids) * width, np.nan)
            values[cell[pick]] = score[pick]
            scores[name] = values.reshape(len(ids), width)
    if has_item.any():
        _item_scores(table.filter(pa.array(has_item)), ids, width, scores)
    if not scores:
        raise InvalidInputError(
            "measures table", [FieldProblem("instrument", "none usable", "phq9, gad7 or checkin rows")]
        )
    last = np.zeros(len(ids), dtype=np.int64)
    for values in scores.values():
        seen = ~np.isnan(values)
        last = np.maximum(last, np.where(seen.any(axis=1), width - seen[:, ::-1].argmax(axis=1), 0))
    sessions = _attended(episodes_path, ids, last)
    if sessions.max(initial=0) > width:
        width = int(sessions.max())
        scores = {
            k: np.pad(v, ((0, 0), (0, width - v.shape[1])), constant_values=np.nan) for k, v in scores.items()
        }
    histories = Histories(
        client_id=ids,
        therapist_id=np.full(len(ids), "", dtype=object),
        group=np.full(len(ids), NO_GROUP, dtype=object),
        sessions=sessions,
        scores=scores,
    )
    return histories, rows


def _is_text(schema: pa.Schema, name: str) -> bool:
    kind = schema.field(name).type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Integer client codes and the client ids they stand for."""
    if pa.types.is_dictionary(column.type):
        indices = np.concatenate([chunk.indices.to_numpy(zero_copy_only=False) for chunk in column.chunks])
        dictionary = column.chunks[0].dictionary if column.num_chunks else pa.array([], pa.string())
        return indices.astype(np.int64), np.asarray(dictionary.to_pylist(), dtype=object)
    encoded = pc.dictionary_encode(column.cast(pa.string())).combine_chunks()
    return encoded.indices.to_numpy().astype(np.int64), np.asarray(
        encoded.dictionary.to_pylist(), dtype=object
    )


@dataclass(frozen=True)
class _Coded:
    """A low-cardinality text column as integer codes into its (unified) dictionary."""

    codes: np.ndarray
    dictionary: list

    def equals(self, text: str) -> np.ndarray:
        if text not in self.dictionary:
            return np.zeros(len(self.codes), dtype=bool)
        return self.codes == self.dictionary.index(text)


def _coded(column: pa.ChunkedArray) -> _Coded:
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
        column = pa.chunked_array(column.chunks if isinstance(column, pa.ChunkedArray) else [column])
        column = pa.table({"c": column}).unify_dictionaries().column("c")
    dictionary = column.chunks[0].dictionary.to_pylist() if column.num_chunks else []
    codes = np.concatenate(
        [chunk.indices.fill_null(-1).to_numpy(zero_copy_only=False) for chunk in column.chunks]
    )
    return _Coded(codes, dictionary)


def _floats(table: pa.Table, name: str, rows: int) -> np.ndarray:
    if name not in table.column_names or pa.types.is_null(table.column(name).type):
        return np.full(rows, np.nan)
    return table.column(name).cast(pa.float64()).to_numpy(zero_copy_only=False).astype(float)


def _scatter(n: int, width: int, codes: np.ndarray, session: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = np.full((n, width), np.nan)
    out[codes, session - 1] = values
    return out


def _item_scores(items: pa.Table, ids: np.ndarray, width: int, scores: dict[str, np.ndarray]) -> None:
    """Score item rows with the instrument definitions (pandas path) and add PHQ-9 item 9."""
    frame = items.to_pandas()
    for column in ("client_id", "instrument", "rater", "item"):
        if column in frame:
            frame[column] = frame[column].astype(object)
    if "rater" not in frame:
        frame["rater"] = "client"
    index = pd.Index(ids)
    for name, inst, who in SCORE_MEASURES:
        subset = frame[(frame["instrument"] == inst) & (frame["rater"] == who)]
        if subset.empty:
            continue
        table = session_scores(subset, inst, who)
        values = _scatter_frame(table, index, width)
        scores[name] = (
            values if name not in scores else np.where(np.isnan(scores[name]), values, scores[name])
        )
    item9 = frame[(frame["instrument"] == "phq9") & (frame["item"] == "phq9_9")]
    if not item9.empty:
        scores["phq9_item9"] = _scatter_frame(
            item9.drop(columns="score").rename(columns={"value": "score"}), index, width
        )


def _scatter_frame(table: pd.DataFrame, index: pd.Index, width: int) -> np.ndarray:
    rows = index.get_indexer(table["client_id"].astype(str))
    session = table["session"].to_numpy(dtype=np.int64)
    ok = (rows >= 0) & (session >= 1) & (session <= width)
    return _scatter(len(index), width, rows[ok], session[ok], table["score"].to_numpy(dtype=float)[ok])


def _attended(episodes_path: Path | None, ids: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Sessions attended per client: the episodes table's count where given, at least the last
    session with a recorded measure."""
    if episodes_path is None:
        return last
    if episodes_path.suffix == ".csv":
        episodes = read_episodes(episodes_path)
        if "sessions_attended" not in episodes:
            return last
        attended = episodes.set_index(episodes["client_id"].astype(str))["sessions_attended"]
        given = pd.to_numeric(attended.reindex(pd.Index(ids)), errors="coerce").to_numpy()
    else:
        if "sessions_attended" not in pq.read_schema(episodes_path).names:
            return last
        episodes = pq.read_table(episodes_path, columns=["client_id", "sessions_attended"])
        position = pc.index_in(
            pa.array(ids, pa.string()), value_set=episodes.column("client_id").combine_chunks()
        )
        where = position.to_numpy(zero_copy_only=False)
        counts = episodes.column("sessions_attended").cast(pa.float64()).to_numpy(zero_copy_only=False)
        given = np.where(
            np.isnan(where.astype(float)), np.nan, counts[np.nan_to_num(where, nan=0).astype(np.int64)]
        )
    return np.where(np.isnan(given), last, np.maximum(given, last)).astype(np.int64)

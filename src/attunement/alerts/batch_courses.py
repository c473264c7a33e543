"""Episodes of care on the batch path: each measure row's course, and each course's ending and
sessions attended, from pyarrow columns.

The batch path reads a national measures table column by column (:mod:`attunement.alerts.batch`);
this module adds what the episodes table says without turning rows into Python objects. Tables
without ``episode_id`` keep one course per client, looked up by client as before. With
``episode_id`` the rows are matched to episodes by the same rules as everywhere else
(:func:`attunement.tables.courses.match_courses`, once per run of rows of one course), and the
episodes table, some twenty times smaller than the measures, is checked in full first, since the
matching relies on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from attunement.tables import (
    EPISODE_ID,
    EPISODES_COLUMNS,
    ended_episodes,
    normalise_episodes,
    read_episodes,
)
from attunement.tables.courses import (
    NO_EPISODE,
    UNNAMED_BY_ROWS,
    Names,
    course_keys,
    match_courses,
    names_of,
)
from attunement.tables.schema import require_columns


@dataclass(frozen=True)
class EpisodeTable:
    """What the batch needs of the episodes table, one entry per row: the client, the episode id
    (None without the column), whether the episode has ended, and the sessions attended (NaN where
    not given)."""

    client_id: pa.Array
    episode_id: np.ndarray | None
    ended: np.ndarray
    attended: np.ndarray


@dataclass(frozen=True)
class RowCourses:
    """Each measure row's course (``row``) and, per course, its key, its client's own id and its
    episode id (both None when the tables have no episodes: a course is then a client), whether
    its episode has ended, and its sessions attended (NaN where the episodes table gives none);
    and how many distinct clients the courses are of."""

    row: np.ndarray
    ids: np.ndarray
    clients: np.ndarray | None
    episodes: np.ndarray | None
    ended: np.ndarray
    attended: np.ndarray
    distinct_clients: int


def read_episode_table(path: Path | None, measures_name_episodes: bool) -> EpisodeTable | None:
    """The episodes table, checked in full when it is CSV or when episodes are to be matched;
    otherwise only the end reasons are checked (what the alerts depend on)."""
    if path is None:
        return None
    if path.suffix == ".csv":
        return _from_frame(read_episodes(path))
    schema = pq.read_schema(path)
    if measures_name_episodes or EPISODE_ID in schema.names:
        return _from_frame(normalise_episodes(pq.read_table(path).to_pandas()))
    require_columns(schema.names, EPISODES_COLUMNS, "episodes")
    columns = ["client_id", "end_reason"] + [c for c in ("sessions_attended",) if c in schema.names]
    text = pa.types.is_string(schema.field("end_reason").type)
    table = pq.read_table(path, columns=columns, read_dictionary=["end_reason"] if text else None)
    return EpisodeTable(
        client_id=table.column("client_id").combine_chunks().cast(pa.string()),
        episode_id=None,
        ended=ended_episodes(table.column("end_reason").to_pandas()),
        attended=_attended(table, "sessions_attended"),
    )


def _from_frame(frame: pd.DataFrame) -> EpisodeTable:
    attended = frame["sessions_attended"] if "sessions_attended" in frame.columns else None
    return EpisodeTable(
        client_id=pa.array(frame["client_id"].astype(str).to_numpy(dtype=object), pa.string()),
        episode_id=frame[EPISODE_ID].to_numpy(dtype=object) if EPISODE_ID in frame.columns else None,
        ended=ended_episodes(frame["end_reason"]),
        attended=np.full(len(frame), np.nan)
        if attended is None
        else pd.to_numeric(attended, errors="coerce").to_numpy(dtype=float),
    )


def _attended(table: pa.Table, name: str) -> np.ndarray:
    if name not in table.column_names:
        return np.full(table.num_rows, np.nan)
    return np.asarray(table.column(name).cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=float)


def row_courses(
    codes: np.ndarray,
    ids: np.ndarray,
    episodes: EpisodeTable | None,
    row_episode: np.ndarray | None = None,
    episode_names: np.ndarray | None = None,
) -> RowCourses:
    """The course of each row, from its client code (``codes`` into ``ids``) and, when the measures
    name episodes, its episode code (``row_episode`` into ``episode_names``, -1 for none)."""
    if row_episode is None and (episodes is None or episodes.episode_id is None):
        listed = None if episodes is None else _positions(pa.array(ids, pa.string()), episodes.client_id)
        return RowCourses(codes, ids, None, None, *_endings(episodes, listed, len(ids)), len(ids))
    names_of_episodes = (
        np.asarray(episode_names, dtype=object) if episode_names is not None else np.array([], dtype=object)
    )
    if row_episode is None:
        row_episode = np.full(len(codes), NO_EPISODE, dtype=np.int64)
    listed_client = listed_episode = listed_names = None
    if episodes is not None:
        listed_client = _positions(episodes.client_id, pa.array(ids, pa.string()))
        listed_names = (
            episodes.episode_id
            if episodes.episode_id is not None
            else np.full(len(listed_client), None, dtype=object)
        )
        named = pd.notna(listed_names)
        found = _positions(pa.array(listed_names, pa.string()), pa.array(names_of_episodes, pa.string()))
        listed_episode = np.where(named, np.where(found >= 0, found, UNNAMED_BY_ROWS), NO_EPISODE)
    courses = match_courses(
        codes,
        row_episode,
        Names(np.asarray(ids, dtype=object), names_of_episodes, listed_names),
        listed_client,
        listed_episode,
    )
    clients = np.asarray(ids, dtype=object)[courses.client]
    episode = names_of(names_of_episodes, courses.episode)
    if listed_names is not None:
        from_table = courses.listed >= 0
        episode[from_table] = listed_names[courses.listed[from_table]]
    return RowCourses(
        courses.row,
        course_keys(clients, episode),
        clients,
        episode,
        *_endings(episodes, courses.listed, len(courses)),
        len(np.unique(courses.client)),
    )


def _positions(values: pa.Array, among: pa.Array) -> np.ndarray:
    """Each value's position in ``among`` (-1 where absent or empty)."""
    found = pc.index_in(values, value_set=among).fill_null(-1)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64)


def _endings(
    episodes: EpisodeTable | None, listed: np.ndarray | None, courses: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per course: whether its episode has ended and its sessions attended; a course the episodes
    table does not list counts as ongoing, with the sessions its rows show."""
    if episodes is None or listed is None:
        return np.zeros(courses, dtype=bool), np.full(courses, np.nan)
    some = listed >= 0
    ended = np.zeros(courses, dtype=bool)
    attended = np.full(courses, np.nan)
    ended[some] = episodes.ended[listed[some]]
    attended[some] = episodes.attended[listed[some]]
    return ended, attended

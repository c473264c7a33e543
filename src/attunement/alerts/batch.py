"""Current alerts for every client of large canonical tables (a national-scale year).

Reading tens of millions of measure rows through pandas, one string at a time, would cost far
more than the alerts themselves. So a Parquet ``measures`` table is read with its text columns
kept dictionary-encoded (clients become integer codes without hashing every row), score rows are
scattered straight into the clients-by-sessions arrays of a :class:`Histories`, and the rules run
on blocks of clients (vectorised inside each block; the blocks give a progress bar, keep
temporary arrays small and let two blocks run at once on two cores). Item rows (e.g. PHQ-9
answered item by item) take the ordinary scoring path, since they need the instrument's
prorating rules. CSV tables use the ordinary reader.

A row of the histories is a course of treatment: a client, or, when the tables carry
``episode_id``, an episode of care (:mod:`attunement.alerts.batch_courses`). An episode whose
``end_reason`` is anything but ``ongoing`` keeps only its safety alerts
(:func:`attunement.alerts.engine.withhold_after_ending`).

Couples, families and groups (rows with a ``case_id``) add their room alerts, split alliance or
cohesion at each case's latest session (:mod:`attunement.alerts.batch_rooms`), after the others.

Safety comes from the item rows themselves, by the rule the web app applies to the forms it
stores (:mod:`attunement.alerts.critical_answers`): every instrument that declares critical
items, every session including session 0, scored or not. It is computed once for every course,
on the rows' integer codes, and handed to each block. An optional ``actions`` table says what
clinicians recorded (:mod:`attunement.alerts.actions`): an action closes the safety alerts it
covers and marks the other alerts it was recorded for.

The fast path trusts the measures table as :mod:`attunement.tables` would check it; it does not
re-check every row (``attunement.tables.read_measures`` does, for smaller files).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from attunement.alerts.actions import RecordedActions, match_actions, no_actions
from attunement.alerts.alert import KINDS
from attunement.alerts.batch_courses import EpisodeTable, RowCourses, read_episode_table, row_courses
from attunement.alerts.batch_rooms import batch_room_alerts
from attunement.alerts.critical_answers import Answers, critical_fired, declares_critical
from attunement.alerts.engine import alert_table
from attunement.alerts.fired import Fired, positions_in
from attunement.alerts.lifecycle import covered
from attunement.errors import FieldProblem, InvalidInputError
from attunement.forecast.compiled_trees import default_threads
from attunement.prediction.histories import (
    ITEM_MEASURES,
    NO_GROUP,
    Histories,
    histories_from_tables,
    measures_by_course,
)
from attunement.tables import (
    EPISODE_ID,
    ended_episodes,
    read_actions,
    read_episodes,
    read_measures,
    session_scores,
)
from attunement.tables.files import find_table

#: (measure name in Histories, instrument, rater) for score rows.
SCORE_MEASURES = (
    ("phq9", "phq9", "client"),
    ("gad7", "gad7", "client"),
    ("checkin", "checkin", "client"),
    ("checkin_therapist", "checkin_therapist", "therapist"),
)
COLUMNS = ["client_id", EPISODE_ID, "session", "instrument", "rater", "item", "value", "score"]
BLOCK = 50_000

Progress = Callable[[int, int], None]
#: A block of courses, whether each one's episode has ended, and their course codes.
Block = tuple[Histories, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class BatchResult:
    clients: int
    measure_rows: int
    alerts: pd.DataFrame
    #: Whether the tables hold item answers of an instrument with critical items (PHQ-9 item 9,
    #: CORE-10 item 6, ...); with totals only, safety items cannot be checked.
    safety_item_recorded: bool = True
    #: Courses of treatment (episodes of care; one per client when the tables have no episode_id).
    episodes: int = 0
    #: Episodes that have ended, which therefore keep only their safety alerts.
    ended_episodes: int = 0
    #: Rows of the actions table (None when the folder has none).
    actions: int | None = None
    #: Safety alerts not output because an action recorded for them covers them.
    closed_by_action: int = 0
    #: Couples, families and groups (cases with a ``case_id``) whose room alerts were added.
    cases: int = 0


@dataclass(frozen=True)
class _Opened:
    blocks: Iterator[Block]
    measure_rows: int
    courses: int
    clients: int
    ended: int
    #: Every course's safety alert from the item rows (rows are course codes).
    safety: Fired
    #: Whether any item row belongs to an instrument with critical items.
    checkable: bool
    actions: RecordedActions
    actions_read: int | None


def _in_block(fired: Fired, chosen: np.ndarray) -> Fired:
    """The alerts of the courses ``chosen`` (codes), renumbered as the block's rows."""
    local = positions_in(fired.rows, chosen)
    mine = local >= 0
    return replace(fired.keep(mine), rows=local[mine])


def read_batch_histories(folder: str | Path) -> tuple[Histories, int]:
    """The histories of every course in ``folder`` (one block) and the number of measure rows."""
    opened = _open(Path(folder), block=None)
    return next(opened.blocks)[0], opened.measure_rows


def batch_alerts(
    folder: str | Path,
    model: Any | None = None,
    progress: Progress | None = None,
    block: int = BLOCK,
    workers: int | None = None,
) -> BatchResult:
    """Every course's current alerts, block by block, ``workers`` blocks at a time (both cores of
    a small machine by default; the numpy work and the compiled tree walk release the
    interpreter lock). Blocks are finished in order, so the table is the same for any
    ``workers``, and at most ``workers`` blocks are held at once."""
    try:
        opened = _open(Path(folder), block)
    except InvalidInputError as exc:
        only_rooms = _rooms_only(folder, exc)
        if only_rooms is None:
            raise
        return only_rooms
    workers = default_threads() if workers is None else max(1, workers)

    def work(b: Block) -> pd.DataFrame:
        histories, ended, chosen = b
        safety = _in_block(opened.safety, chosen)
        return alert_table(histories, model, ended, safety, opened.actions.subset(chosen))

    parts, done = [], 0
    for (histories, _, _), table in _in_order(opened.blocks, work, workers):
        parts.append(table)
        done += len(histories)
        if progress is not None:
            progress(done, opened.courses)
    up_to = opened.actions.covered_up_to[opened.safety.kind][opened.safety.rows]
    rooms = batch_room_alerts(folder)
    if len(rooms.alerts):
        parts.append(rooms.alerts)
    return BatchResult(
        clients=opened.clients,
        measure_rows=opened.measure_rows,
        alerts=pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True),
        safety_item_recorded=opened.checkable,
        episodes=opened.courses,
        ended_episodes=opened.ended,
        actions=opened.actions_read,
        closed_by_action=int(covered(opened.safety.session, up_to).sum()),
        cases=rooms.cases,
    )


def _rooms_only(folder: str | Path, exc: InvalidInputError) -> BatchResult | None:
    """The room alerts alone, for tables whose only rows are couples', families' or groups'
    relationship check-ins (no instrument the individual rules read); None otherwise."""
    if any(p.field != "instrument" for p in exc.problems):
        return None
    rooms = batch_room_alerts(folder)
    if not rooms.cases:
        return None
    return BatchResult(
        clients=rooms.participants,
        measure_rows=rooms.measure_rows,
        alerts=rooms.alerts,
        safety_item_recorded=False,
        episodes=rooms.participants,
        cases=rooms.cases,
    )


def _in_order(
    blocks: Iterator[Block], work: Callable[[Block], pd.DataFrame], workers: int
) -> Iterator[tuple[Block, pd.DataFrame]]:
    """Each block with its result, in block order, with up to ``workers`` blocks in progress."""
    if workers <= 1:
        for block in blocks:
            yield block, work(block)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[tuple[Block, Future[pd.DataFrame]]] = deque()
        for block in blocks:
            pending.append((block, pool.submit(work, block)))
            if len(pending) >= workers:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()


def _open(folder: Path, block: int | None) -> _Opened:
    """Blocks of course histories (all courses in one block when ``block`` is None), with the
    number of measure rows, courses, clients and ended episodes, every course's safety alert
    and the recorded actions."""
    measures_path = find_table(folder, "measures", context="alerts --batch")
    episodes_path = find_table(folder, "episodes", required=False, context="alerts --batch")
    actions_path = find_table(folder, "actions", required=False, context="alerts --batch")
    actions = read_actions(actions_path, KINDS) if actions_path is not None else None
    if measures_path.suffix == ".csv":
        measures = read_measures(measures_path)
        episodes = read_episodes(episodes_path) if episodes_path is not None else None
        histories = histories_from_tables(measures, episodes, unlisted=True)
        ended = np.zeros(len(histories), dtype=bool)
        if episodes is not None:  # the episodes table's rows first, in its order; unlisted are ongoing
            ended[: len(episodes)] = ended_episodes(episodes["end_reason"])
        clients = len(pd.unique(histories.clients()))
        answers = _table_answers(measures, episodes, histories.client_id)
        recorded = _recorded(actions, histories.clients(), histories.episodes())
        return _Opened(
            _slices(histories, ended, block or max(len(histories), 1)),
            len(measures),
            len(histories),
            clients,
            int(ended.sum()),
            critical_fired(answers),
            declares_critical(answers),
            recorded,
            None if actions is None else len(actions),
        )
    rows = _read_parquet(measures_path, episodes_path)
    if rows.items is not None and rows.item_courses is not None:  # both or neither
        histories = rows.histories(np.arange(len(rows.ids)), width=rows.width)
        _item_scores(rows.items, rows.ids, rows.width, histories.scores, rows.item_courses)
        histories = _with_attended(histories, rows.sessions)
        blocks = _slices(histories, rows.ended, block or max(len(histories), 1))
    else:
        blocks = rows.blocks(block or max(len(rows.ids), 1))
    return _Opened(
        blocks,
        rows.count,
        len(rows.ids),
        rows.clients_count,
        int(rows.ended.sum()),
        critical_fired(rows.answers),
        declares_critical(rows.answers),
        _recorded(actions, rows.ids if rows.clients is None else rows.clients, rows.episodes),
        None if actions is None else len(actions),
    )


def _recorded(
    actions: pd.DataFrame | None, clients: np.ndarray, episodes: np.ndarray | None
) -> RecordedActions:
    """The actions matched to the courses (none without an actions table)."""
    return no_actions(len(clients)) if actions is None else match_actions(actions, clients, episodes)


def _table_answers(measures: pd.DataFrame, episodes: pd.DataFrame | None, keys: np.ndarray) -> Answers:
    """The client's item answers of checked tables, by course (rows of the histories, ``keys``)."""
    by_course = measures_by_course(measures, episodes, unlisted=True)
    items = by_course[by_course["item"].notna() & (by_course["rater"] == "client")]
    return Answers.from_text(
        pd.Index(keys).get_indexer(items["client_id"].astype(str)),
        items["session"].to_numpy(dtype=np.int64),
        items["instrument"].to_numpy(dtype=object),
        items["item"].to_numpy(dtype=object),
        items["value"].to_numpy(dtype=float),
    )


def _slices(h: Histories, ended: np.ndarray, block: int) -> Iterator[Block]:
    for start in range(0, max(len(h), 1), block):
        rows = slice(start, min(start + block, len(h)))
        yield h.subset(rows), ended[rows], np.arange(rows.start, rows.stop)


@dataclass(frozen=True)
class _Rows:
    """The measure rows as plain arrays, ordered by course code, and where each course's rows are.

    A course is a client, or an episode of care when the tables carry ``episode_id``: ``ids``
    are the course keys and ``clients``/``episodes`` each course's client and episode id (None
    without episodes). ``measure`` is the row's index in :data:`SCORE_MEASURES` (-1 for rows no
    rule uses, e.g. item rows or other instruments); ``first_row``/``row_count`` locate each
    course's rows; ``sessions`` is each course's sessions attended (the episodes table's count, at
    least the last session with a usable measure); ``ended`` whether its episode has ended;
    ``items`` the item rows, which need the scoring path, and ``item_courses`` their courses;
    ``answers`` the client's item answers by course, for safety.
    """

    ids: np.ndarray
    codes: np.ndarray
    session: np.ndarray
    measure: np.ndarray
    score: np.ndarray
    width: int
    first_row: np.ndarray
    row_count: np.ndarray
    sessions: np.ndarray
    count: int
    items: pa.Table | None
    clients: np.ndarray | None
    episodes: np.ndarray | None
    ended: np.ndarray
    clients_count: int
    item_courses: np.ndarray | None
    answers: Answers

    def histories(self, clients: np.ndarray, width: int | None = None) -> Histories:
        """These clients (codes) as histories, straight from their rows.

        Without ``width`` the arrays are as wide as these clients' longest course, which keeps
        blocks of short courses small.
        """
        n = len(clients)
        width = width or max(1, int(self.sessions[clients].max(initial=1)))
        counts = self.row_count[clients]
        local = np.repeat(np.arange(n), counts)
        before = np.cumsum(counts) - counts
        rows = np.arange(int(counts.sum())) + np.repeat(self.first_row[clients] - before, counts)
        session, measure, score = self.session[rows], self.measure[rows], self.score[rows]
        cell = local * width + (session - 1)
        scores: dict[str, np.ndarray] = {}
        for index, (name, _, _) in enumerate(SCORE_MEASURES):
            pick = measure == index
            if pick.any():
                values = np.full(n * width, np.nan)
                values[cell[pick]] = score[pick]
                scores[name] = values.reshape(n, width)
        if not scores:  # no score row the rules read (e.g. item rows only): arrays all missing
            scores[SCORE_MEASURES[0][0]] = np.full((n, width), np.nan)
        return Histories(
            client_id=self.ids[clients],
            therapist_id=np.full(n, "", dtype=object),
            group=np.full(n, NO_GROUP, dtype=object),
            sessions=self.sessions[clients],
            scores=scores,
            episode_id=None if self.episodes is None else self.episodes[clients],
            episode_client_id=None if self.clients is None else self.clients[clients],
        )

    def blocks(self, block: int) -> Iterator[Block]:
        """Blocks of courses of similar length (so each block's arrays are narrow)."""
        order = np.argsort(self.sessions, kind="stable")
        for first in range(0, max(len(order), 1), block):
            chosen = order[first : first + block]
            yield self.histories(chosen), self.ended[chosen], chosen


def _read_parquet(measures_path: Path, episodes_path: Path | None) -> _Rows:
    schema = pq.read_schema(measures_path)
    missing = [c for c in ("client_id", "session", "instrument") if c not in schema.names]
    if missing:
        raise InvalidInputError("measures table", [FieldProblem(c, "missing", "a column") for c in missing])
    columns = [c for c in COLUMNS if c in schema.names]
    textual = [
        c
        for c in ("client_id", EPISODE_ID, "instrument", "rater", "item")
        if c in columns and _is_text(schema, c)
    ]
    table = pq.read_table(measures_path, columns=columns, read_dictionary=textual).unify_dictionaries()
    count = table.num_rows
    codes, ids = _codes(table.column("client_id"))
    courses = _courses(table, codes, ids, read_episode_table(episodes_path, EPISODE_ID in columns))
    codes, ids = courses.row, courses.ids
    session = table.column("session").to_numpy(zero_copy_only=False)
    score = _floats(table, "score", count)
    item = table.column("item") if "item" in columns else None
    has_item = (
        ~np.asarray(item.is_null().to_numpy(zero_copy_only=False))
        if item is not None and item.null_count < count
        else None
    )
    attended = courses.attended
    width = max(1, int(session.max(initial=1)), int(np.nanmax(attended, initial=0)))

    # One small lookup from (instrument code, rater code) to the measure a row feeds.
    instrument = _coded(table.column("instrument"))
    rater = (
        _coded(table.column("rater")) if "rater" in columns else _Coded(np.zeros(count, np.int32), ["client"])
    )
    lookup = np.full((len(instrument.dictionary) + 1, len(rater.dictionary) + 1), -1, dtype=np.int8)
    for index, (_, inst, who) in enumerate(SCORE_MEASURES):
        if inst in instrument.dictionary and who in rater.dictionary:
            lookup[instrument.dictionary.index(inst), rater.dictionary.index(who)] = index
    measure = lookup[instrument.codes, rater.codes]  # code -1 (empty) picks the last row/column: -1
    if session.min(initial=1) < 1:
        measure[session < 1] = -1
    unscored = np.isnan(score)
    if unscored.any():
        measure[unscored] = -1

    items = table.filter(pa.array(has_item)) if has_item is not None else None
    item_courses = codes[has_item] if has_item is not None else None
    answers = _item_answers(items, item_courses, instrument, rater, has_item)
    if codes.size and np.any(codes[1:] < codes[:-1]):
        order = np.argsort(codes, kind="stable")
        codes, session, measure, score = codes[order], session[order], measure[order], score[order]
    clients = np.arange(len(ids), dtype=codes.dtype)
    first_row = np.searchsorted(codes, clients)
    row_count = np.searchsorted(codes, clients, side="right") - first_row
    # The last session with a usable measure: a maximum over each client's (contiguous) rows.
    last = np.zeros(len(ids), dtype=np.int64)
    has_rows = row_count > 0
    if has_rows.any():
        last[has_rows] = np.maximum.reduceat(np.where(measure >= 0, session, 0), first_row[has_rows])
    sessions = np.where(np.isnan(attended), last, np.maximum(attended, last)).astype(np.int64)
    return _Rows(
        ids=ids,
        codes=codes,
        session=session,
        measure=measure,
        score=score,
        width=width,
        first_row=first_row,
        row_count=row_count,
        sessions=sessions,
        count=count,
        items=items,
        clients=courses.clients,
        episodes=courses.episodes,
        ended=courses.ended,
        clients_count=courses.distinct_clients,
        item_courses=item_courses,
        answers=answers,
    )


def _item_answers(
    items: pa.Table | None,
    courses: np.ndarray | None,
    instrument: _Coded,
    rater: _Coded,
    has_item: np.ndarray | None,
) -> Answers:
    """The client's item answers by course, on the columns' codes (no text per row; the
    instrument and rater codes are the whole table's, ``has_item`` picks the item rows); a row
    without a rater is the client's, as the canonical reader has it."""
    if items is None or courses is None or has_item is None:
        return Answers.from_text(
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=object),
            np.zeros(0, dtype=object),
            np.zeros(0, dtype=float),
        )
    item = _coded(items.column("item"))
    session = np.asarray(items.column("session").to_numpy(zero_copy_only=False), dtype=np.int64)
    value = _floats(items, "value", items.num_rows)
    instrument_code, rater_code = instrument.codes[has_item], rater.codes[has_item]
    client = (rater_code < 0) | (_Coded(rater_code, rater.dictionary).equals("client"))
    if not client.all():
        courses, session, value = courses[client], session[client], value[client]
        instrument_code, item = instrument_code[client], _Coded(item.codes[client], item.dictionary)
    return Answers(
        course=courses,
        session=session,
        instrument=instrument_code,
        instruments=instrument.dictionary,
        item=item.codes,
        items=item.dictionary,
        value=value,
    )


def _courses(
    table: pa.Table, codes: np.ndarray, ids: np.ndarray, episodes: EpisodeTable | None
) -> RowCourses:
    """Each row's course: its client, or with ``episode_id`` its episode of care."""
    if EPISODE_ID not in table.column_names:
        return row_courses(codes, ids, episodes)
    column = table.column(EPISODE_ID)
    if not pa.types.is_dictionary(column.type):
        column = column.cast(pa.string())
    coded = _coded(column)
    return row_courses(codes, ids, episodes, coded.codes, np.asarray(coded.dictionary, dtype=object))


def _with_attended(h: Histories, attended: np.ndarray) -> Histories:
    last = np.zeros(len(h), dtype=np.int64)
    for values in h.scores.values():
        seen = ~np.isnan(values)
        last = np.maximum(last, np.where(seen.any(axis=1), h.max_session - seen[:, ::-1].argmax(axis=1), 0))
    sessions = np.where(np.isnan(attended), last, np.maximum(attended, last)).astype(np.int64)
    return replace(h, sessions=sessions)


def _is_text(schema: pa.Schema, name: str) -> bool:
    kind = schema.field(name).type
    text: bool = pa.types.is_string(kind) or pa.types.is_large_string(kind)
    return text


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Integer client codes and the client ids they stand for."""
    if pa.types.is_dictionary(column.type):
        indices = np.concatenate([chunk.indices.to_numpy(zero_copy_only=False) for chunk in column.chunks])
        dictionary = column.chunks[0].dictionary if column.num_chunks else pa.array([], pa.string())
    else:
        encoded = pc.dictionary_encode(column.cast(pa.string())).combine_chunks()
        indices, dictionary = encoded.indices.to_numpy(), encoded.dictionary
    return indices, np.asarray(dictionary.to_numpy(zero_copy_only=False), dtype=object)


@dataclass(frozen=True)
class _Coded:
    """A low-cardinality text column as integer codes into its (unified) dictionary."""

    codes: np.ndarray
    dictionary: list[str]

    def equals(self, text: str) -> np.ndarray:
        if text not in self.dictionary:
            return np.zeros(len(self.codes), dtype=bool)
        found: np.ndarray = self.codes == self.dictionary.index(text)
        return found


def _coded(column: pa.ChunkedArray) -> _Coded:
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
        column = pa.chunked_array(column.chunks if isinstance(column, pa.ChunkedArray) else [column])
        column = pa.table({"c": column}).unify_dictionaries().column("c")
    dictionary = column.chunks[0].dictionary.to_pylist() if column.num_chunks else []
    codes = np.concatenate(
        [
            (chunk.indices.fill_null(-1) if chunk.null_count else chunk.indices).to_numpy(
                zero_copy_only=False
            )
            for chunk in column.chunks
        ]
    )
    return _Coded(codes, dictionary)


def _floats(table: pa.Table, name: str, rows: int) -> np.ndarray:
    if name not in table.column_names or pa.types.is_null(table.column(name).type):
        return np.full(rows, np.nan)
    return np.asarray(table.column(name).cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=float)


def _scatter(n: int, width: int, codes: np.ndarray, session: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = np.full((n, width), np.nan)
    out[codes, session - 1] = values
    return out


def _item_scores(
    items: pa.Table, ids: np.ndarray, width: int, scores: dict[str, np.ndarray], courses: np.ndarray
) -> None:
    """Score item rows with the instrument definitions (pandas path) and add the items kept as
    measures of their own (PHQ-9 item 9, the check-in's "judged" answer: ``ITEM_MEASURES``).

    ``courses`` gives each item row's course (the course keys stand in for the client id, so
    each episode's forms are scored as its own)."""
    frame = items.to_pandas()
    for column in ("client_id", "instrument", "rater", "item"):
        if column in frame:
            frame[column] = frame[column].astype(object)
    frame["client_id"] = ids[courses]
    if "rater" not in frame:
        frame["rater"] = "client"
    for column in ("value", "score"):  # optional columns of a table of item rows only
        if column not in frame:
            frame[column] = np.nan
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
    # A row without a rater is the client's, as the canonical reader and the safety answers
    # (``_item_answers``) read it: an item 9 answer is never left out for a blank rater.
    clients = frame["rater"].isna() | (frame["rater"] == "client")
    for name, (instrument, item) in ITEM_MEASURES.items():
        answers = frame[(frame["instrument"] == instrument) & clients & (frame["item"] == item)]
        if not answers.empty:
            scores[name] = _scatter_frame(
                answers.drop(columns="score").rename(columns={"value": "score"}), index, width
            )


def _scatter_frame(table: pd.DataFrame, index: pd.Index, width: int) -> np.ndarray:
    rows = index.get_indexer(table["client_id"].astype(str))
    session = table["session"].to_numpy(dtype=np.int64)
    ok = (rows >= 0) & (session >= 1) & (session <= width)
    return _scatter(len(index), width, rows[ok], session[ok], table["score"].to_numpy(dtype=float)[ok])

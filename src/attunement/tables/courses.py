"""Episodes of care: which course of treatment each measures row belongs to.

A client who comes back for a second course of treatment has two rows in ``episodes``, told
apart by ``episode_id``, and their measures rows say which course they belong to. Each course is
its own history: its own first session, baseline and relationship level, never the continuation
of the earlier one. The rules that tie the two tables together:

- a measures row that names an episode belongs to it, and the episodes table must list that
  episode for that client;
- a row that names no episode belongs to the client's only episode; a client with several
  episodes needs the episode on every row;
- the rows of a client the episodes table does not list that name no episode are a course of
  their own (an alert batch keeps it, ongoing, so that no answer is dropped); a row naming an
  episode of such a client is refused, as for any episode the table does not list.

Tables without ``episode_id`` have one course per client, as always. A course is keyed by its
client id, followed by ``/`` and its episode id when it has one (:func:`course_keys`).

The rules work on integer codes (:func:`match_courses`), so that the same rules serve a table
checked in pandas (:func:`course_of_rows`) and a national table read column-wise by pyarrow
(:mod:`attunement.alerts.batch`); they look each distinct run of (client, episode) up once, not
each row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from attunement.errors import FieldProblem, InvalidInputError
from attunement.tables.schema import EPISODE_ID, MAX_REPORTED

#: Between a client id and an episode id in a course key ("c017/2").
KEY_SEPARATOR = "/"
#: Episode code of a row or episode that names no episode.
NO_EPISODE = -1
#: Episode code of a listed episode that no measures row names (fast path only).
UNNAMED_BY_ROWS = -2
_MISSING, _UNKNOWN = -1, -2


def has_episode_ids(*tables: pd.DataFrame | None) -> bool:
    """Whether any of the tables carries ``episode_id``."""
    return any(table is not None and EPISODE_ID in table.columns for table in tables)


def course_keys(client_id, episode_id=None) -> np.ndarray:
    """Each course's key: its client id, followed by ``/`` and its episode id when it has one.

    Joined by pyarrow, column-wise: a national table has millions of courses."""
    client = _text(client_id)
    if episode_id is not None:
        episode = _text(episode_id)
        client = pc.if_else(
            pc.is_null(episode), client, pc.binary_join_element_wise(client, episode, KEY_SEPARATOR)
        )
    return np.asarray(client.to_numpy(zero_copy_only=False), dtype=object)


def _text(values) -> pa.Array:
    return pa.array(np.asarray(values, dtype=object), from_pandas=True).cast(pa.string())


def names_of(names: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``names[codes]``, None where a code is negative (no name)."""
    out = np.full(len(codes), None, dtype=object)
    some = codes >= 0
    out[some] = np.asarray(names, dtype=object)[codes[some]]
    return out


@dataclass(frozen=True)
class Names:
    """What the codes stand for, to name them in errors: client ids by client code, episode ids
    by episode code, and each episodes-table row's own episode id (None when empty)."""

    clients: np.ndarray
    episodes: np.ndarray
    listed: np.ndarray | None = None


@dataclass(frozen=True)
class Courses:
    """The courses the measures rows belong to.

    ``row`` gives each measures row's course; per course, ``client`` is the client code,
    ``episode`` the episode code (:data:`NO_EPISODE` for none) and ``listed`` its row in the
    episodes table (-1 when the table does not list it). Courses are numbered in the order their
    first row comes, so rows already grouped by course have ascending codes (a national table
    then needs no sort).
    """

    row: np.ndarray
    client: np.ndarray
    episode: np.ndarray
    listed: np.ndarray

    def __len__(self) -> int:
        return len(self.client)


def match_courses(
    row_client: np.ndarray,
    row_episode: np.ndarray,
    names: Names,
    listed_client: np.ndarray | None = None,
    listed_episode: np.ndarray | None = None,
) -> Courses:
    """Each measures row's course, by the rules of the module doc.

    ``row_client`` holds client codes (0..n-1, indexing ``names.clients``), ``row_episode``
    episode codes (indexing ``names.episodes``; :data:`NO_EPISODE` for an empty one);
    ``listed_client`` and ``listed_episode`` the same for the episodes table's rows (a client
    code of -1 for a client without measures rows, :data:`UNNAMED_BY_ROWS` for an episode id no
    row names). Without them (no episodes table) every pair a row names is a course. Raises
    :class:`InvalidInputError` naming the rows that break the rules.
    """
    row_client = np.asarray(row_client, dtype=np.int64)
    row_episode = np.asarray(row_episode, dtype=np.int64)
    clients = len(names.clients)
    span = len(names.episodes) + 1
    key = row_client * span + (row_episode + 1)
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1]))) if key.size else key
    lengths = np.diff(np.append(starts, key.size))
    run_key, run_client, run_episode = key[starts], row_client[starts], row_episode[starts]
    if listed_client is None or listed_episode is None:
        pairs, run_course = _in_order_of_rows(run_key)
        return Courses(
            row=np.repeat(run_course, lengths),
            client=pairs // span,
            episode=pairs % span - 1,
            listed=np.full(len(pairs), -1, dtype=np.int64),
        )
    listed_client = np.asarray(listed_client, dtype=np.int64)
    listed_episode = np.asarray(listed_episode, dtype=np.int64)
    listed = len(listed_client)
    known = listed_client >= 0
    count = np.bincount(listed_client[known], minlength=clients)
    only = np.full(clients, -1, dtype=np.int64)
    single = known & (count[np.maximum(listed_client, 0)] == 1)
    only[listed_client[single]] = np.flatnonzero(single)

    run_course = np.empty(len(starts), dtype=np.int64)
    blank = run_episode == NO_EPISODE
    c = run_client[blank]
    # Unlisted clients' courses follow the listed ones: listed + client * span + episode + 1.
    run_course[blank] = np.where(count[c] == 1, only[c], np.where(count[c] == 0, listed + c * span, _MISSING))
    named = known & (listed_episode >= 0)
    listed_key = listed_client[named] * span + listed_episode[named] + 1
    order = np.argsort(listed_key, kind="stable")
    sorted_key, sorted_row = listed_key[order], np.flatnonzero(named)[order]
    wanted = run_key[~blank]
    at = np.minimum(np.searchsorted(sorted_key, wanted), max(len(sorted_key) - 1, 0))
    found = sorted_key[at] == wanted if len(sorted_key) else np.zeros(len(wanted), dtype=bool)
    run_course[~blank] = np.where(found, sorted_row[at] if len(sorted_row) else 0, _UNKNOWN)
    _raise_unmatched(run_course, starts, run_client, run_episode, names, listed_client, count)

    present, run_code = _in_order_of_rows(run_course)
    is_listed = present < listed
    row = np.minimum(present, listed - 1) if listed else np.zeros(len(present), dtype=np.int64)
    rest = np.maximum(present - listed, 0)
    return Courses(
        row=np.repeat(run_code, lengths),
        client=np.where(is_listed, listed_client[row] if listed else 0, rest // span),
        episode=np.where(is_listed, listed_episode[row] if listed else 0, rest % span - 1),
        listed=np.where(is_listed, present, -1),
    )


def _in_order_of_rows(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values in order of first appearance, and each value's position among them."""
    distinct, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return distinct[order], rank[inverse.reshape(-1)]


def _raise_unmatched(
    run_course: np.ndarray,
    starts: np.ndarray,
    run_client: np.ndarray,
    run_episode: np.ndarray,
    names: Names,
    listed_client: np.ndarray,
    count: np.ndarray,
) -> None:
    """Name the first rows that name no episode of a client with several, or an episode the
    episodes table does not list for that client."""
    bad = np.flatnonzero(run_course < 0)[:MAX_REPORTED]
    if not bad.size:
        return
    problems = []
    for run in bad:
        client = run_client[run]
        who = names.clients[client]
        own = [] if names.listed is None else names.listed[listed_client == client]
        own_ids = ", ".join(str(e) for e in own if e is not None)
        where = f"row {starts[run] + 1}, column {EPISODE_ID}"
        if run_course[run] == _MISSING:
            expected = f"the episode_id of one of client {who}'s {count[client]} episodes ({own_ids})"
            problems.append(FieldProblem(where, None, expected))
            continue
        listed = f"it lists {own_ids}" if own_ids else f"it lists no episode_id for client {who}"
        problems.append(
            FieldProblem(
                where,
                names.episodes[run_episode[run]],
                f"an episode the episodes table lists for client {who} ({listed})",
            )
        )
    raise InvalidInputError("measures table", problems)


def course_of_rows(measures: pd.DataFrame, episodes: pd.DataFrame | None) -> tuple[Courses, Names]:
    """Each measures row's course (checked tables), with the codes' names.

    Client and episode codes are shared between the two tables (the ids of both, in order of
    first appearance).
    """
    client_ids = [measures["client_id"].astype(str)]
    episode_lists = [episode_ids(measures)]
    if episodes is not None:
        client_ids.append(episodes["client_id"].astype(str))
        episode_lists.append(episode_ids(episodes))
    client_code, clients = pd.factorize(pd.concat(client_ids, ignore_index=True))
    episode_code, episode_names = pd.factorize(pd.concat(episode_lists, ignore_index=True))
    n = len(measures)
    names = Names(
        clients=np.asarray(clients, dtype=object),
        episodes=np.asarray(episode_names, dtype=object),
        listed=None if episodes is None else episode_lists[1].to_numpy(dtype=object),
    )
    courses = match_courses(
        client_code[:n],
        episode_code[:n],
        names,
        None if episodes is None else client_code[n:],
        None if episodes is None else episode_code[n:],
    )
    return courses, names


def episode_ids(frame: pd.DataFrame) -> pd.Series:
    """A table's episode ids as text (None where empty; all None without the column)."""
    if EPISODE_ID not in frame.columns:
        return pd.Series([None] * len(frame), dtype=object)
    ids = frame[EPISODE_ID].reset_index(drop=True)
    return ids.astype(str).astype(object).where(ids.notna(), None)

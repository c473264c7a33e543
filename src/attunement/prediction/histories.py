"""Client histories as session-by-session arrays, and the cut that hides the future.

A method must only see what a clinician would have seen before deciding, so the harness never
hands it the canonical tables: it hands it ``histories.upto(s)``, which keeps the clients still in
treatment at session ``s`` and only the columns for sessions ``1..s``. How the course ended, and
how many sessions it had, are not in a :class:`Histories` at all; they live in the labels
(:mod:`attunement.prediction.outcomes`).

Arrays are clients (rows) by sessions 1..S (columns); a missing form is NaN. A row is one course
of treatment: one per client, or, when the tables carry ``episode_id``, one per episode of care
(:mod:`attunement.tables.courses`), so that a returning client's second course is never read as
the continuation of the first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from attunement.errors import FieldProblem, InvalidInputError
from attunement.prediction.measures import outcome_instruments
from attunement.tables.courses import course_keys, course_of_rows, episode_ids, has_episode_ids, names_of
from attunement.tables.scores import session_scores

#: The per-session measures a method may use: the client's PHQ-9 and GAD-7 totals and PHQ-9 item 9,
#: the client's relationship check-in, its "felt judged, criticised or pushed" answer (the one
#: item read on its own, by the negative-process alert) and the therapist's estimate of it.
MEASURES = ("phq9", "gad7", "phq9_item9", "checkin", "checkin_judged", "checkin_therapist")
#: The (instrument, item) kept as a measure of its own besides the totals: PHQ-9 item 9 (safety)
#: and the check-in's "judged" item (negative process), by measure name.
ITEM_MEASURES = {"phq9_item9": ("phq9", "phq9_9"), "checkin_judged": ("checkin", "checkin_judged")}
NO_GROUP = "all"
# Besides these, every client-rated outcome measure with reliable-change parameters found in the
# tables (CORE-10, CORE-OM, ORS, ...) is kept under its instrument id, so that a service measuring
# something else still gets histories and outcome labels (:mod:`attunement.prediction.measures`).


@dataclass(frozen=True)
class Histories:
    """Per-client arrays of what was recorded, session by session.

    ``sessions`` is the number of sessions attended so far (a session with every form missed
    still counts when the episodes table says it was attended). ``scores`` maps each name of
    :data:`MEASURES` that the data holds to an array of shape (n clients, ``max_session``).

    ``client_id`` identifies each row. When the tables carry episodes of care it is the course's
    key (client id, ``/``, episode id; :func:`~attunement.tables.courses.course_keys`), unique
    even for a client with two courses, and ``episode_id`` and ``episode_client_id`` give each
    course's episode id (None where it has none) and its client's own id; :meth:`clients` and
    :meth:`episodes` read them whether or not the tables had episodes.
    """

    client_id: np.ndarray
    therapist_id: np.ndarray
    group: np.ndarray
    sessions: np.ndarray
    scores: dict[str, np.ndarray] = field(repr=False)
    episode_id: np.ndarray | None = None
    episode_client_id: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.client_id)

    @property
    def max_session(self) -> int:
        return next(iter(self.scores.values())).shape[1]

    def clients(self) -> np.ndarray:
        """Each row's own client id (for a course, its client's; ``client_id`` without episodes)."""
        return self.client_id if self.episode_client_id is None else self.episode_client_id

    def episodes(self) -> np.ndarray:
        """Each row's episode id (None where the tables name none)."""
        if self.episode_id is None:
            return np.full(len(self), None, dtype=object)
        return self.episode_id

    def score(self, name: str) -> np.ndarray:
        """The array for one measure; all-NaN when the data does not hold it."""
        if name in self.scores:
            return self.scores[name]
        return np.full((len(self), self.max_session), np.nan)

    def upto(self, session: int) -> Histories:
        """The clients who attended ``session``, with sessions 1..``session`` only."""
        if session < 1:
            raise ValueError(f"session must be at least 1, got {session}")
        keep = self.sessions >= session
        width = min(session, self.max_session)
        scores = {name: values[keep, :width] for name, values in self.scores.items()}
        if width < session:
            scores = {name: _pad(values, session) for name, values in scores.items()}
        cut = self.subset(keep)
        return Histories(
            cut.client_id,
            cut.therapist_id,
            cut.group,
            np.full(len(cut), session, dtype=np.int64),
            scores,
            cut.episode_id,
            cut.episode_client_id,
        )

    def subset(self, rows: np.ndarray | slice) -> Histories:
        """The clients selected by a boolean mask, row indices or a slice (for splits and blocks)."""
        return Histories(
            client_id=self.client_id[rows],
            therapist_id=self.therapist_id[rows],
            group=self.group[rows],
            sessions=self.sessions[rows],
            scores={name: values[rows] for name, values in self.scores.items()},
            episode_id=None if self.episode_id is None else self.episode_id[rows],
            episode_client_id=None if self.episode_client_id is None else self.episode_client_id[rows],
        )

    def first(self, name: str) -> np.ndarray:
        """The first observed value of a measure per client (NaN when never observed)."""
        return first_observed(self.score(name))

    def last(self, name: str) -> np.ndarray:
        """The last observed value of a measure per client (NaN when never observed)."""
        return last_observed(self.score(name))


def histories_from_tables(
    measures: pd.DataFrame, episodes: pd.DataFrame | None = None, *, unlisted: bool = False
) -> Histories:
    """Build the arrays from canonical ``measures`` and ``episodes`` tables.

    Clients are ordered as in ``episodes`` when given (clients without measures get an empty
    history), otherwise by client id. Measures of clients the episodes table does not list are
    left out (a fit or an evaluation needs each course's outcome), or with ``unlisted`` kept as
    ongoing courses after the listed ones, ordered by key (alerts: no answer is dropped).
    ``episodes`` may carry ``client_group`` (used for fairness figures) and ``sessions_attended``;
    without the latter a client's last recorded session is taken as the number of sessions
    attended. When either table carries ``episode_id`` each episode of care is a row of its own,
    keyed as :class:`Histories` says, and the measures rows are matched to the episodes by the
    rules of :mod:`attunement.tables.courses`.
    """
    measures, ids, clients, episode = _by_course(measures, episodes, unlisted)
    if len(set(ids)) != len(ids):
        raise InvalidInputError(
            "episodes table",
            [FieldProblem("client_id", "repeated", "one row per client (or per client and episode_id)")],
        )
    index = pd.Index(ids)
    per_measure = _session_tables(measures)
    recorded = measures.groupby(measures["client_id"].astype(str))["session"].max()
    last_recorded = recorded.reindex(index).fillna(0).to_numpy(dtype=np.int64)
    sessions = last_recorded
    if episodes is not None and "sessions_attended" in episodes.columns:
        attended = _padded(pd.to_numeric(episodes["sessions_attended"], errors="coerce").to_numpy(), len(ids))
        sessions = np.where(np.isnan(attended), last_recorded, np.maximum(attended, last_recorded)).astype(
            np.int64
        )
    width = max(1, int(sessions.max(initial=1)))
    scores = {name: _wide(table, index, width) for name, table in per_measure.items()}
    return Histories(
        client_id=ids,
        therapist_id=_column(episodes, "therapist_id", index, ""),
        group=_column(episodes, "client_group", index, NO_GROUP),
        sessions=sessions,
        scores=scores,
        episode_id=episode,
        episode_client_id=clients,
    )


def measures_by_course(
    measures: pd.DataFrame, episodes: pd.DataFrame | None = None, *, unlisted: bool = False
) -> pd.DataFrame:
    """The measures rows :func:`histories_from_tables` uses, with ``client_id`` replaced by each
    row's course key (the ``client_id`` of the histories' rows), for a caller that needs the
    rows themselves, such as the item answers a safety check reads."""
    return _by_course(measures, episodes, unlisted)[0]


def _by_course(
    measures: pd.DataFrame, episodes: pd.DataFrame | None, unlisted: bool = False
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The measures with ``client_id`` replaced by each row's course key, the row keys of the
    histories, and (with episodes of care) each row's client and episode id.

    Tables without ``episode_id`` are returned as they are: one course per client. With
    ``unlisted``, the courses of clients the episodes table does not list follow its rows.
    """
    if not has_episode_ids(measures, episodes):
        if episodes is not None:
            ids = episodes["client_id"].astype(str).to_numpy(dtype=object)
            if unlisted:
                extra = np.setdiff1d(measures["client_id"].astype(str).unique(), ids)
                ids = np.concatenate([ids, extra.astype(object)])
        else:
            ids = np.array(sorted(measures["client_id"].astype(str).unique()), dtype=object)
        return measures, ids, None, None
    courses, names = course_of_rows(measures, episodes)
    if episodes is not None:
        clients = episodes["client_id"].astype(str).to_numpy(dtype=object)
        episode = episode_ids(episodes).to_numpy(dtype=object)
        ids = course_keys(clients, episode)
        keys = names_of(ids, courses.listed)
        extra = np.flatnonzero(courses.listed < 0) if unlisted else np.empty(0, dtype=np.int64)
        if extra.size:
            extra_clients = names.clients[courses.client[extra]]
            extra_episodes = names_of(names.episodes, courses.episode[extra])
            keys[extra] = course_keys(extra_clients, extra_episodes)
            order = extra[np.argsort(keys[extra], kind="stable")]
            ids = np.concatenate([ids, keys[order]])
            clients = np.concatenate([clients, names.clients[courses.client[order]]])
            episode = np.concatenate([episode, names_of(names.episodes, courses.episode[order])])
    else:
        clients = names.clients[courses.client]
        episode = names_of(names.episodes, courses.episode)
        keys = course_keys(clients, episode)
        order = np.argsort(keys, kind="stable")
        ids, clients, episode = keys[order], clients[order], episode[order]
    row_key = keys[courses.row]
    listed = pd.notna(row_key)
    return measures.assign(client_id=row_key)[listed], ids, clients, episode


def _session_tables(measures: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """One (client_id, session, score) table per measure the data holds: :data:`MEASURES` and any
    other outcome measure with reliable-change parameters."""
    present = set(zip(measures["instrument"], measures["rater"], strict=False))
    out: dict[str, pd.DataFrame] = {}
    for name, rater in (("phq9", "client"), ("gad7", "client"), ("checkin", "client")):
        if (name, rater) in present:
            out[name] = session_scores(measures, name, rater)
    for name in outcome_instruments():
        if name not in out and (name, "client") in present:
            out[name] = session_scores(measures, name, "client")
    if ("checkin_therapist", "therapist") in present:
        out["checkin_therapist"] = session_scores(measures, "checkin_therapist", "therapist")
    for name, (instrument, item) in ITEM_MEASURES.items():
        answers = measures[
            (measures["instrument"] == instrument)
            & (measures["rater"] == "client")
            & (measures["item"] == item)
        ]
        if not answers.empty:
            out[name] = answers[["client_id", "session", "value"]].rename(columns={"value": "score"})
    if not out:
        raise InvalidInputError(
            "measures table",
            [
                FieldProblem(
                    "instrument",
                    sorted(measures["instrument"].unique()),
                    "rows of checkin or of an outcome measure with reliable-change parameters ("
                    + ", ".join(outcome_instruments())
                    + ")",
                )
            ],
        )
    return out


def _wide(table: pd.DataFrame, index: pd.Index, width: int) -> np.ndarray:
    out = np.full((len(index), width), np.nan)
    rows = index.get_indexer(table["client_id"].astype(str))
    cols = table["session"].to_numpy(dtype=np.int64) - 1
    ok = (rows >= 0) & (cols >= 0) & (cols < width)
    out[rows[ok], cols[ok]] = table["score"].to_numpy(dtype=float)[ok]
    return out


def _column(episodes: pd.DataFrame | None, name: str, index: pd.Index, default: str) -> np.ndarray:
    """An episodes column for the histories' rows: the table's rows first, ``default`` for the
    courses it does not list."""
    if episodes is None or name not in episodes.columns:
        return np.full(len(index), default, dtype=object)
    values = episodes[name].astype(object).where(episodes[name].notna(), default)
    return _padded(values.astype(str).to_numpy(dtype=object), len(index), default)


def _padded(values: np.ndarray, length: int, fill: object = np.nan) -> np.ndarray:
    """``values`` followed by ``fill`` up to ``length`` (the unlisted courses after the listed)."""
    if len(values) >= length:
        return values
    return np.concatenate([values, np.full(length - len(values), fill, dtype=values.dtype)])


def _pad(values: np.ndarray, width: int) -> np.ndarray:
    out = np.full((values.shape[0], width), np.nan)
    out[:, : values.shape[1]] = values
    return out


def first_observed(values: np.ndarray) -> np.ndarray:
    """Each row's first non-missing value of a clients x sessions array (NaN when none)."""
    seen = ~np.isnan(values)
    position = seen.argmax(axis=1)
    out = values[np.arange(values.shape[0]), position]
    return np.where(seen.any(axis=1), out, np.nan)


def last_observed(values: np.ndarray) -> np.ndarray:
    """Each row's last non-missing value of a clients x sessions array (NaN when none)."""
    return first_observed(values[:, ::-1])

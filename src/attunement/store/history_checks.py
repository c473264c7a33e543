"""The checking half of importing a service's history (``attunement import-history``): what the
canonical ``measures``, ``episodes`` and ``actions`` tables hold that will be stored, what is
already stored, and what is refused, with the report that says so. It is kept apart from the
writing (:mod:`attunement.store.history_import`) because it only reads: nothing here changes the
database, so everything refused is listed before a write begins.

Every row is checked first, and nothing is stored while any row has a problem, unless the caller
asks to skip invalid rows (then those rows, and what depends on them, are left out and
counted). The checks are the canonical tables' own (:mod:`attunement.tables.schema`: columns,
types, dates, one episode id per course) and the app's:

- ``therapist_id`` is the user name of an active clinician of the app;
- every instrument is one attunement knows, answered by its rater, each item one of the
  instrument's, each answer one the item accepts (a row of an unknown instrument, even a
  ready-made score, is refused: the app could neither show nor check it);
- every measures row belongs to an episode of the episodes table (the rules of
  :mod:`attunement.tables.courses`), has a session from 1 and the date it was answered, on or
  after its episode's start, not after its end or today; the rows of one form set (one session
  by one rater) share one date, and no item or score appears twice in it;
- a client's episodes follow each other as the app's do (:mod:`attunement.store.episodes`): each
  starts once the one before has ended, and only the latest may be ongoing. An episode without
  ``start_date`` starts on the date of its first answers; an ended one without ``end_date`` ends
  on the date of its last.

A client is matched by the table's ``client_id``: a new one becomes a client with a fresh opaque
public id, whose reference (label) is that ``client_id`` (documented as opaque, so it names no
one), in the caseload of the therapist of their latest episode. What each client, episode and
form set became is kept in :class:`~attunement.store.models.ImportSource` under a digest of its
ids, with a digest of what was imported: importing the same tables again stores nothing and says
how many rows were already imported; a row whose key is known with other content (an episode
with another therapist or dates, a form set with other answers), or a session the app already
holds answers for, is a conflict and is refused, never replacing what is stored. A client's
episodes are imported together: one refused episode refuses the client's others that are not
yet stored, with their answers.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from attunement.alerts.alert import KINDS
from attunement.errors import AttunementError, InvalidInputError
from attunement.instruments.registry import get_instrument, instrument_ids
from attunement.store.models import Client, Episode, ImportSource, Submission, User
from attunement.store.settings import clinic_today, clinic_zone
from attunement.tables.schema import (
    ACTIONS_COLUMNS,
    EPISODE_ID,
    ONGOING,
    normalise_actions,
    normalise_episodes,
    normalise_measures,
)

#: How often the normalisers are run again after leaving out the rows they named (each run names
#: at most a few dozen rows): past this, the tables are refused as too broken to list.
MAX_ROUNDS = 200
MAX_LABEL = 80
_ROW = re.compile(r"row (\d+), column (.+)")
_SEP = "\x1f"
#: The order problems are listed in.
TABLES = ("episodes", "measures", "actions")

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Problem:
    """One problem with one cell: which table, which data row (from 1; in a CSV file row N is on
    line N + 1; None for the table as a whole), which column, what it held and what was expected."""

    table: str
    row: int | None
    column: str
    value: Any
    expected: str

    def __str__(self) -> str:
        where = f"{self.table}" + (f" row {self.row}" if self.row is not None else "")
        return f"{where}, column {self.column}: got {self.value!r}, expected {self.expected}"


@dataclass
class ImportReport:
    """What an import found and did. ``stored`` is False when nothing was written (problems
    without ``skip_invalid``, or nothing new)."""

    problems: list[Problem] = field(default_factory=list)
    skip_invalid: bool = False
    stored: bool = False
    #: New rows written: clients, episodes, form sets (submissions) and measures rows, and the
    #: actions recorded on alerts.
    imported: dict[str, int] = field(default_factory=dict)
    #: Rows of the tables that an earlier import already stored (episodes, measures and actions).
    already_imported: dict[str, int] = field(default_factory=dict)
    #: Rows left out (only with ``skip_invalid``): invalid ones and those that depend on them.
    skipped: dict[str, int] = field(default_factory=dict)
    #: Clients whose summaries and alerts were brought up to date.
    refreshed_clients: int = 0
    #: Safety alerts this import opened ("opened"), and how many of them stayed open, waiting
    #: for a clinician to record what was done ("open"): the rest were closed by the actions.
    safety_alerts: dict[str, int] = field(default_factory=lambda: {"opened": 0, "open": 0})
    #: False when a table could not be read at all (a required column missing): then nothing is
    #: imported, even with ``skip_invalid``.
    readable: bool = True

    @property
    def refused(self) -> bool:
        """Nothing was imported because of the problems found."""
        return bool(self.problems) and (not self.skip_invalid or not self.readable)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stored": self.stored,
            "skip_invalid": self.skip_invalid,
            "imported": self.imported,
            "already_imported": self.already_imported,
            "skipped": self.skipped,
            "refreshed_clients": self.refreshed_clients,
            "safety_alerts": self.safety_alerts,
            "refused": self.refused,
            "problems": [
                {
                    "table": p.table,
                    "row": p.row,
                    "column": p.column,
                    "value": p.value,
                    "expected": p.expected,
                }
                for p in self.problems
            ],
        }


class Unreadable(AttunementError):
    """The tables cannot be read at all (a missing column): no row can be imported."""


def sort_problems(problems: list[Problem]) -> None:
    """In the order of :data:`TABLES`, then by row, whichever step found them."""
    problems.sort(key=lambda p: (TABLES.index(p.table) if p.table in TABLES else len(TABLES), p.row or 0))


def _plain(value: Any) -> Any:
    """A cell as a plain JSON value."""
    if value is None:
        return None
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):
        return value.item()
    return value if isinstance(value, (int, float, str, bool)) else str(value)


def digest(*parts: object) -> str:
    """The key (or fingerprint) under which an imported row is kept in ``ImportSource``."""
    return hashlib.sha256(_SEP.join("" if p is None else str(p) for p in parts).encode("utf-8")).hexdigest()


def _checked(
    frame: pd.DataFrame, normalise: Callable[[pd.DataFrame], pd.DataFrame], table: str, report: ImportReport
) -> pd.DataFrame:
    """The rows the canonical normaliser accepts, every problem it names added to the report with
    its row in the table as given (``_row``). The normaliser names at most a few dozen rows per
    run, so the rows it names are left out and it runs again, until it accepts the rest."""
    frame = frame.reset_index(drop=True).copy()
    frame["_row"] = np.arange(1, len(frame) + 1)
    for _ in range(MAX_ROUNDS):
        try:
            return normalise(frame)
        except InvalidInputError as exc:
            named: set[int] = set()
            for problem in exc.problems:
                found = _ROW.fullmatch(str(problem.field))
                if found is None:  # the table as a whole (its columns): nothing can be read
                    report.problems.append(
                        Problem(table, None, str(problem.field), _plain(problem.value), problem.expected)
                    )
                    raise Unreadable(table) from exc
                position = int(found[1]) - 1
                named.add(position)
                row = int(frame["_row"].iat[position])
                report.problems.append(Problem(table, row, found[2], _plain(problem.value), problem.expected))
            frame = frame.drop(index=frame.index[sorted(named)]).reset_index(drop=True)
    report.problems.append(
        Problem(table, None, "rows", len(frame), f"fewer than {MAX_ROUNDS} rounds of problems to list")
    )
    raise Unreadable(table)


class HistoryPlan:
    """The checked tables: what is new, what is already stored and what is refused, all found
    when the plan is made. It writes nothing; the writing builds on it
    (:mod:`attunement.store.history_import`)."""

    def __init__(
        self,
        db: Session,
        measures: pd.DataFrame,
        episodes: pd.DataFrame,
        actions: pd.DataFrame | None,
        report: ImportReport,
        tick: Progress,
    ):
        self.db, self.report, self.tick = db, report, tick
        self.today = clinic_today(db)
        self.zone = clinic_zone(db)
        tick("checking", 0, 7)
        self.episodes = _checked(episodes, normalise_episodes, "episodes", report)
        self.measures = _checked(measures, normalise_measures, "measures", report)
        given_actions = actions if actions is not None else pd.DataFrame(columns=ACTIONS_COLUMNS)
        self.actions = _checked(given_actions, lambda f: normalise_actions(f, KINDS), "actions", report)
        # A client whose episode row is refused is refused whole, and their answers with them.
        kept = set(self.episodes["_row"])
        given = episodes.reset_index(drop=True)["client_id"]
        self.refused_clients: set[str] = {
            str(c).strip() for row, c in enumerate(given, start=1) if row not in kept and pd.notna(c)
        }
        self.bad_measures = np.zeros(len(self.measures), dtype=bool)
        steps = (
            self._episode_columns,
            self._therapists,
            self._courses,
            self._measure_rules,
            self._episode_dates,
            self._stored,
            self._action_rows,
        )
        for done, step in enumerate(steps, start=1):
            step()
            tick("checking", done, len(steps) + 1)
        self._counts(len(measures), len(episodes))
        self.action_rows = len(given_actions)
        tick("checking", len(steps) + 1, len(steps) + 1)

    # -- problems ------------------------------------------------------------------------------

    def _episode_problem(self, index: int, column: str, value: Any, expected: str) -> None:
        row = self.episodes.loc[index]
        self.report.problems.append(Problem("episodes", int(row["_row"]), column, _plain(value), expected))
        self.refused_clients.add(str(row["client_id"]))

    def _measure_problems(
        self, mask: np.ndarray, column: str, expected: str | Callable[[pd.DataFrame], list[str]]
    ) -> None:
        """A problem for each row of ``mask`` (``expected`` gives the text per row, or one text)."""
        mask = mask & ~self.bad_measures
        if not mask.any():
            return
        rows = self.measures[mask]
        texts = expected if isinstance(expected, str) else expected(rows)
        if isinstance(texts, str):
            texts = [texts] * len(rows)
        values = rows[column] if column in rows.columns else pd.Series([None] * len(rows), index=rows.index)
        self.report.problems.extend(
            Problem("measures", int(r), column, _plain(v), str(t))
            for r, v, t in zip(rows["_row"], values, texts, strict=True)
        )
        self.bad_measures |= mask

    # -- the episodes --------------------------------------------------------------------------

    def _episode_columns(self) -> None:
        e = self.episodes
        if EPISODE_ID not in e.columns:
            e[EPISODE_ID] = None
        for column in ("start_date", "end_date"):
            if column not in e.columns:
                e[column] = None
        if "client_group" not in e.columns:
            e["client_group"] = None
        e["episode_key"] = [
            digest("episode", c, x) for c, x in zip(e["client_id"], e[EPISODE_ID], strict=True)
        ]

    def _therapists(self) -> None:
        """``therapist_id`` is an active clinician's user name."""
        found = {
            u.username: u
            for u in self.db.scalars(select(User).where(User.role == "clinician", User.active.is_(True)))
        }
        self.clinicians = found
        for index, name in self.episodes["therapist_id"].items():
            if name not in found:
                self._episode_problem(
                    int(index), "therapist_id", name, "the user name of an active clinician of the app"
                )
        for index, name in self.episodes["client_id"].items():
            if len(str(name)) > MAX_LABEL:
                self._episode_problem(
                    int(index), "client_id", name, f"a client id of at most {MAX_LABEL} characters"
                )

    def _episode_of(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, pd.Series]:
        """Each row's episode (its index in the episodes table, -1 for none) by the rules of
        :mod:`attunement.tables.courses`: the one its ``episode_id`` names, or its client's only
        one; whether the row names one; and how many episodes each client has. The measures
        and the actions rows follow the same rules."""
        e = self.episodes
        named_ep = e[e[EPISODE_ID].notna()]
        by_key = pd.Series(
            named_ep.index.to_numpy(), index=named_ep["client_id"] + _SEP + named_ep[EPISODE_ID]
        )
        count = e.groupby("client_id").size()
        only = pd.Series(e.index.to_numpy(), index=e["client_id"])[e["client_id"].map(count).to_numpy() == 1]
        episode_of = (
            frame[EPISODE_ID]
            if EPISODE_ID in frame.columns
            else pd.Series([None] * len(frame), index=frame.index)
        )
        named = episode_of.notna().to_numpy()
        course = np.full(len(frame), -1, dtype=np.int64)
        if named.any():
            keys = frame["client_id"][named] + _SEP + episode_of[named].astype(str)
            course[named] = keys.map(by_key).fillna(-1).astype(np.int64).to_numpy()
        if (~named).any():
            course[~named] = frame["client_id"][~named].map(only).fillna(-1).astype(np.int64).to_numpy()
        return course, named, count

    def _courses(self) -> None:
        """Each measures row's episode (row number in the episodes table), by the rules of
        :mod:`attunement.tables.courses`; rows that have none are problems. The rows of a refused
        client are left out as they are (counted as skipped), not reported one by one."""
        e, m = self.episodes, self.measures
        self.bad_measures |= m["client_id"].isin(self.refused_clients).to_numpy()
        course, named, count = self._episode_of(m)
        m["_course"] = course
        listed = set(e["client_id"])
        unlisted = (course < 0) & ~m["client_id"].isin(listed).to_numpy()
        self._measure_problems(
            unlisted,
            "client_id",
            "a client_id the episodes table lists (the import takes each client's therapist from it)",
        )
        several = (course < 0) & ~named & ~unlisted
        self._measure_problems(
            several,
            EPISODE_ID,
            lambda rows: [
                f"the episode_id of one of client {c}'s {int(count[c])} episodes" for c in rows["client_id"]
            ],
        )
        self._measure_problems(
            (course < 0) & named & ~unlisted,
            EPISODE_ID,
            lambda rows: [f"an episode the episodes table lists for client {c}" for c in rows["client_id"]],
        )

    # -- the measures --------------------------------------------------------------------------

    def _measure_rules(self) -> None:
        """Known instruments, their raters, items and answers; sessions, dates, no repeats."""
        m = self.measures
        known = set(instrument_ids())
        unknown = ~m["instrument"].isin(known).to_numpy()
        self._measure_problems(
            unknown, "instrument", "an instrument attunement knows: " + ", ".join(sorted(known))
        )
        raters = {i: get_instrument(i).rater for i in known}
        wrong_rater = ~unknown & (m["rater"].to_numpy() != m["instrument"].map(raters).to_numpy())
        self._measure_problems(
            wrong_rater, "rater", lambda rows: [f"{raters[i]} (who answers {i})" for i in rows["instrument"]]
        )
        has_item = m["item"].notna().to_numpy()
        bad_item = np.zeros(len(m), dtype=bool)
        bad_value = np.zeros(len(m), dtype=bool)
        expected_value: dict[tuple[str, str], str] = {}
        pairs = m.loc[has_item & ~unknown, ["instrument", "item"]].drop_duplicates()
        for instrument, item in pairs.itertuples(index=False):
            rows = ((m["instrument"] == instrument) & (m["item"] == item)).to_numpy()
            spec = get_instrument(instrument).items.get(item)
            if spec is None:
                bad_item |= rows
                continue
            values = m.loc[rows, "value"].to_numpy(dtype=float)
            rejected = np.zeros(len(m), dtype=bool)
            rejected[np.flatnonzero(rows)] = ~np.isnan(values) & ~_accepted(values, spec)
            bad_value |= rejected
            expected_value[(instrument, item)] = spec.expected()
        self._measure_problems(bad_item, "item", lambda rows: [f"an item of {i}" for i in rows["instrument"]])
        self._measure_problems(
            bad_value,
            "value",
            lambda rows: [
                expected_value[(i, t)] for i, t in zip(rows["instrument"], rows["item"], strict=True)
            ],
        )
        self._measure_problems((m["session"] < 1).to_numpy(), "session", "a session number from 1")
        self._measure_problems(
            m["date"].isna().to_numpy(), "date", "the date the form was answered (YYYY-MM-DD)"
        )
        dated = m["date"].notna().to_numpy()
        future = np.zeros(len(m), dtype=bool)
        future[dated] = (m.loc[dated, "date"] > self.today).to_numpy()
        self._measure_problems(future, "date", f"today ({self.today.isoformat()}) or an earlier date")
        what = m["item"].fillna("(score)")
        repeated = m.assign(_what=what).duplicated(["_course", "session", "rater", "instrument", "_what"])
        self._measure_problems(
            repeated.to_numpy() & (m["_course"] >= 0).to_numpy(),
            "item",
            "each item (or score) once per session and rater: this one is in an earlier row",
        )
        form = m["_course"].astype(str) + _SEP + m["session"].astype(str) + _SEP + m["rater"]
        ok = ~self.bad_measures & dated
        first_date = (
            pd.DataFrame({"_form": form[ok], "date": m.loc[ok, "date"]})
            .drop_duplicates("_form")
            .set_index("_form")
        )["date"]
        mine = form.map(first_date)
        other = ok & mine.notna().to_numpy() & (m["date"] != mine).to_numpy()
        self._measure_problems(
            other,
            "date",
            lambda rows: [
                f"the date of the other rows of session {s} by the {r} ({d.isoformat()})"
                for s, r, d in zip(rows["session"], rows["rater"], mine[rows.index], strict=True)
            ],
        )
        m["_form"] = form

    def _episode_dates(self) -> None:
        """Each episode's start and end (from its answers where the table gives none); answers
        within them; a client's episodes one after another, only the latest ongoing."""
        e, m = self.episodes, self.measures
        ok = ~self.bad_measures & (m["_course"] >= 0).to_numpy()
        spans = (
            pd.DataFrame({"course": m.loc[ok, "_course"], "date": pd.to_datetime(m.loc[ok, "date"])})
            .groupby("course")["date"]
            .agg(["min", "max"])
        )
        spans = spans.apply(lambda column: column.dt.date) if len(spans) else spans.astype(object)
        e["_start"] = e["start_date"].where(
            e["start_date"].notna(), e.index.map(spans["min"]).to_series(index=e.index)
        )
        e["_end"] = e["end_date"].where(
            e["end_date"].notna(), e.index.map(spans["max"]).to_series(index=e.index)
        )
        e.loc[e["end_reason"] == ONGOING, "_end"] = None
        for index, row in frame_rows(e):
            if pd.isna(row["_start"]):
                self._episode_problem(
                    int(index), "start_date", None, "the date the episode started (or dated measures rows)"
                )
            elif row["_start"] > self.today:
                self._episode_problem(
                    int(index), "start_date", row["_start"], f"today ({self.today.isoformat()}) or earlier"
                )
            if row["end_reason"] != ONGOING:
                if pd.isna(row["_end"]):
                    self._episode_problem(
                        int(index), "end_date", None, "the date the episode ended (or dated measures rows)"
                    )
                elif row["_end"] > self.today:
                    self._episode_problem(
                        int(index), "end_date", row["_end"], f"today ({self.today.isoformat()}) or earlier"
                    )
                elif pd.notna(row["_start"]) and row["_end"] < row["_start"]:
                    self._episode_problem(
                        int(index), "end_date", row["_end"], f"a date on or after the start ({row['_start']})"
                    )
        for client, rows in _by_client(e[e["_start"].notna()].sort_values(["_start", "_row"])).items():
            previous = None
            for position, (index, row) in enumerate(rows):
                if row["end_reason"] == ONGOING and position < len(rows) - 1:
                    self._episode_problem(
                        int(index),
                        "end_reason",
                        ONGOING,
                        f"an end reason: only client {client}'s latest episode may be ongoing",
                    )
                if previous is not None and pd.notna(previous["_end"]) and row["_start"] < previous["_end"]:
                    self._episode_problem(
                        int(index),
                        "start_date",
                        row["_start"],
                        f"a date on or after the end of client {client}'s episode before "
                        f"({previous['_end']})",
                    )
                previous = row
        ok = ~self.bad_measures & (m["_course"] >= 0).to_numpy()
        course = m["_course"].clip(lower=0)
        start = pd.to_datetime(course.map(e["_start"]))
        end = pd.to_datetime(course.map(e["_end"]))
        dates = pd.to_datetime(m["date"])
        early = ok & (dates < start).to_numpy()
        late = ok & ~early & (dates > end).to_numpy()
        self._measure_problems(
            early,
            "date",
            lambda rows: [
                f"a date on or after its episode's start ({d:%Y-%m-%d})" for d in start[rows.index]
            ],
        )
        self._measure_problems(
            late,
            "date",
            lambda rows: [f"a date on or before its episode's end ({d:%Y-%m-%d})" for d in end[rows.index]],
        )

    # -- the actions ---------------------------------------------------------------------------

    def _action_problems(
        self, mask: np.ndarray, column: str, expected: str | Callable[[pd.DataFrame], list[str]]
    ) -> None:
        """A problem for each row of ``mask`` of the actions table (as :meth:`_measure_problems`)."""
        mask = mask & ~self.bad_actions
        if not mask.any():
            return
        rows = self.actions[mask]
        texts = [expected] * len(rows) if isinstance(expected, str) else expected(rows)
        self.report.problems.extend(
            Problem("actions", int(r), column, _plain(v), str(t))
            for r, v, t in zip(rows["_row"], rows[column], texts, strict=True)
        )
        self.bad_actions |= mask

    def _action_rows(self) -> None:
        """Each action's episode (by the rules the measures rows follow), its key, and whether an
        earlier import recorded it already. Whether its alert exists is known only once the
        answers are stored and the alerts brought up to date (:mod:`attunement.store.history_import`)."""
        a, e = self.actions, self.episodes
        for column in (EPISODE_ID, "date"):
            if column not in a.columns:
                a[column] = None
        self.bad_actions = a["client_id"].isin(self.refused_clients).to_numpy(dtype=bool, copy=True)
        course, named, count = self._episode_of(a)
        a["_course"] = course
        unlisted = (course < 0) & ~a["client_id"].isin(set(e["client_id"])).to_numpy()
        self._action_problems(unlisted, "client_id", "a client_id the episodes table lists")
        self._action_problems(
            (course < 0) & ~named & ~unlisted,
            EPISODE_ID,
            lambda rows: [
                f"the episode_id of one of client {c}'s {int(count[c])} episodes" for c in rows["client_id"]
            ],
        )
        self._action_problems(
            (course < 0) & named & ~unlisted,
            EPISODE_ID,
            lambda rows: [f"an episode the episodes table lists for client {c}" for c in rows["client_id"]],
        )
        from attunement.store.kept_alerts import MAX_TEXT

        self._action_problems(
            (a["action"].astype(str).str.len() > MAX_TEXT).to_numpy(dtype=bool),
            "action",
            f"what was done, in at most {MAX_TEXT:,} characters (as in the app)",
        )
        dated = a["date"].notna().to_numpy()
        future = np.zeros(len(a), dtype=bool)
        future[dated] = (a.loc[dated, "date"] > self.today).to_numpy()
        self._action_problems(future, "date", f"today ({self.today.isoformat()}) or an earlier date")
        a["key"] = [
            digest("action", c, x, k, s, t, d)
            for c, x, k, s, t, d in zip(
                a["client_id"], a[EPISODE_ID], a["kind"], a["session"], a["action"], a["date"], strict=True
            )
        ]
        repeated = a["key"].duplicated().to_numpy()
        self._action_problems(repeated, "action", "each action once: the same one is in an earlier row")
        known = self._sources(list(a.loc[~self.bad_actions, "key"]))
        a["_already"] = a["key"].isin(set(known)).to_numpy()

    # -- what is stored already ----------------------------------------------------------------

    def _stored(self) -> None:
        """Match clients, episodes and form sets with earlier imports and with the app's data:
        the same again is already imported, other content under a known key is a conflict."""
        e = self.episodes
        e["_client_key"] = [digest("client", c) for c in e["client_id"]]
        e["_fingerprint"] = [
            digest(t, r, s, x)
            for t, r, s, x in zip(e["therapist_id"], e["end_reason"], e["_start"], e["_end"], strict=True)
        ]
        known = self._sources(list(set(e["_client_key"])) + list(e["episode_key"]))
        e["_stored_episode"] = None
        e["_already"] = False
        self.client_ids: dict[str, int] = {}
        latest = self._latest_stored([s.client_id for s in known.values() if s.kind == "client"])
        labels = self._labels()
        already: dict[int, int] = {}
        for client, rows in _by_client(e.sort_values(["_start", "_row"], na_position="first")).items():
            if client in self.refused_clients:
                continue
            source = known.get(rows[0][1]["_client_key"])
            stored_latest = latest.get(source.client_id) if source is not None else None
            if source is not None:
                self.client_ids[client] = source.client_id
            for index, row in rows:
                was = known.get(row["episode_key"])
                if was is not None:
                    if was.fingerprint == row["_fingerprint"] and was.episode_id is not None:
                        already[index] = was.episode_id
                    else:
                        self._episode_problem(
                            int(index),
                            "episode_id",
                            row[EPISODE_ID],
                            "the episode as an earlier import stored it (its therapist, end reason and "
                            "dates): a changed episode is not replaced; change it in the app",
                        )
                    continue
                if stored_latest is not None and stored_latest.active:
                    self._episode_problem(
                        int(index),
                        "start_date",
                        row["_start"],
                        f"an episode after client {client}'s latest one in the app, which is still active "
                        "(end it in the app first)",
                    )
                elif (
                    stored_latest is not None
                    and stored_latest.ended_on is not None
                    and row["_start"] < stored_latest.ended_on
                ):
                    self._episode_problem(
                        int(index),
                        "start_date",
                        row["_start"],
                        f"a date on or after the end of client {client}'s latest episode in the app "
                        f"({stored_latest.ended_on.isoformat()})",
                    )
            if source is None:
                last_index, last = rows[-1]
                therapist = self.clinicians.get(last["therapist_id"])
                if therapist is not None and (therapist.id, client) in labels:
                    self._episode_problem(
                        int(last_index),
                        "client_id",
                        client,
                        f"a client_id that is not already the reference of a client in "
                        f"{therapist.username}'s caseload (one this import did not create)",
                    )
        if already:
            e.loc[list(already), "_stored_episode"] = list(already.values())
            e.loc[list(already), "_already"] = True
        self.latest_stored = latest
        self._stored_forms()

    def _sources(self, keys: Sequence[str]) -> dict[str, ImportSource]:
        found: dict[str, ImportSource] = {}
        keys = list(keys)
        for start in range(0, len(keys), 5000):
            chunk = keys[start : start + 5000]
            found.update(
                (s.key, s) for s in self.db.scalars(select(ImportSource).where(ImportSource.key.in_(chunk)))
            )
        return found

    def _latest_stored(self, client_ids: Sequence[int]) -> dict[int, Episode]:
        from attunement.store.episodes import current_episodes

        out: dict[int, Episode] = {}
        ids = list(client_ids)
        for start in range(0, len(ids), 5000):
            out.update(current_episodes(self.db, ids[start : start + 5000]))
        return out

    def _labels(self) -> set[tuple[int, str]]:
        """The references of clients the import did not create, by therapist."""
        imported = select(ImportSource.client_id).where(ImportSource.kind == "client")
        return {
            (t, label)
            for t, label in self.db.execute(
                select(Client.therapist_id, Client.label).where(Client.id.not_in(imported))
            )
        }

    def _stored_forms(self) -> None:
        """Form sets: each one's key and fingerprint; those of stored episodes compared."""
        e, m = self.episodes, self.measures
        usable = ~self.bad_measures & (m["_course"] >= 0).to_numpy()
        m["_usable"] = usable
        course = m["_course"].clip(lower=0)
        text = (
            m["instrument"]
            + "|"
            + m["item"].fillna("").astype(str)
            + "|"
            + m["value"].map(repr)
            + "|"
            + m["score"].map(repr)
        )
        # Each row's content as a 64-bit hash (pandas' fixed-key SipHash, the same in every run);
        # a form set's content is the sum of its rows' hashes (in any order) and their number.
        hashed = pd.util.hash_pandas_object(text[usable], index=False).to_numpy(dtype=np.uint64)
        parts = m.loc[usable, ["_form", "session", "rater", "date"]].assign(
            _client=m.loc[usable, "client_id"], _episode=course[usable].map(e[EPISODE_ID])
        )
        firsts = parts.drop_duplicates("_form")
        forms = pd.DataFrame(
            {
                "client": firsts["_client"].to_numpy(),
                "episode": firsts["_episode"].to_numpy(),
                "session": firsts["session"].to_numpy(),
                "rater": firsts["rater"].to_numpy(),
                "date": firsts["date"].to_numpy(),
            },
            index=pd.Index(firsts["_form"].to_numpy(), name="_form"),
        )
        forms["rows"] = parts["_form"].value_counts().reindex(forms.index).to_numpy()
        code = pd.Index(forms.index).get_indexer(parts["_form"])
        sums = np.zeros(len(forms), dtype=np.uint64)
        np.add.at(sums, code, hashed)
        forms["key"] = [
            digest("form", c, x, s, r)
            for c, x, s, r in zip(
                forms["client"], forms["episode"], forms["session"], forms["rater"], strict=True
            )
        ]
        forms["fingerprint"] = [
            digest(d, f"{int(h):016x}", n) for d, h, n in zip(forms["date"], sums, forms["rows"], strict=True)
        ]
        first_course = m.loc[usable].groupby("_form")["_course"].first()
        forms["_course"] = first_course[forms.index].to_numpy()
        forms["_already"] = False
        stored_episode = forms["_course"].map(e["_stored_episode"])
        forms["_episode_id"] = stored_episode
        on_stored = stored_episode.notna()
        known = self._sources(list(forms.loc[on_stored, "key"]))
        answered = self._answered(sorted({int(x) for x in stored_episode[on_stored]}))
        conflict: list[str] = []
        why: dict[str, str] = {}
        for form, row in frame_rows(forms[on_stored]):
            was = known.get(row["key"])
            if was is not None:
                if was.fingerprint == row["fingerprint"]:
                    forms.at[form, "_already"] = True
                else:
                    conflict.append(form)
                    why[form] = (
                        "the answers an earlier import stored for this session and rater (a changed "
                        "form is not replaced)"
                    )
            elif (int(row["_episode_id"]), int(row["session"]), row["rater"]) in answered:
                conflict.append(form)
                why[form] = (
                    f"a session the app holds no {row['rater']} answers for yet (these would go beside them)"
                )
        if conflict:
            in_conflict = m["_form"].isin(conflict).to_numpy() & usable
            first = in_conflict & ~m["_form"].duplicated().to_numpy()
            self._measure_problems(first, "session", lambda rows: [why[f] for f in rows["_form"]])
            self.bad_measures |= in_conflict
        self.forms = forms

    def _answered(self, episode_ids: Sequence[int]) -> set[tuple[int, int, str]]:
        """(episode, session, rater) of every stored submission of these episodes."""
        out: set[tuple[int, int, str]] = set()
        for start in range(0, len(episode_ids), 5000):
            chunk = episode_ids[start : start + 5000]
            out.update(
                (int(a), int(b), str(c))
                for a, b, c in self.db.execute(
                    select(Submission.episode_id, Submission.session, Submission.rater).where(
                        Submission.episode_id.in_(chunk)
                    )
                )
            )
        return out

    def _counts(self, measure_rows: int, episode_rows: int) -> None:
        """What will be written, what is already stored and what is left out."""
        e, m, forms = self.episodes, self.measures, self.forms
        refused = e["client_id"].isin(self.refused_clients)
        self.new_episodes = e[~refused & ~e["_already"].astype(bool)]
        already_episodes = int((~refused & e["_already"].astype(bool)).sum())
        live = (
            m["_usable"].to_numpy()
            & ~self.bad_measures
            & ~m["client_id"].isin(self.refused_clients).to_numpy()
        )
        already_forms = set(forms.index[forms["_already"]])
        already = live & m["_form"].isin(already_forms).to_numpy()
        self.to_write = m[live & ~already]
        self.new_forms = forms[forms.index.isin(set(self.to_write["_form"]))]
        self.report.already_imported = {"episodes": already_episodes, "measures": int(already.sum())}
        self.report.skipped = {
            "episodes": episode_rows - len(self.new_episodes) - already_episodes,
            "measures": measure_rows - len(self.to_write) - int(already.sum()),
        }


def _by_client(frame: pd.DataFrame) -> dict[str, list[tuple[Any, dict[str, Any]]]]:
    """Each client's rows of ``frame``, in its order, as :func:`frame_rows` gives them."""
    out: dict[str, list[tuple[Any, dict[str, Any]]]] = {}
    for index, row in frame_rows(frame):
        out.setdefault(row["client_id"], []).append((index, row))
    return out


def frame_rows(frame: pd.DataFrame):
    """(index, row as a dict) of each row: faster than ``iterrows`` and keeps each value's type."""
    return zip(frame.index, frame.to_dict("records"), strict=True)


def _accepted(values: np.ndarray, spec: Any) -> np.ndarray:
    """Which answers the item accepts (:meth:`ItemSpec.accepts`, for a column at once)."""
    if spec.allowed is not None:
        return np.isclose(values[:, None], np.asarray(spec.allowed, dtype=float)[None, :]).any(axis=1)
    ok = np.ones(len(values), dtype=bool)
    if spec.min is not None:
        ok &= values >= spec.min
    if spec.max is not None:
        ok &= values <= spec.max
    return ok

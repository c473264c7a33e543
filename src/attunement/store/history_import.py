"""Importing a service's history (``attunement import-history``): the canonical ``measures`` and
``episodes`` tables, stored as the app's own clients, episodes and answers, and optionally the
``actions`` table, recorded on the alerts those answers open.

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

The whole import is one transaction: it is stored completely or not at all, and once the
command has said it is stored it survives a crash. Answers are written in bulk, then every
client that received any is brought up to date by the app's own summary refresh
(:func:`attunement.store.summary_store.refresh`), in batches: the same scores and alerts as
answers given in the app, so an endorsed risk item in an ongoing episode raises the safety alert
(and its notice to the clinician).

Each row of ``actions`` is then recorded on its client's alert exactly as a clinician records
what was done in the app (:func:`attunement.store.kept_alerts.record_on_alerts`, with the
action's text and date, and no user: the step is the app's own, as the imported episodes'
are), so a safety alert closes only by a recorded action. Its alert is the live alert of its
kind in the client's latest episode open at its session (opened at it or before, still current
at it); a row for which there is none is a problem like any other (found once the answers are
stored, so the transaction is rolled back unless invalid rows are skipped), and so is a safety
action for an earlier session than the latest risk answer its alert holds: that answer came
after it. A recorded action is kept in :class:`~attunement.store.models.ImportSource`, so the
same row again records nothing. A safety alert this import opened and closed by its action
keeps no notice: it tells of a risk answer dealt with at the time, and e-mailing it now as a
new risk would be false; a safety alert without an action stays open with its notice. The
report says how many safety alerts the import opened and how many stayed open.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from attunement.alerts.alert import KINDS, NEEDS_ACTION
from attunement.alerts.lifecycle import LIVE, WAITING
from attunement.errors import AttunementError, InvalidInputError
from attunement.instruments.registry import get_instrument, instrument_ids
from attunement.store.clients import GROUP_DEFAULT, new_public_id
from attunement.store.clock import now
from attunement.store.models import (
    Base,
    Client,
    Episode,
    EpisodeEvent,
    ImportSource,
    KeptAlert,
    Notification,
    Submission,
    TherapySession,
    User,
)
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
#: Clients whose summaries are refreshed together, and rows written per statement.
REFRESH_BATCH = 200
WRITE_BATCH = 50_000
#: A form set's time of day when only its date is known (in the clinic's time zone).
ANSWERED_AT = time(12, 0)
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


class _Refused(AttunementError):
    """The tables cannot be read at all (a missing column): no row can be imported."""


def import_history(
    db: Session,
    measures: pd.DataFrame,
    episodes: pd.DataFrame,
    actions: pd.DataFrame | None = None,
    *,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Check the tables (as read, unchecked) and store what they hold, in the caller's
    transaction; see the module doc. Nothing is written when a problem is found, unless
    ``skip_invalid``: a problem found only once the answers are stored (an action for an alert
    the import did not open) rolls the caller's transaction back. ``progress(step, done,
    total)`` is called as the work goes on."""
    report = ImportReport(skip_invalid=skip_invalid)
    tick = progress or (lambda step, done, total: None)
    try:
        plan = _Plan(db, measures, episodes, actions, report, tick)
    except _Refused:
        report.readable = False
        return report
    finally:
        _sort(report.problems)
    if report.problems and not skip_invalid:
        report.skipped = {}
        return report
    plan.write()
    _sort(report.problems)
    if report.problems and not skip_invalid:  # found while recording the actions
        db.rollback()
        report.stored, report.skipped = False, {}
        report.imported = {}
        report.safety_alerts = {"opened": 0, "open": 0}
        report.refreshed_clients = 0
    return report


def _sort(problems: list[Problem]) -> None:
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


def _digest(*parts: object) -> str:
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
                    raise _Refused(table) from exc
                position = int(found[1]) - 1
                named.add(position)
                row = int(frame["_row"].iat[position])
                report.problems.append(Problem(table, row, found[2], _plain(problem.value), problem.expected))
            frame = frame.drop(index=frame.index[sorted(named)]).reset_index(drop=True)
    report.problems.append(
        Problem(table, None, "rows", len(frame), f"fewer than {MAX_ROUNDS} rounds of problems to list")
    )
    raise _Refused(table)


class _Plan:
    """The checked tables, what is new, what is already stored, and then the writing."""

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
            _digest("episode", c, x) for c, x in zip(e["client_id"], e[EPISODE_ID], strict=True)
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

    def _courses(self) -> None:
        """Each measures row's episode (row number in the episodes table), by the rules of
        :mod:`attunement.tables.courses`; rows that have none are problems. The rows of a refused
        client are left out as they are (counted as skipped), not reported one by one."""
        e, m = self.episodes, self.measures
        self.bad_measures |= m["client_id"].isin(self.refused_clients).to_numpy()
        named_ep = e[e[EPISODE_ID].notna()]
        by_key = pd.Series(
            named_ep.index.to_numpy(), index=named_ep["client_id"] + _SEP + named_ep[EPISODE_ID]
        )
        count = e.groupby("client_id").size()
        only = pd.Series(e.index.to_numpy(), index=e["client_id"])[e["client_id"].map(count).to_numpy() == 1]
        episode_of = m[EPISODE_ID] if EPISODE_ID in m.columns else pd.Series([None] * len(m), index=m.index)
        named = episode_of.notna().to_numpy()
        course = np.full(len(m), -1, dtype=np.int64)
        if named.any():
            keys = m["client_id"][named] + _SEP + episode_of[named].astype(str)
            course[named] = keys.map(by_key).fillna(-1).astype(np.int64).to_numpy()
        if (~named).any():
            course[~named] = m["client_id"][~named].map(only).fillna(-1).astype(np.int64).to_numpy()
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
        for index, row in _rows(e):
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
        answers are stored and the alerts brought up to date (:meth:`_record_actions`)."""
        a, e = self.actions, self.episodes
        for column in (EPISODE_ID, "date"):
            if column not in a.columns:
                a[column] = None
        self.bad_actions = a["client_id"].isin(self.refused_clients).to_numpy(dtype=bool, copy=True)
        named_ep = e[e[EPISODE_ID].notna()]
        by_key = pd.Series(
            named_ep.index.to_numpy(), index=named_ep["client_id"] + _SEP + named_ep[EPISODE_ID]
        )
        count = e.groupby("client_id").size()
        only = pd.Series(e.index.to_numpy(), index=e["client_id"])[e["client_id"].map(count).to_numpy() == 1]
        named = a[EPISODE_ID].notna().to_numpy()
        course = np.full(len(a), -1, dtype=np.int64)
        if named.any():
            keys = a["client_id"][named] + _SEP + a[EPISODE_ID][named].astype(str)
            course[named] = keys.map(by_key).fillna(-1).astype(np.int64).to_numpy()
        if (~named).any():
            course[~named] = a["client_id"][~named].map(only).fillna(-1).astype(np.int64).to_numpy()
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
            _digest("action", c, x, k, s, t, d)
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
        e["_client_key"] = [_digest("client", c) for c in e["client_id"]]
        e["_fingerprint"] = [
            _digest(t, r, s, x)
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
            _digest("form", c, x, s, r)
            for c, x, s, r in zip(
                forms["client"], forms["episode"], forms["session"], forms["rater"], strict=True
            )
        ]
        forms["fingerprint"] = [
            _digest(d, f"{int(h):016x}", n)
            for d, h, n in zip(forms["date"], sums, forms["rows"], strict=True)
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
        for form, row in _rows(forms[on_stored]):
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

    # -- writing -------------------------------------------------------------------------------

    def write(self) -> None:
        """Store the new clients, episodes, form sets and answers, then refresh every client that
        received any, as the app does after answers arrive; then record the new actions on the
        alerts that are now kept."""
        moment = now()
        self.report.imported = {"clients": 0, "episodes": 0, "forms": 0, "measures": 0, "actions": 0}
        self.alert_mark = self.db.scalar(select(func.max(KeptAlert.id))) or 0
        self.touched: set[int] = set()
        if len(self.new_episodes) or len(self.to_write):
            self._write_history(moment)
        self._record_actions(moment)

    def _write_history(self, moment: datetime) -> None:
        db, e, report = self.db, self.new_episodes, self.report
        # Clients new to the app, in the caseload of their latest episode's therapist.
        new_clients = [
            c
            for c in dict.fromkeys(e.sort_values(["_start", "_row"])["client_id"])
            if c not in self.client_ids
        ]
        last = e.sort_values(["_start", "_row"]).groupby("client_id").last()
        rows = [
            {
                "public_id": new_public_id(),
                "label": c,
                "therapist_id": self.clinicians[last.at[c, "therapist_id"]].id,
                "client_group": str(last.at[c, "client_group"] or GROUP_DEFAULT)[:40]
                if pd.notna(last.at[c, "client_group"])
                else GROUP_DEFAULT,
                "created_at": moment,
                "data_version": 1,
            }
            for c in new_clients
        ]
        ids = self._inserted(Client, rows)
        self.client_ids.update(zip(new_clients, ids, strict=True))
        self._sources_for(
            [
                {"client_id": i, "kind": "client", "key": _digest("client", c), "fingerprint": _digest(c)}
                for c, i in zip(new_clients, ids, strict=True)
            ],
            moment,
        )
        touched = {self.client_ids[c] for c in set(e["client_id"]) | set(self.to_write["client_id"])}
        self.touched = touched
        existing = sorted(touched - set(ids))
        for start in range(0, len(existing), 5000):
            db.execute(
                update(Client)
                .where(Client.id.in_(existing[start : start + 5000]))
                .values(data_version=Client.data_version + 1)
                .execution_options(synchronize_session=False)
            )
        report.imported["clients"] = len(ids)
        # Episodes, numbered after what the client has, one after another by start date.
        ordered = e.sort_values(["_start", "_row"])
        base = {
            client: (self.latest_stored[i].number if i in self.latest_stored else 0)
            for client, i in self.client_ids.items()
        }
        numbers = ordered.groupby("client_id", sort=False).cumcount() + 1 + ordered["client_id"].map(base)
        number_of = numbers.astype(int).to_dict()
        episode_rows = [
            {
                "client_id": self.client_ids[row["client_id"]],
                "number": number_of[index],
                "therapist_id": self.clinicians[row["therapist_id"]].id,
                "status": "active" if row["end_reason"] == ONGOING else "ended",
                "started_on": row["_start"],
                "end_reason": None if row["end_reason"] == ONGOING else row["end_reason"],
                "ended_on": None if row["end_reason"] == ONGOING else row["_end"],
                "created_at": moment,
            }
            for index, row in zip(ordered.index, ordered.to_dict("records"), strict=True)
        ]
        episode_ids = self._inserted(Episode, episode_rows)
        self.episodes.loc[ordered.index, "_stored_episode"] = episode_ids
        events = []
        for row, episode_id in zip(episode_rows, episode_ids, strict=True):
            events.append(self._event(episode_id, "opened", None, row["started_on"], moment))
            if row["status"] == "ended":
                events.append(self._event(episode_id, "ended", row["end_reason"], row["ended_on"], moment))
        self._bulk(EpisodeEvent, events)
        self._sources_for(
            [
                {
                    "client_id": row["client_id"],
                    "episode_id": episode_id,
                    "kind": "episode",
                    "key": key,
                    "fingerprint": fingerprint,
                }
                for row, episode_id, key, fingerprint in zip(
                    episode_rows, episode_ids, ordered["episode_key"], ordered["_fingerprint"], strict=True
                )
            ],
            moment,
        )
        report.imported["episodes"] = len(episode_ids)
        self._write_forms(moment)
        self._refresh(sorted(touched))

    def _write_forms(self, moment: datetime) -> None:
        forms, e = self.new_forms, self.episodes
        episode_id = forms["_course"].map(e["_stored_episode"]).astype(int)
        client_id = forms["client"].map(self.client_ids).astype(int)
        answered_at = {d: self._answered_at(d, moment) for d in set(forms["date"])}
        rows = [
            {
                "client_id": c,
                "episode_id": x,
                "session": int(s),
                "rater": r,
                "submitted_at": answered_at[d],
            }
            for c, x, s, r, d in zip(
                client_id, episode_id, forms["session"], forms["rater"], forms["date"], strict=True
            )
        ]
        submission_ids = self._inserted(Submission, rows)
        submission_of = pd.Series(submission_ids, index=forms.index)
        self._sources_for(
            [
                {
                    "client_id": c,
                    "episode_id": x,
                    "submission_id": i,
                    "kind": "form",
                    "key": k,
                    "fingerprint": f,
                }
                for c, x, i, k, f in zip(
                    client_id, episode_id, submission_ids, forms["key"], forms["fingerprint"], strict=True
                )
            ],
            moment,
        )
        # A session row for every session answered, dated by its first answers.
        sessions = (
            pd.DataFrame(
                {
                    "episode_id": episode_id.to_numpy(),
                    "number": forms["session"].to_numpy(),
                    "on": forms["date"].to_numpy(),
                }
            )
            .groupby(["episode_id", "number"], as_index=False)["on"]
            .min()
        )
        held = self._held_sessions(sorted(set(sessions["episode_id"].astype(int))))
        self._bulk(
            TherapySession,
            [
                {"episode_id": int(x), "number": int(n), "planned_on": on, "created_at": moment}
                for x, n, on in sessions.itertuples(index=False)
                if (int(x), int(n)) not in held
            ],
        )
        w = self.to_write
        total = len(w)
        columns = {
            "client_id": w["client_id"].map(self.client_ids).astype(int).to_numpy(),
            "episode_id": w["_form"].map(forms["_course"]).map(e["_stored_episode"]).astype(int).to_numpy(),
            "submission_id": w["_form"].map(submission_of).astype(int).to_numpy(),
            "session": w["session"].astype(int).to_numpy(),
            "instrument": w["instrument"].to_numpy(),
            "rater": w["rater"].to_numpy(),
            "item": w["item"].to_numpy(),
            "value": w["value"].to_numpy(dtype=float),
            "score": w["score"].to_numpy(dtype=float),
            "recorded_at": w["date"].map(answered_at).to_numpy(),
        }
        table = Base.metadata.tables["measures"]
        names = list(columns)
        self.tick("storing", 0, total)
        for start in range(0, total, WRITE_BATCH):
            chunk = [
                dict(zip(names, values, strict=True))
                for values in zip(*(columns[n][start : start + WRITE_BATCH] for n in names), strict=True)
            ]
            for row in chunk:
                for name in ("value", "score"):
                    if row[name] != row[name]:  # NaN: an empty cell
                        row[name] = None
                    else:
                        row[name] = float(row[name])
                row["client_id"], row["episode_id"] = int(row["client_id"]), int(row["episode_id"])
                row["submission_id"], row["session"] = int(row["submission_id"]), int(row["session"])
            self.db.execute(insert(table), chunk)
            self.tick("storing", min(start + WRITE_BATCH, total), total)
        self.report.imported["forms"] = len(submission_ids)
        self.report.imported["measures"] = total

    def _held_sessions(self, episode_ids: Sequence[int]) -> set[tuple[int, int]]:
        out: set[tuple[int, int]] = set()
        for start in range(0, len(episode_ids), 5000):
            chunk = episode_ids[start : start + 5000]
            out.update(
                (int(a), int(b))
                for a, b in self.db.execute(
                    select(TherapySession.episode_id, TherapySession.number).where(
                        TherapySession.episode_id.in_(chunk)
                    )
                )
            )
        return out

    def _refresh(self, client_ids: Sequence[int], count: int | None = None) -> None:
        """Every client that received anything, through the app's own summary refresh
        (``count``: the clients refreshed in all, when some were refreshed before)."""
        from attunement.store.summary_store import refresh

        total = len(client_ids)
        self.tick("refreshing", 0, total)
        for start in range(0, total, REFRESH_BATCH):
            chunk = client_ids[start : start + REFRESH_BATCH]
            refresh(self.db, list(self.db.scalars(select(Client).where(Client.id.in_(chunk)))))
            self.db.expunge_all()  # a million answers' worth of objects need not stay in memory
            self.tick("refreshing", min(start + REFRESH_BATCH, total), total)
        self.report.refreshed_clients = total if count is None else count
        self.report.stored = True

    def _record_actions(self, moment: datetime) -> None:
        """Record each new action on its alert, as a clinician records one in the app
        (:func:`attunement.store.kept_alerts.record_on_alerts`), then bring those clients up to
        date as the app does after a record. The alert is the live one of the action's kind in the
        client's latest episode that was open at the action's session (opened at it or before,
        still current at it); a safety alert whose risk answers go on after that session is not
        closed by it. The notices of safety alerts this import opened and closed with their
        action are not kept: nothing is left to tell anyone. Then the report counts the safety
        alerts this import opened and those still open."""
        from attunement.store.kept_alerts import kept_alerts, record_on_alerts

        db, a, e, report = self.db, self.actions, self.episodes, self.report
        new = a[~self.bad_actions & ~a["_already"].to_numpy()].sort_values(["client_id", "session", "_row"])
        client_of = {c: self.client_ids[c] for c in set(new["client_id"])}
        latest = self._latest_stored(sorted(client_of.values()))
        episode_ids = sorted({x.id for x in latest.values()})
        kept: dict[int, list[KeptAlert]] = {}
        for start in range(0, len(episode_ids), 5000):
            kept.update(kept_alerts(db, episode_ids[start : start + 5000]))
        sources, recorded = [], set()
        self.tick("recording actions", 0, len(new))
        for done, (_, row) in enumerate(_rows(new), start=1):
            self.tick("recording actions", done, len(new))
            client_id, session, kind = client_of[row["client_id"]], int(row["session"]), row["kind"]
            episode = latest[client_id]
            stored_episode = e.at[int(row["_course"]), "_stored_episode"]
            alerts = [k for k in kept.get(episode.id, []) if k.kind == kind and k.status in LIVE]
            spanning = [k for k in alerts if k.opened_session <= session <= k.last_session]
            expected = None
            if pd.isna(stored_episode) or int(stored_episode) != episode.id:
                expected = (
                    "an alert of this kind opened at this session: none opened (the import keeps "
                    "alerts for a client's latest episode only)"
                )
            elif not spanning:
                held = ", ".join(f"{k.opened_session} to {k.last_session}" for k in alerts)
                expected = "an alert of this kind opened at this session: none opened" + (
                    f" (this episode's {kind} alert is for sessions {held})" if held else ""
                )
            elif kind in NEEDS_ACTION and session < spanning[-1].last_session:
                alert = spanning[-1]
                expected = (
                    f"session {alert.last_session}: the {kind} alert opened at session "
                    f"{alert.opened_session} also holds the risk answers of session {alert.last_session}, "
                    "which an action recorded for an earlier session cannot have dealt with"
                )
            if expected is not None:
                report.problems.append(Problem("actions", int(row["_row"]), "session", session, expected))
                continue
            alert = spanning[-1]
            when = self._answered_at(row["date"], moment) if pd.notna(row["date"]) else moment
            record_on_alerts(db, episode, None, [alert.id], "record", action=str(row["action"]), at=when)
            recorded.add(client_id)
            sources.append(
                {
                    "client_id": client_id,
                    "episode_id": episode.id,
                    "kind": "action",
                    "key": row["key"],
                    "fingerprint": _digest(kind, session, row["action"], row["date"]),
                }
            )
        self._sources_for(sources, moment)
        report.imported["actions"] = len(sources)
        already = int((~self.bad_actions & a["_already"].to_numpy()).sum())
        report.already_imported["actions"] = already
        report.skipped["actions"] = self.action_rows - len(sources) - already
        opened = self._opened_safety(self.touched | recorded)
        closed = [i for i, status in opened if status not in WAITING]
        for start in range(0, len(closed), 5000):
            db.execute(delete(Notification).where(Notification.alert_id.in_(closed[start : start + 5000])))
        report.safety_alerts = {
            "opened": len(opened),
            "open": sum(1 for _, status in opened if status in WAITING),
        }
        if recorded:
            self._refresh(sorted(recorded), count=len(self.touched | recorded))

    def _opened_safety(self, client_ids: set[int]) -> list[tuple[int, str]]:
        """(id, status) of the safety alerts this import opened for these clients."""
        return [
            (int(i), str(status))
            for i, client_id, status in self.db.execute(
                select(KeptAlert.id, KeptAlert.client_id, KeptAlert.status).where(
                    KeptAlert.id > self.alert_mark, KeptAlert.kind.in_(NEEDS_ACTION)
                )
            )
            if client_id in client_ids
        ]

    def _answered_at(self, day: date, moment: datetime) -> datetime:
        """Noon of the day in the clinic's time zone (never after now)."""
        return min(datetime.combine(day, ANSWERED_AT, tzinfo=self.zone).astimezone(UTC), moment)

    @staticmethod
    def _event(
        episode_id: int, action: str, reason: str | None, on: date, moment: datetime
    ) -> dict[str, Any]:
        return {
            "episode_id": episode_id,
            "action": action,
            "end_reason": reason,
            "on_date": on,
            "note": "imported",
            "at": moment,
            "by_user": None,
        }

    def _inserted(self, model: Any, rows: list[dict[str, Any]]) -> list[int]:
        """Insert rows in bulk and return their new ids, in order."""
        ids: list[int] = []
        for start in range(0, len(rows), WRITE_BATCH):
            result = self.db.execute(
                insert(model).returning(model.id, sort_by_parameter_order=True),
                rows[start : start + WRITE_BATCH],
            )
            ids += [int(i) for i in result.scalars()]
        return ids

    def _bulk(self, model: Any, rows: list[dict[str, Any]]) -> None:
        for start in range(0, len(rows), WRITE_BATCH):
            self.db.execute(insert(model.__table__), rows[start : start + WRITE_BATCH])

    def _sources_for(self, rows: list[dict[str, Any]], moment: datetime) -> None:
        for row in rows:
            row.setdefault("episode_id", None)
            row.setdefault("submission_id", None)
            row["imported_at"] = moment
        self._bulk(ImportSource, rows)


def _by_client(frame: pd.DataFrame) -> dict[str, list[tuple[Any, dict[str, Any]]]]:
    """Each client's rows of ``frame``, in its order, as :func:`_rows` gives them."""
    out: dict[str, list[tuple[Any, dict[str, Any]]]] = {}
    for index, row in _rows(frame):
        out.setdefault(row["client_id"], []).append((index, row))
    return out


def _rows(frame: pd.DataFrame):
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

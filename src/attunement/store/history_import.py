"""Importing a service's history (``attunement import-history``): the canonical ``measures`` and
``episodes`` tables, stored as the app's own clients, episodes and answers, and optionally the
``actions`` table, recorded on the alerts those answers open. This module is the entry point and
the writing: every row is checked first (:mod:`attunement.store.history_checks`, which also says
what is refused and what counts as already imported), and only what passed is written here.

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

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from attunement.alerts.alert import NEEDS_ACTION
from attunement.alerts.lifecycle import LIVE, WAITING
from attunement.store.clients import GROUP_DEFAULT, new_public_id
from attunement.store.clock import now
from attunement.store.history_checks import (
    MAX_LABEL,
    MAX_ROUNDS,
    TABLES,
    HistoryPlan,
    ImportReport,
    Problem,
    Progress,
    Unreadable,
    digest,
    frame_rows,
    sort_problems,
)
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
)
from attunement.tables.schema import ONGOING

__all__ = [
    "ANSWERED_AT",
    "MAX_LABEL",
    "MAX_ROUNDS",
    "REFRESH_BATCH",
    "TABLES",
    "WRITE_BATCH",
    "ImportReport",
    "Problem",
    "Progress",
    "import_history",
]

#: Clients whose summaries are refreshed together, and rows written per statement.
REFRESH_BATCH = 200
WRITE_BATCH = 50_000
#: A form set's time of day when only its date is known (in the clinic's time zone).
ANSWERED_AT = time(12, 0)


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
        plan = _Import(db, measures, episodes, actions, report, tick)
    except Unreadable:
        report.readable = False
        return report
    finally:
        sort_problems(report.problems)
    if report.problems and not skip_invalid:
        report.skipped = {}
        return report
    plan.write()
    sort_problems(report.problems)
    if report.problems and not skip_invalid:  # found while recording the actions
        db.rollback()
        report.stored, report.skipped = False, {}
        report.imported = {}
        report.safety_alerts = {"opened": 0, "open": 0}
        report.refreshed_clients = 0
    return report


class _Import(HistoryPlan):
    """The checked plan (:class:`~attunement.store.history_checks.HistoryPlan`) and then the
    writing of what passed."""

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
                {"client_id": i, "kind": "client", "key": digest("client", c), "fingerprint": digest(c)}
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
        for done, (_, row) in enumerate(frame_rows(new), start=1):
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
                    "fingerprint": digest(kind, session, row["action"], row["date"]),
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
        """An imported episode's step as a row for a bulk insert (the app's
        :func:`~attunement.store.episodes.episode_event` adds one object per call, by a user and
        at the current moment, where these steps have no user and the import's moment)."""
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

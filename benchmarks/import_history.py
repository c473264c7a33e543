"""Importing a service's history: rows per second and peak memory of ``attunement import-history``'s
work on a simulated cohort of about a million measures rows, into a fresh SQLite database.

    python benchmarks/import_history.py                 # about 1,000,000 measures rows
    python benchmarks/import_history.py --rows 100000   # a smaller cohort
    python benchmarks/import_history.py --rows 100000 --actions   # and an actions table

The cohort comes from the project's simulator (:func:`attunement.simulation.simulate`, PHQ-9 item
rows, GAD-7 and check-in scores, therapists' check-ins); a few thousand simulated clients are
repeated under new client ids until the cohort has the rows asked for. Each course is dated back
from today, one session a week; about a fifth are kept ongoing (the rest ended as simulated).
The tables are written as Parquet and imported from the files, as the command does; the clinic
has the simulated therapists as its clinicians. Peak memory is the process's maximum resident set
size (``ru_maxrss``), which includes the simulation and the tables.

With ``--actions`` the cohort also has an actions table: one safety action, dated at the end of
the course, for every safety alert the first import opened in an ended course (as a service
that dealt with each at the time would have recorded it). The three tables are then imported
into a second fresh database in one go, and again.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from attunement.simulation import simulate

#: Simulated clients at most (the rest are copies under new ids), and the share kept ongoing.
SIMULATED = 2000
ONGOING_SHARE = 0.2


def cohort(rows: int, seed: int, today: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Measures and episodes tables of about ``rows`` measures rows, dated up to ``today``."""
    clinic = simulate(SIMULATED, seed)
    per_client = len(clinic.measures) / SIMULATED
    wanted = max(1, round(rows / per_client))
    simulated = min(wanted, SIMULATED)
    measures = clinic.measures[clinic.measures["client_id"].isin(clinic.episodes["client_id"][:simulated])]
    episodes = clinic.episodes.iloc[:simulated]
    rng = np.random.default_rng(seed)
    copies_m, copies_e = [], []
    for copy in range(-(-wanted // simulated)):
        e = episodes.copy()
        m = measures.copy()
        e["client_id"] = e["client_id"] + f"-{copy}"
        m["client_id"] = m["client_id"] + f"-{copy}"
        copies_e.append(e)
        copies_m.append(m)
    episodes = pd.concat(copies_e, ignore_index=True).iloc[:wanted]
    measures = pd.concat(copies_m, ignore_index=True)
    measures = measures[measures["client_id"].isin(set(episodes["client_id"]))].reset_index(drop=True)
    last = measures.groupby("client_id")["session"].max()
    ongoing = rng.random(len(episodes)) < ONGOING_SHARE
    # Ended courses finished 1 to 100 weeks ago, ongoing ones had their last session this week.
    weeks_ago = np.where(ongoing, 0, rng.integers(1, 100, len(episodes)))
    sessions = episodes["client_id"].map(last).fillna(1).astype(int).to_numpy()
    start = [
        today - timedelta(weeks=int(w + s - 1), days=int(d))
        for w, s, d in zip(weeks_ago, sessions, rng.integers(0, 7, len(episodes)), strict=True)
    ]
    episodes = episodes.assign(
        end_reason=np.where(ongoing, "ongoing", episodes["end_reason"]),
        start_date=start,
        end_date=[
            None if o else s + timedelta(weeks=int(n - 1))
            for o, s, n in zip(ongoing, start, sessions, strict=True)
        ],
    )
    first = pd.Series(start, index=episodes["client_id"])
    measures["date"] = [
        d + timedelta(weeks=int(s - 1))
        for d, s in zip(measures["client_id"].map(first), measures["session"], strict=True)
    ]
    return measures, episodes


def clinicians(url: str, usernames: list[str]) -> None:
    from attunement.store import open_database
    from attunement.store.accounts import create_team
    from attunement.store.clock import now
    from attunement.store.models import User

    db = open_database(url)
    with db.session() as session:
        team = create_team(session, "Benchmark team")
        session.add_all(
            User(
                username=name,
                display_name=name,
                password_hash="-",  # never signs in
                role="clinician",
                team_id=team.id,
                active=True,
                session_epoch=0,
                created_at=now(),
            )
            for name in usernames
        )
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="measures rows (about)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", type=Path, default=None, help="a folder to keep the tables and database in")
    parser.add_argument("--actions", action="store_true", help="then import with an actions table too")
    args = parser.parse_args()
    os.environ.setdefault("ATTUNEMENT_SECRET_KEY", "benchmark-only-" + "k" * 40)
    from attunement.store import open_database
    from attunement.store.history_import import import_history
    from attunement.tables.files import read_table

    folder = args.keep or Path(tempfile.mkdtemp(prefix="import-history-"))
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    measures, episodes = cohort(args.rows, args.seed, date.today())
    measures.to_parquet(folder / "measures.parquet", index=False)
    episodes.to_parquet(folder / "episodes.parquet", index=False)
    print(
        f"cohort: {len(measures):,} measures rows, {len(episodes):,} episodes "
        f"({time.perf_counter() - started:.1f} s)"
    )
    url = f"sqlite:///{folder / 'benchmark.db'}"
    if (folder / "benchmark.db").exists():
        (folder / "benchmark.db").unlink()
    clinicians(url, sorted(set(episodes["therapist_id"])))

    db = open_database(url)
    wall, cpu = time.perf_counter(), time.process_time()
    steps: dict[str, float] = {}

    def tick(step: str, done: int, total: int) -> None:
        steps.setdefault(step, time.perf_counter() - wall)

    with db.session() as session:
        report = import_history(
            session,
            read_table(folder / "measures.parquet"),
            read_table(folder / "episodes.parquet"),
            progress=tick,
        )
    seconds, cpu_seconds = time.perf_counter() - wall, time.process_time() - cpu
    if report.problems:
        raise SystemExit(f"the cohort has problems: {report.problems[:5]}")
    rows = report.imported["measures"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    print(f"imported: {report.imported}")
    print("steps started at (s): " + ", ".join(f"{k} {v:.1f}" for k, v in steps.items()))
    print(f"rows: {rows:,}")
    print(f"seconds: {seconds:.1f} (CPU {cpu_seconds:.1f})")
    print(f"rows/second: {rows / seconds:,.0f}")
    print(f"peak memory: {peak:,.0f} MB")
    wall = time.perf_counter()
    with db.session() as session:
        again = import_history(
            session, read_table(folder / "measures.parquet"), read_table(folder / "episodes.parquet")
        )
    print(
        f"re-import: already imported {again.already_imported}, imported {again.imported} "
        f"({time.perf_counter() - wall:.1f} s)"
    )
    print(f"safety alerts: {report.safety_alerts}")
    if args.actions:
        with db.session() as session:
            ended_safety_actions(session).to_parquet(folder / "actions.parquet", index=False)
    db.dispose()
    if args.actions:
        with_actions(folder, sorted(set(episodes["therapist_id"])))


def ended_safety_actions(session) -> pd.DataFrame:
    """An action for each open safety alert of an ended episode: what was done at the time."""
    from sqlalchemy import select

    from attunement.store.models import Client, Episode, KeptAlert

    rows = session.execute(
        select(Client.label, KeptAlert.last_session, Episode.ended_on)
        .join(Client, Client.id == KeptAlert.client_id)
        .join(Episode, Episode.id == KeptAlert.episode_id)
        .where(KeptAlert.kind == "safety", KeptAlert.status == "open", Episode.status == "ended")
    ).all()
    return pd.DataFrame(
        [(c, "safety", s, "Safety plan reviewed with the client at the session", d) for c, s, d in rows],
        columns=["client_id", "kind", "session", "action", "date"],
    )


def with_actions(folder: Path, therapists: list[str]) -> None:
    """The three tables into a fresh database in one go, then again."""
    from attunement.store import open_database
    from attunement.store.history_import import import_history
    from attunement.tables.files import read_table

    url = f"sqlite:///{folder / 'with-actions.db'}"
    if (folder / "with-actions.db").exists():
        (folder / "with-actions.db").unlink()
    clinicians(url, therapists)
    db = open_database(url)
    tables = ("measures", "episodes", "actions")
    for run in ("with actions", "again"):
        wall = time.perf_counter()
        with db.session() as session:
            report = import_history(session, *(read_table(folder / f"{t}.parquet") for t in tables))
        if report.problems:
            raise SystemExit(f"the actions have problems: {report.problems[:5]}")
        print(
            f"{run}: imported {report.imported}, already imported {report.already_imported}, "
            f"safety alerts {report.safety_alerts} ({time.perf_counter() - wall:.1f} s)"
        )
    with db.session() as session:
        from sqlalchemy import func, select

        from attunement.store.models import Notification

        print(f"notices: {session.scalar(select(func.count(Notification.id)))}")
    db.dispose()


if __name__ == "__main__":
    main()

"""How many alerts a clinician has to read: the demo clinic, and a simulated clinic run week by week
through the web app's own path (answers stored, the client's kept alerts brought up to date,
episodes ended when their course ends).

Prints, for each clinic: the share of active episodes with an open alert other than safety
(at the end, and the mean and highest over the weeks), open alerts per flagged client, support
steps shown per flagged client, and, for the simulated clinic, how many of the clients whose
course ended in reliable deterioration had a "not on track" alert before their last session
(and how many of the others had one). Nobody records anything in this run, so an alert stays
open until its condition clears: the burden is an upper bound of what a clinic that acts sees.

    .venv/bin/python benchmarks/alert_burden.py --clients 1000 --seed 11 [--json]

Target (issue "alerts a clinician can trust"): at most 25% of active episodes with an open
non-safety alert at any time, while keeping the deterioration sensitivity.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from rich.progress import Progress

from attunement.prediction.histories import histories_from_tables
from attunement.prediction.outcomes import labels_from_tables
from attunement.simulation import simulate
from attunement.store import open_database
from attunement.store.accounts import create_team, create_user
from attunement.store.clients import create_client, visible_clients
from attunement.store.demo import seed_demo
from attunement.store.episodes import current_episode, end_episode
from attunement.store.models import KeptAlert, Submission, TherapySession, User
from attunement.store.submissions import store_table_rows
from attunement.store.summary_store import refresh, summaries_for
from attunement.web.client_view import merged_support

CLINICIANS = 10


def burden(summaries) -> dict:
    """Burden figures over the summaries of the clients with an active episode."""
    flagged = [s for s in summaries if any(a.open and a.alert.kind != "safety" for a in s.alerts)]
    opened = [s for s in summaries if s.open_alerts]
    by_kind = defaultdict(int)
    for s in summaries:
        for kind in {a.alert.kind for a in s.alerts if a.open}:
            by_kind[kind] += 1
    return {
        "active_episodes": len(summaries),
        "share_with_open_alert_by_kind": {k: round(n / len(summaries), 3) for k, n in sorted(by_kind.items())}
        if summaries
        else {},
        "with_open_non_safety_alert": len(flagged),
        "share_with_open_non_safety_alert": round(len(flagged) / len(summaries), 3) if summaries else None,
        "open_alerts_per_flagged_client": round(statistics.mean(len(s.open_alerts) for s in opened), 2)
        if opened
        else None,
        "support_steps_per_flagged_client": round(
            statistics.mean(len(merged_support([a for a in s.alerts if a.open])) for s in opened), 1
        )
        if opened
        else None,
    }


def demo_clinic(folder: Path) -> dict:
    db = open_database(f"sqlite:///{folder / 'demo.db'}")
    try:
        with db.session() as session:
            seed_demo(session)
            session.flush()
            users = list(session.query(User).filter(User.role == "clinician"))
            clients = [c for u in users for c in visible_clients(session, u)]
            summaries = refresh(session, clients)
            active = [summaries[c.id] for c in clients if current_episode(session, c.id).active]
            return burden(active)
    finally:
        db.dispose()


def simulated_clinic(folder: Path, clients: int, seed: int) -> dict:
    clinic = simulate(clients, seed)
    rng = np.random.default_rng(seed)
    courses = clinic.episodes.reset_index(drop=True)
    start = rng.integers(0, 20, size=len(courses))
    rows = dict(tuple(clinic.measures.groupby("client_id")))
    db = open_database(f"sqlite:///{folder / 'simulated.db'}")
    weeks: list[dict] = []
    not_on_track_before_last: dict[str, bool] = {}
    try:
        with db.session() as session:
            team = create_team(session, "Simulated")
            clinicians = [
                create_user(session, f"c{i}", "password-long-enough", "clinician", team_id=team.id)
                for i in range(CLINICIANS)
            ]
            made = {}
            for index, course in courses.iterrows():
                client = create_client(session, clinicians[index % CLINICIANS], str(course["client_id"]))
                made[str(course["client_id"])] = client
        last_week = int((start + courses["sessions_attended"].to_numpy()).max())
        moment = datetime(2026, 1, 5, 9, tzinfo=UTC)
        with Progress() as progress:
            task = progress.add_task("weeks", total=last_week)
            for week in range(1, last_week + 1):
                with db.session() as session:
                    for index, course in courses.iterrows():
                        number = week - int(start[index])
                        attended = int(course["sessions_attended"])
                        if not 1 <= number <= attended:
                            continue
                        key = str(course["client_id"])
                        client = made[key]
                        episode = current_episode(session, client.id)
                        part = rows[key][rows[key]["session"] == number] if key in rows else None
                        _store_session(session, client, episode, number, part, moment)
                        summary = refresh(session, [client])[client.id]
                        if number < attended and any(a.alert.kind == "not_on_track" for a in summary.alerts):
                            not_on_track_before_last[key] = True
                        if number == attended:
                            reason = "dropout" if course["end_reason"] == "dropout" else "completed"
                            end_episode(
                                session, episode, session.get(User, client.therapist_id), reason, None
                            )
                            refresh(session, [client])
                    active = [c for c in made.values() if current_episode(session, c.id).active]
                    started = [
                        c for c in active if session.query(Submission).filter_by(client_id=c.id).first()
                    ]
                    summaries = summaries_for(session, started)
                    weeks.append(burden([summaries[c.id] for c in started]))
                moment += timedelta(days=7)
                progress.advance(task)
        shares = [w["share_with_open_non_safety_alert"] for w in weeks if w["active_episodes"] >= 50]
        with db.session() as session:
            kept = session.query(KeptAlert).count()
        return {
            "clients": clients,
            "seed": seed,
            "weeks": len(weeks),
            "kept_alerts": kept,
            "at_the_busiest_week": max(weeks, key=lambda w: w["active_episodes"]),
            "share_with_open_non_safety_alert_mean": round(statistics.mean(shares), 3) if shares else None,
            "share_with_open_non_safety_alert_highest": max(shares) if shares else None,
            **_sensitivity(clinic, not_on_track_before_last),
        }
    finally:
        db.dispose()


def _store_session(session, client, episode, number, part, moment) -> None:
    session.add(
        TherapySession(
            episode_id=episode.id, number=number, planned_on=moment.date(), created_at=moment, created_by=None
        )
    )
    if part is None or part.empty:
        return
    for rater, answers in part.groupby("rater"):
        store_table_rows(session, episode, number, str(rater), answers, moment)
    session.flush()


def _sensitivity(clinic, flagged: dict[str, bool]) -> dict:
    histories = histories_from_tables(clinic.measures, clinic.episodes)
    labels = labels_from_tables(histories, clinic.episodes, clinic.truth)
    keys = [str(k) for k in histories.client_id]
    hit = np.array([flagged.get(k, False) for k in keys])
    deteriorated = labels.deterioration
    return {
        "deteriorated": int(deteriorated.sum()),
        "deteriorated_with_not_on_track_before_last_session": round(float(hit[deteriorated].mean()), 3)
        if deteriorated.any()
        else None,
        "others_with_not_on_track_before_last_session": round(float(hit[~deteriorated].mean()), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        result = {
            "demo_clinic": demo_clinic(Path(folder)),
            "simulated_clinic": simulated_clinic(Path(folder), args.clients, args.seed),
            "target_share": 0.25,
        }
    result["seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return
    demo, sim = result["demo_clinic"], result["simulated_clinic"]
    print("Demo clinic (now):")
    for key, value in demo.items():
        print(f"  {key}: {value}")
    print(f"Simulated clinic ({sim['clients']} clients, seed {sim['seed']}, {sim['weeks']} weeks):")
    for key, value in sim.items():
        if key not in ("clients", "seed", "weeks"):
            print(f"  {key}: {value}")
    print(f"target: at most {result['target_share']:.0%} of active episodes with an open non-safety alert")
    print(f"{result['seconds']} s")


if __name__ == "__main__":
    main()

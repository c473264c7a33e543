"""Precision and recall of the rupture rule against the simulator's true rupture episodes.

The thresholds in src/attunement/alerts/parameters.json were chosen on a reference cohort
(seed 101); this measures them on a held-out simulated cohort with a different seed:

    python benchmarks/rupture_accuracy.py --clients 20000 --seed 202

Per session (sessions 2-20): is a true rupture in progress, and does the rule alert? Per
episode: a true rupture counts as found when the rule alerts at its start session or within one
or two sessions after it; an alert episode counts as correct when it begins while a true rupture
is in progress or within two sessions of a true start. Also split by how deep the true drop was,
and for repaired against unrepaired ruptures.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from attunement.alerts.accuracy import rupture_accuracy
from attunement.alerts.rupture import rupture_course
from attunement.prediction.histories import histories_from_tables
from attunement.prediction.outcomes import labels_from_tables
from attunement.simulation import simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=202)
    args = parser.parse_args()
    sim = simulate(args.clients, args.seed)
    histories = histories_from_tables(sim.measures, sim.episodes)
    labels = labels_from_tables(histories, sim.episodes, sim.truth, sim.ruptures)
    accuracy = rupture_accuracy(histories, labels)
    out = {
        "clients": accuracy.clients,
        "seed": args.seed,
        "true_episodes": accuracy.true_episodes,
        "per_session": {
            "precision": round(accuracy.session_precision, 3),
            "recall": round(accuracy.session_recall, 3),
            "alerted_sessions": accuracy.alerted_sessions,
            "sessions_with_rupture_in_progress": accuracy.in_progress_sessions,
        },
        "per_episode": {
            "recall_at_onset": round(accuracy.episode_recall[0], 3),
            "recall_within_1_session": round(accuracy.episode_recall[1], 3),
            "recall_within_2_sessions": round(accuracy.episode_recall[2], 3),
            "precision": round(accuracy.episode_precision, 3),
            "alert_episodes": accuracy.alert_episodes,
        },
        "recall_within_1_session_by_truth": _breakdown(histories, labels, sim.ruptures),
    }
    print(json.dumps(out, indent=2))


def _breakdown(histories, labels, ruptures) -> dict[str, float]:
    """Recall within one session of onset by true depth and by repair."""
    course = rupture_course(histories.score("checkin"))
    start = labels.rupture_start
    happened = (start > 0) & (histories.sessions >= start)
    found = np.zeros(len(histories), dtype=bool)
    for offset in (0, 1):
        col = start - 1 + offset
        ok = happened & (histories.sessions > col) & (col < course.state.shape[1])
        found[ok] |= course.alerting[np.flatnonzero(ok), col[ok]]
    by_client = ruptures.drop_duplicates("client_id").set_index("client_id")
    depth = by_client["depth"].reindex(histories.client_id).to_numpy(dtype=float)
    out = {}
    for low, high in ((0, 1), (1, 2), (2, 3), (3, 99)):
        pick = happened & (depth >= low) & (depth < high)
        label = f"depth {low}-{high} points" if high < 99 else f"depth {low}+ points"
        out[label] = round(float(found[pick].mean()), 3) if pick.any() else None
    out["repaired"] = round(float(found[happened & labels.rupture_repaired].mean()), 3)
    out["unrepaired"] = round(float(found[happened & ~labels.rupture_repaired].mean()), 3)
    return out


if __name__ == "__main__":
    main()

"""The negative-process alert against the simulator's known negative-process sessions.

The thresholds in src/attunement/alerts/parameters.json (negative_process) were chosen on a
reference cohort (seed 101) and are checked on a held-out one (seed 202):

    python benchmarks/negative_process.py --clients 5000 --seed 101
    python benchmarks/negative_process.py --clients 5000 --seed 202

The truth is the simulator's ``negative_processes`` table: the attended sessions in which the
simulated therapist responded in a critical, blaming or pushing way (a simulation assumption,
parameters/default.json "negative_process", which raises that session's "judged" answer).
The alert is run session by session on ``histories.upto(s)``, so each verdict uses only the
answers known at that session. A session counts once the client's check-in "judged" answer was
recorded (the alert cannot see a missed form): precision and recall are scikit-learn's, over
those sessions; the alert rate is alerts per recorded session. ``--rises`` also prints the
figures for other rise thresholds (how rise_points was chosen).
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from sklearn.metrics import precision_score, recall_score

from attunement.alerts.negative_process import MEASURE, negative_process_alerts
from attunement.alerts.parameters import load_parameters
from attunement.prediction.histories import Histories, histories_from_tables
from attunement.simulation import simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=202)
    parser.add_argument("--sessions", type=int, default=20, help="sessions 1..this are measured")
    parser.add_argument("--rises", type=float, nargs="*", default=[], help="other rise_points to try")
    args = parser.parse_args()
    sim = simulate(args.clients, args.seed)
    h = histories_from_tables(sim.measures, sim.episodes)
    width = min(args.sessions, h.max_session)
    truth = np.zeros((len(h), width), dtype=bool)
    row_of = {key: row for row, key in enumerate(h.client_id)}
    negative = sim.negative_processes[sim.negative_processes["session"] <= width]
    truth[[row_of[c] for c in negative["client_id"]], negative["session"].to_numpy() - 1] = True
    recorded = ~np.isnan(h.score(MEASURE)[:, :width])
    attended = h.sessions[:, None] >= np.arange(1, width + 1)[None, :]
    params = load_parameters().negative_process
    out = {
        "clients": len(h),
        "seed": args.seed,
        "sessions_measured": f"1-{width}",
        "attended_sessions": int(attended.sum()),
        "recorded_sessions": int((recorded & attended).sum()),
        "negative_process_sessions": int((truth & attended).sum()),
        "negative_process_sessions_recorded": int((truth & recorded).sum()),
        "chosen": _measure(h, width, truth, recorded, params),
    }
    for rise in args.rises:
        rise_points = params.rise_points.model_copy(update={"value": rise})
        trial = params.model_copy(update={"rise_points": rise_points})
        out[f"rise_points_{rise:g}"] = _measure(h, width, truth, recorded, trial)
    print(json.dumps(out, indent=2))


def _measure(h: Histories, width: int, truth: np.ndarray, recorded: np.ndarray, params) -> dict:
    """Run the alert at every session on what was known then; score it against the truth."""
    fired = np.zeros_like(truth)
    level = np.zeros_like(truth)
    for session in range(1, width + 1):
        keep = np.flatnonzero(h.sessions >= session)
        alerts = negative_process_alerts(h.upto(session), params=params)
        fired[keep[alerts.rows], session - 1] = True
        level[keep[alerts.rows[alerts.figures["rule"] == "level"]], session - 1] = True
    y_true, y_pred = truth[recorded], fired[recorded]
    return {
        "precision": round(float(precision_score(y_true, y_pred, zero_division=0)), 3),
        "recall": round(float(recall_score(y_true, y_pred, zero_division=0)), 3),
        "alert_rate_per_recorded_session": round(float(y_pred.mean()), 4),
        "true_rate_per_recorded_session": round(float(y_true.mean()), 4),
        "alerts": int(y_pred.sum()),
        "alerts_by_level_part": int(level[recorded].sum()),
        "false_alerts_per_100_sessions_without": round(100 * float(y_pred[~y_true].mean()), 2),
    }


if __name__ == "__main__":
    main()

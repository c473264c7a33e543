"""Speed, effective sample sizes and accuracy of the oracle on a simulated held-out cohort.

    .venv/bin/python benchmarks/oracle_accuracy.py --clients 20000 --seed 2 --workers 2

Prints the running time, the effective sample size of the particle weights per session (before
resampling), the Metropolis acceptance rate, the mean posterior at session 1 against the mean of
the exact per-client probabilities (truth ``p_`` columns), and per outcome the AUC at sessions
2, 3, 4 and 6, the Brier score (and that of a constant), the expected calibration error (10
equal-width bins, client-weighted) per session and pooled, beside simple rules (PHQ-9 change since
intake, the latest check-in, the check-in drop below the client's own first score).
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np
from sklearn.metrics import roc_auc_score

from attunement.oracle import OracleMethod
from attunement.prediction.histories import histories_from_tables
from attunement.prediction.outcomes import labels_from_tables
from attunement.simulation import load_parameters, simulate

AUC_SESSIONS = (2, 3, 4, 6)


def ece(labels: np.ndarray, probability: np.ndarray, bins: int = 10) -> float:
    which = np.clip((probability * bins).astype(int), 0, bins - 1)
    predicted = np.bincount(which, weights=probability, minlength=bins)
    observed = np.bincount(which, weights=labels.astype(float), minlength=bins)
    return float(np.abs(predicted - observed).sum() / len(labels))


def auc(labels: np.ndarray, risk: np.ndarray) -> float | None:
    ok = ~np.isnan(risk)
    if labels[ok].all() or not labels[ok].any():
        return None
    return float(roc_auc_score(labels[ok], risk[ok]))


def simple_rules(h, s: int) -> dict[str, np.ndarray]:
    """Rules a clinician could apply by hand, as reference points for the AUC."""
    cut = h.upto(s)
    phq = cut.score("phq9")
    checkin = cut.score("checkin")
    change = cut.last("phq9") - phq[:, 0]
    return {
        "deterioration": change,
        "no_improvement": change,
        "dropout_next": -cut.last("checkin"),
        "rupture": checkin[:, 0] - cut.last("checkin"),
    }


def _cpu() -> float:
    """CPU seconds of this process and its finished worker processes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def monte_carlo_error(h, n: int, options: dict, horizon: int) -> dict[str, float]:
    """Mean absolute difference between two runs with different seeds, divided by sqrt(2): the
    typical Monte Carlo error of one prediction, per outcome over all clients and sessions."""
    few = h.subset(np.arange(len(h)) < n)
    oracles = [OracleMethod(load_parameters(), seed=seed, **options).fit(few, None) for seed in (101, 102)]
    runs = [oracle.posteriors(few, horizon) for oracle in oracles]
    return {
        name: round(float(np.nanmean(np.abs(runs[0].risk[name] - runs[1].risk[name])) / np.sqrt(2)), 4)
        for name in runs[0].risk
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--particles", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument(
        "--mc-clients",
        type=int,
        default=0,
        help="also run the first N clients with two other seeds and report the Monte Carlo error",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    clinic = simulate(args.clients, args.seed)
    h = histories_from_tables(clinic.measures, clinic.episodes)
    labels = labels_from_tables(h, clinic.episodes, clinic.truth, clinic.ruptures)
    truth = clinic.truth.set_index("client_id").loc[h.client_id]
    options = {"workers": args.workers}
    if args.particles:
        options["particles"] = args.particles
    oracle = OracleMethod(load_parameters(), **options).fit(h, labels)
    start, cpu = time.time(), _cpu()
    sessions = list(range(1, args.sessions + 1))
    predictions = oracle.predict_sessions(h, sessions)
    wall = time.time() - start
    cpu = _cpu() - cpu
    posteriors = oracle.last_posteriors
    out: dict = {
        "clients": args.clients,
        "seed": args.seed,
        "particles": oracle.particles,
        "workers": args.workers,
        "client_sessions": int(np.minimum(h.sessions, args.sessions).sum()),
        "seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "stats": posteriors.stats,
    }
    ess = {}
    for s in (1, 2, 3, 4, 6, 10, 15, 20):
        if s > args.sessions:
            continue
        values = posteriors.ess[h.sessions >= s, s - 1]
        if len(values):
            ess[s] = {
                q: round(float(np.percentile(values, p)), 1)
                for q, p in (("p10", 10), ("median", 50), ("p90", 90))
            }
    out["ess_before_resampling"] = ess
    out["session1_mean"] = {
        "deterioration": [
            float(predictions[1].risk["deterioration"].mean()),
            float(truth.p_reliable_deterioration.mean()),
        ],
        "no_improvement": [
            float(predictions[1].risk["no_improvement"].mean()),
            float(truth.p_no_reliable_improvement.mean()),
        ],
    }
    figures = {}
    for outcome in oracle.outcomes:
        row: dict = {"auc": {}, "rule_auc": {}, "ece": {}}
        pooled_labels, pooled_risk = [], []
        for s in sessions:
            keep = h.sessions >= s
            if not keep.any():
                continue
            y = labels.at(outcome, s)[keep]
            p = predictions[s].risk[outcome]
            pooled_labels.append(y)
            pooled_risk.append(p)
            if s in AUC_SESSIONS:
                row["auc"][s] = auc(y, p)
                row["rule_auc"][s] = auc(y, simple_rules(h, s)[outcome])
                row["ece"][s] = round(ece(y, p), 4)
        y, p = np.concatenate(pooled_labels), np.concatenate(pooled_risk)
        row["pooled_ece"] = round(ece(y, p), 4)
        row["pooled_brier"] = round(float(np.mean((p - y) ** 2)), 4)
        row["pooled_brier_constant"] = round(float(np.mean((y.mean() - y) ** 2)), 4)
        row["pooled_mean_risk"] = round(float(p.mean()), 4)
        row["pooled_rate"] = round(float(y.mean()), 4)
        figures[outcome] = row
    out["outcomes"] = figures
    if args.mc_clients:
        out["monte_carlo_error"] = monte_carlo_error(h, args.mc_clients, options, args.sessions)
    if args.json:
        print(json.dumps(out, indent=1))
        return
    for key, value in out.items():
        if key != "outcomes":
            print(f"{key}: {value}")
    for outcome, row in figures.items():
        print(outcome)
        for key, value in row.items():
            if isinstance(value, dict):
                value = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in value.items()}
            print(f"  {key}: {value}")


if __name__ == "__main__":
    main()

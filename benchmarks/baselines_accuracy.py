"""Accuracy and speed of the published baselines on a held-out simulated cohort.

Fits every registered baseline on one simulated cohort and evaluates it on another:
AUC at sessions 2, 3, 4 and 6 for deterioration and no_improvement (clients who attended the
session), and the alert rule's sensitivity and false-alarm rate, both at session 3 and over the
course (an alert at some session before the client's last one, among clients with two sessions
or more, as the evaluation harness counts it). Prints numbers; asserts nothing.

    .venv/bin/python benchmarks/baselines_accuracy.py --clients 20000 --fit-seed 1 --test-seed 2
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.metrics import roc_auc_score

from attunement.baselines import registered_baselines
from attunement.prediction.histories import histories_from_tables
from attunement.prediction.outcomes import labels_from_tables
from attunement.simulation import simulate

OUTCOMES = ("deterioration", "no_improvement")
AUC_SESSIONS = (2, 3, 4, 6)


def cohort(n: int, seed: int):
    clinic = simulate(n, seed)
    histories = histories_from_tables(clinic.measures, clinic.episodes)
    return histories, labels_from_tables(histories, clinic.episodes, clinic.truth, clinic.ruptures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20000)
    parser.add_argument("--fit-seed", type=int, default=1)
    parser.add_argument("--test-seed", type=int, default=2)
    parser.add_argument("--last-session", type=int, default=20)
    args = parser.parse_args()
    reference, reference_labels = cohort(args.clients, args.fit_seed)
    test, labels = cohort(args.clients, args.test_seed)
    sessions = list(range(1, args.last_session + 1))
    print(
        f"test cohort: {len(test)} clients; base rates "
        + ", ".join(f"{o} {labels.at(o, 3).mean():.3f}" for o in OUTCOMES)
    )
    for method in registered_baselines():
        start = time.perf_counter()
        method.fit(reference, reference_labels)
        fitted = time.perf_counter()
        predictions = method.predict_sessions(test, sessions)
        done = time.perf_counter()
        print(
            f"\n{method.name}: fit {fitted - start:.1f} s, "
            f"predict sessions 1-{sessions[-1]} {done - fitted:.1f} s"
        )
        ever = {o: np.zeros(len(test), dtype=bool) for o in OUTCOMES}
        for s in sessions:
            attended = test.sessions >= s
            before_last = test.sessions[attended] > s
            for o in OUTCOMES:
                ever[o][attended] |= predictions[s].alert[o] & before_last
        for o in OUTCOMES:
            aucs = []
            for s in AUC_SESSIONS:
                y = labels.at(o, s)[test.sessions >= s]
                aucs.append(f"s{s} {roc_auc_score(y, predictions[s].risk[o]):.3f}")
            y3 = labels.at(o, 3)[test.sessions >= 3]
            a3 = predictions[3].alert[o]
            y = labels.at(o, 1)
            course = test.sessions >= 2
            print(
                f"  {o:15s} AUC {' '.join(aucs)} | alert at s3: sens {a3[y3].mean():.3f} "
                f"false alarms {a3[~y3].mean():.3f} | course: sens {ever[o][y & course].mean():.3f} "
                f"false alarms {ever[o][~y & course].mean():.3f}"
            )
        if "rupture" in method.outcomes and labels.has_ruptures:
            for s in (3, 6):
                y = labels.at("rupture", s)[test.sessions >= s]
                p = predictions[s]
                print(
                    f"  rupture s{s}: AUC {roc_auc_score(y, p.risk['rupture']):.3f} "
                    f"sens {p.alert['rupture'][y].mean():.3f} "
                    f"false alarms {p.alert['rupture'][~y].mean():.3f}"
                )


if __name__ == "__main__":
    main()

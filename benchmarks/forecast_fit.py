"""Time fitting the forecast model: building histories, features, trees per outcome.

    python benchmarks/forecast_fit.py --clients 100000 --seed 1

Prints the wall-clock and CPU seconds of each phase and the held-out validation AUC at session 3,
as JSON. The whole fit runs through ``fit_model`` exactly as ``attunement fit`` does.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from attunement.forecast import fit_model
from attunement.prediction.histories import histories_from_tables
from attunement.prediction.outcomes import labels_from_tables
from attunement.simulation import simulate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    phases: dict[str, dict[str, float]] = {}
    marks = {"wall": time.perf_counter(), "cpu": time.process_time()}

    def lap(name: str) -> None:
        now = {"wall": time.perf_counter(), "cpu": time.process_time()}
        phases[name] = {k: round(now[k] - marks[k], 1) for k in now}
        marks.update(now)

    clinic = simulate(args.clients, seed=args.seed)
    lap("simulate")
    histories = histories_from_tables(clinic.measures, clinic.episodes)
    labels = labels_from_tables(histories, clinic.episodes)
    lap("histories")
    steps: dict[str, float] = {}
    current = {"step": "expected course", "since": time.perf_counter()}

    def progress(step: str, done: int, total: int) -> None:
        # Time since the last call belongs to the step that was running until now.
        now = time.perf_counter()
        steps[current["step"]] = round(steps.get(current["step"], 0.0) + now - current["since"], 1)
        current.update(step=step, since=now)

    source = f"simulate({args.clients}, seed={args.seed})"
    model = fit_model(histories, labels, source=source, progress=progress)
    lap("fit")
    print(
        json.dumps(
            {
                "clients": args.clients,
                "cpus": os.cpu_count(),
                "session_rows": model.trained_on["session_rows"],
                "phases_seconds": phases,
                "fit_steps_wall_seconds": steps,
                "auc_session_3": {k: v["by_session"]["3"]["auc"] for k, v in model.validation.items()},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

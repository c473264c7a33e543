"""Throughput of the simulated clinic and of the evaluation harness (prints numbers; not a test).

    .venv/bin/python benchmarks/throughput.py [--clients 20000] [--json]

Simulates a reference and a held-out cohort of ``--clients`` each (seeds 1 and 2), writes and
reads them back as Parquet, then fits and runs every registered early-warning method on the
held-out one, timing each step. Reports clients per second and client-sessions per second.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from typer.testing import CliRunner

from attunement.cli import app
from attunement.evaluation.cohort import load_cohort
from attunement.evaluation.harness import figures, run_method
from attunement.evaluation.registry import registered_methods
from attunement.evaluation.settings import load_settings


def timed(step, *args):
    start = time.perf_counter()
    result = step(*args)
    return result, time.perf_counter() - start


def simulate(folder: Path, clients: int, seed: int) -> None:
    result = CliRunner().invoke(
        app, ["simulate", "-n", str(clients), "-s", str(seed), "-o", str(folder), "-f", "parquet", "--json"]
    )
    if result.exit_code != 0:
        raise SystemExit(result.output)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    settings = load_settings()
    sessions = list(range(1, int(settings.course_sessions.value) + 1))
    report: dict = {
        "clients": args.clients,
        "machine": platform.machine(),
        "python": platform.python_version(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        ref_dir, test_dir = Path(tmp) / "reference", Path(tmp) / "held_out"
        _, t_sim = timed(simulate, ref_dir, args.clients, 1)
        simulate(test_dir, args.clients, 2)
        reference, t_ref = timed(load_cohort, ref_dir)
        held_out, t_load = timed(load_cohort, test_dir)
        report["simulate_seconds"] = round(t_sim, 2)
        report["simulate_clients_per_second"] = round(args.clients / t_sim)
        report["load_cohort_seconds"] = round(t_load, 2)
        client_sessions = int(sum(min(s, sessions[-1]) for s in held_out.histories.sessions))
        report["held_out_client_sessions"] = client_sessions
        report["methods"] = []
        total = 0.0
        for method in registered_methods(held_out):
            _, t_fit = timed(method.fit, reference.histories, reference.labels)
            run, t_run = timed(run_method, method, held_out.histories, sessions)
            _, t_fig = timed(figures, run, held_out, settings)
            total += t_fit + t_run + t_fig
            report["methods"].append(
                {
                    "method": method.name,
                    "fit_seconds": round(t_fit, 2),
                    "predict_seconds": round(t_run, 2),
                    "figures_seconds": round(t_fig, 2),
                    "client_sessions_per_second": round(client_sessions / t_run) if t_run else None,
                }
            )
        report["harness_total_seconds"] = round(total + t_ref + t_load, 1)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{args.clients:,} clients per cohort on {report['machine']}, Python {report['python']}")
    print(f"simulate: {report['simulate_seconds']} s ({report['simulate_clients_per_second']:,} clients/s)")
    print(f"load held-out cohort: {report['load_cohort_seconds']} s; {client_sessions:,} client-sessions")
    for m in report["methods"]:
        rate = m["client_sessions_per_second"]
        print(
            f"  {m['method']:<28} fit {m['fit_seconds']:>7} s  predict {m['predict_seconds']:>7} s  "
            f"figures {m['figures_seconds']:>5} s  ({rate:,} client-sessions/s)"
        )
    print(f"harness total (load both cohorts, fit, predict, figures): {report['harness_total_seconds']} s")


if __name__ == "__main__":
    main()

"""How quickly the command line answers, and how much memory it takes (prints numbers; not a test).

    .venv/bin/python benchmarks/cli_start.py [--runs 7] [--json]

Runs ``attunement --help`` and ``attunement score`` for one PHQ-9 in fresh processes, as a user
would, and the bare interpreter for comparison; reports the median wall time and the largest
resident memory of each. Target: each command within 0.5 s and 100 MiB on the project's 2-core
machine. A busy machine makes every figure slower: run it alone.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("attunement")
CASES = {
    "python -c pass (bare interpreter)": [sys.executable, "-c", "pass"],
    "attunement --help": [str(SCRIPT), "--help"],
    "attunement score (one PHQ-9)": [str(SCRIPT), "score", "-i", "phq9", "-a", "1,1,1,1,1,1,1,1,0"],
}
TARGET_SECONDS, TARGET_MIB = 0.5, 100


def run_once(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of one run."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed")
    return wall, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def measure(runs: int) -> list[dict]:
    rows = []
    for name, command in CASES.items():
        run_once(command)  # warm the file cache
        results = [run_once(command) for _ in range(runs)]
        wall = statistics.median(r[0] for r in results)
        memory = max(r[1] for r in results)
        rows.append(
            {
                "command": name,
                "median_seconds": round(wall, 3),
                "peak_mib": round(memory, 1),
                "meets_target": wall <= TARGET_SECONDS and memory <= TARGET_MIB,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each command (the median is reported)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()
    rows = measure(args.runs)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'command':36} {'median s':>9} {'peak MiB':>9}  target ({TARGET_SECONDS} s, {TARGET_MIB} MiB)")
    for r in rows:
        print(
            f"{r['command']:36} {r['median_seconds']:9.3f} {r['peak_mib']:9.1f}  "
            f"{'met' if r['meets_target'] else 'missed'}"
        )


if __name__ == "__main__":
    main()

"""Batch alerts on a national-scale year: measures per second, and the time against merely
reading the same Parquet data.

Generate the data once (about 2 million clients, 15 million attended sessions), then run:

    attunement simulate --clients 2000000 --format parquet --phq9-totals --out /tmp/national
    python benchmarks/alerts_batch.py /tmp/national

Two read times are given: reading the measures table with pyarrow as it is (every text column
materialised), and the fastest plain read of the same columns (text kept dictionary-encoded),
which is also how the batch path reads. The ratio target is at most 3 times the read time.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pyarrow.parquet as pq

from attunement.alerts.batch import COLUMNS, batch_alerts


def timed(action):
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each timing (the best is kept)")
    args = parser.parse_args()
    measures = args.folder / "measures.parquet"
    meta = pq.ParquetFile(measures).metadata
    columns = [c for c in COLUMNS if c in meta.schema.names]
    text = [c for c in ("client_id", "instrument", "rater") if c in columns]

    plain = min(timed(lambda: pq.read_table(measures).num_rows)[1] for _ in range(args.repeat))
    encoded = min(
        timed(lambda: pq.read_table(measures, columns=columns, read_dictionary=text).num_rows)[1]
        for _ in range(args.repeat)
    )
    best = None
    for _ in range(args.repeat):
        result, seconds = timed(lambda: batch_alerts(args.folder))
        best = seconds if best is None else min(best, seconds)
    sessions = (
        int(
            pq.read_table(args.folder / "episodes.parquet", columns=["sessions_attended"])
            .column("sessions_attended")
            .to_numpy()
            .sum()
        )
        if (args.folder / "episodes.parquet").exists()
        else None
    )
    figures = {
        "clients": result.clients,
        "measure_rows": result.measure_rows,
        "attended_sessions": sessions,
        "alerts": len(result.alerts),
        "read_plain_s": round(plain, 2),
        "read_dictionary_s": round(encoded, 2),
        "alerts_s": round(best, 2),
        "measure_rows_per_s": round(result.measure_rows / best),
        "ratio_to_plain_read": round(best / plain, 2),
        "ratio_to_dictionary_read": round(best / encoded, 2),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()

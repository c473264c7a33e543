"""Every early-warning method on every cohort shape, written into docs/validation.md.

For each shape of :data:`attunement.evaluation.shapes.SHAPES` (full set, PHQ-9 + GAD-7, PHQ-9
only, GAD-7 only, CORE-10 only) this simulates a reference and a held-out cohort with
``attunement simulate --measures`` and runs ``attunement evaluate --json`` on them, exactly as a
person would, then replaces the "Cohort shapes" section of the Markdown file:

    python benchmarks/cohort_shapes.py --clients 20000 --out build/validation/shapes \\
        --markdown docs/validation.md

``make validation`` runs it after the main evaluation. Each shape keeps its figures in
OUT/SHAPE/evaluation.json, and an existing one is reused unless ``--again`` is given, so an
interrupted run can go on where it stopped.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from attunement.evaluation.shapes import SHAPES, replace_section, section
from attunement.evaluation.targets import load_targets


def attunement(*args: str) -> str:
    """Run the command line as a person would, and return what it printed."""
    code = "from attunement.cli import main; main()"
    done = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True)
    return done.stdout


def run_shape(shape, out: Path, clients: int, seeds: tuple[int, int], again: bool) -> list[dict]:
    folder = out / shape.key
    result = folder / "evaluation.json"
    if result.exists() and not again:
        return json.loads(result.read_text())
    keep = ["--measures", shape.measures] if shape.measures else []
    for name, seed in zip(("reference", "held_out"), seeds, strict=True):
        attunement(
            "simulate", "--clients", str(clients), "--seed", str(seed), "--out", str(folder / name),
            "--format", "parquet", "--json", *keep,
        )  # fmt: skip
    rows = json.loads(
        attunement(
            "evaluate",
            "--cohort",
            str(folder / "held_out"),
            "--reference",
            str(folder / "reference"),
            "--plots",
            str(folder / "plots"),
            "--json",
        )  # fmt: skip
    )
    result.write_text(json.dumps(rows))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--clients", type=int, default=20000, help="clients per cohort (reference and held out)"
    )
    parser.add_argument("--seeds", type=int, nargs=2, default=(1, 2), help="reference and held-out seeds")
    parser.add_argument("--out", type=Path, default=Path("build/validation/shapes"))
    parser.add_argument("--markdown", type=Path, help="write the section into this file")
    parser.add_argument("--shape", action="append", help="only this shape (repeatable)")
    parser.add_argument("--again", action="store_true", help="simulate and evaluate again")
    args = parser.parse_args()
    shapes = [s for s in SHAPES if not args.shape or s.key in args.shape]
    results = {}
    for shape in shapes:
        start = time.monotonic()
        results[shape.key] = run_shape(shape, args.out, args.clients, tuple(args.seeds), args.again)
        print(f"{shape.label}: {time.monotonic() - start:.0f} s", file=sys.stderr)
    share = next(t.at_least for t in load_targets().targets if t.id == "auc_share_of_oracle")
    simulate = f"attunement simulate --clients {args.clients} --format parquet --measures phq9"
    command = (
        f"{simulate} --seed {args.seeds[0]} --out ref\n"
        f"{simulate} --seed {args.seeds[1]} --out held\n"
        "attunement evaluate --cohort held --reference ref --json\n"
        "# --measures gad7, phq9,gad7 or core10; no --measures for the full set. All shapes at once:\n"
        f"python benchmarks/cohort_shapes.py --clients {args.clients} --markdown docs/validation.md"
    )
    text = section(results, command, share)
    if args.markdown:
        old = args.markdown.read_text(encoding="utf-8") if args.markdown.exists() else ""
        args.markdown.write_text(replace_section(old, text), encoding="utf-8")
    else:
        print(text)


if __name__ == "__main__":
    main()

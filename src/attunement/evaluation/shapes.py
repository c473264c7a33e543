"""Early warning on cohorts shaped like real services' histories, side by side.

Services measure different things: PHQ-9 alone, GAD-7 alone, CORE-10, PHQ-9 and GAD-7 without the
relationship check-in, or the full set. ``make validation`` simulates each shape (``attunement
simulate --measures``), evaluates every method on it, and this module turns the figures into one
section of docs/validation.md: the AUC at session 3 of every method per shape and outcome, the
reason for every method that does not apply, and the target verdict per shape (ours at or above
the best baseline, and within the stated share of the oracle where one exists).

Pure: it reads figure rows (as :func:`attunement.evaluation.harness.evaluate` returns them) and
returns Markdown; running the shapes is the caller's job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

OURS = "attunement_forecast"
ORACLE = "oracle"
OUTCOMES = ("deterioration", "no_improvement")
SESSION = 3
BEGIN = "<!-- cohort shapes: written by `make validation` (benchmarks/cohort_shapes.py) -->"
END = "<!-- end of cohort shapes -->"


@dataclass(frozen=True)
class Shape:
    """A cohort shape: its key, its name for people and what ``simulate --measures`` keeps (None:
    the default set)."""

    key: str
    label: str
    measures: str | None


SHAPES = (
    Shape("full", "full set (PHQ-9, GAD-7, check-in, therapist ratings)", None),
    Shape("phq9_gad7", "PHQ-9 + GAD-7, no relationship measures", "phq9,gad7"),
    Shape("phq9", "PHQ-9 only", "phq9"),
    Shape("gad7", "GAD-7 only", "gad7"),
    Shape("core10", "CORE-10 only (item rows)", "core10"),
)


def auc_at(rows: Sequence[Mapping], method: str, outcome: str, session: int = SESSION) -> float | None:
    """A method's AUC for all clients at one session, or None when it has no such row."""
    for row in rows:
        if (
            row["method"] == method
            and row["outcome"] == outcome
            and str(row["session"]) == str(session)
            and row["group"] == "all"
        ):
            return row["auc"]
    return None


def not_applicable(rows: Sequence[Mapping]) -> dict[tuple[str, str], list[str]]:
    """(method, reason) -> the outcomes the harness did not run the method for on this shape,
    for that reason (one reason usually covers all of a method's outcomes)."""
    out: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        if r["session"] == "not_applicable":
            out.setdefault((r["method"], r["reason"]), []).append(r["outcome"].replace("_", " "))
    return out


def verdicts(rows: Sequence[Mapping], oracle_share: float) -> list[dict]:
    """Per outcome: ours, the best baseline, the oracle and whether each target is met."""
    baselines = sorted({r["method"] for r in rows if r["kind"] == "baseline"})
    out = []
    for outcome in OUTCOMES:
        ours = auc_at(rows, OURS, outcome)
        scored = [(auc_at(rows, b, outcome), b) for b in baselines]
        scored = [(a, b) for a, b in scored if a is not None]
        best_auc, best = max(scored) if scored else (None, None)
        oracle = auc_at(rows, ORACLE, outcome)
        out.append(
            {
                "outcome": outcome,
                "ours": ours,
                "best_baseline": best,
                "best_baseline_auc": best_auc,
                "oracle": oracle,
                "above_baselines": None if ours is None or best_auc is None else ours >= best_auc,
                "of_oracle": None if ours is None or not oracle else ours / oracle,
                "near_oracle": None if ours is None or not oracle else ours / oracle >= oracle_share,
            }
        )
    return out


def section(results: Mapping[str, Sequence[Mapping]], command: str, oracle_share: float) -> str:
    """The Markdown section for the shapes in ``results`` (shape key -> figure rows)."""
    shapes = [s for s in SHAPES if s.key in results]
    methods: list[str] = []
    for shape in shapes:
        for row in results[shape.key]:
            if row["method"] not in methods and row["outcome"] in OUTCOMES:
                methods.append(row["method"])
    methods = [m for m in methods if m not in (OURS, ORACLE)]
    columns = [OURS, *methods, ORACLE]
    lines = [
        BEGIN,
        "## Cohort shapes (simulated)",
        "",
        "Every method on cohorts shaped like services that measure less or otherwise, simulated with",
        "`attunement simulate --measures` (the same clinic, only what is recorded differs). AUC at",
        f"session {SESSION}, all clients; `n/a` where a method cannot run on the shape (reasons below).",
        "",
        "```sh",
        command,
        "```",
        "",
        "| cohort shape | outcome | " + " | ".join(columns) + " |",
        "|---|---|" + "---|" * len(columns),
    ]
    for shape in shapes:
        rows = results[shape.key]
        for outcome in OUTCOMES:
            cells = [_figure(auc_at(rows, m, outcome)) for m in columns]
            lines.append(f"| {shape.label} | {outcome.replace('_', ' ')} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "### Targets per shape",
        "",
        f"Ours at or above the best baseline's AUC at session {SESSION}, and at least {oracle_share:.2f} of "
        "the oracle's where the oracle exists.",
        "",
        "| cohort shape | outcome | ours | best baseline | its AUC | above it | oracle | share of oracle |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for shape in shapes:
        for v in verdicts(results[shape.key], oracle_share):
            lines.append(
                f"| {shape.label} | {v['outcome'].replace('_', ' ')} | {_figure(v['ours'])} | "
                f"{v['best_baseline'] or 'n/a'} | {_figure(v['best_baseline_auc'])} | "
                f"{_verdict(v['above_baselines'])} | {_figure(v['oracle'])} | "
                f"{_share(v['of_oracle'], v['near_oracle'])} |"
            )
    lines += ["", "### Not applicable, and why", ""]
    for shape in shapes:
        reasons = not_applicable(results[shape.key])
        if not reasons:
            continue
        lines.append(f"- **{shape.label}**:")
        for (method, reason), outcomes in sorted(reasons.items()):
            lines.append(f"  - {method} ({', '.join(outcomes)}): {_plain(reason, method)}")
    lines += [
        "",
        "The outcome labels differ by shape, so figures compare methods within a shape, not across",
        "shapes: with PHQ-9 and GAD-7 both present the NHS Talking Therapies paired rules; with one",
        "outcome measure, reliable change on that measure's own definition (the label's `definition`",
        "says which). The CORE-10 shape is simulated from the same latent courses through CORE-10's",
        "own noise and items (docs/simulation.md, 'CORE-10'); the oracle computes the simulation's",
        "paired outcomes, so it exists only where PHQ-9 and GAD-7 both are.",
        END,
    ]
    return "\n".join(lines) + "\n"


def replace_section(text: str, new: str) -> str:
    """``text`` with its cohort-shapes section replaced by ``new`` (appended when it has none)."""
    start, end = text.find(BEGIN), text.find(END)
    if start == -1 or end == -1 or end < start:
        return text.rstrip("\n") + "\n\n" + new
    tail = text[end + len(END) :].lstrip("\n")
    return text[:start] + new + ("\n" + tail if tail else "")


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _verdict(value: bool | None) -> str:
    return "n/a" if value is None else ("met" if value else "**not met**")


def _share(share: float | None, met: bool | None) -> str:
    return "n/a (no oracle)" if share is None else f"{share:.3f} ({_verdict(met)})"


def _plain(reason: str, method: str) -> str:
    """The harness's reason without the repeated method name, on one line."""
    return " ".join(reason.removeprefix(f"{method}: ").split())

"""ROC and calibration plots of every method at one session, one file per outcome (SVG).

Drawn with matplotlib's Agg backend on the server side: no display and no network needed.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from attunement.evaluation import metrics  # noqa: E402
from attunement.evaluation.cohort import Cohort  # noqa: E402
from attunement.evaluation.harness import MethodRun  # noqa: E402

LINES = {"baseline": "--", "ours": "-", "oracle": ":"}
OUTCOME_TITLES = {
    "deterioration": "reliable deterioration by the end",
    "no_improvement": "no reliable improvement by the end",
    "dropout_next": "dropout after this session",
    "rupture": "rupture in progress",
}


def write_plots(runs: list[MethodRun], cohort: Cohort, session: int, bins: int, folder: Path) -> list[Path]:
    """ROC and calibration plots per outcome at ``session``; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    outcomes = sorted({o for run in runs for o in run.method.outcomes}, key=list(OUTCOME_TITLES).index)
    for outcome in outcomes:
        if outcome == "rupture" and not cohort.labels.has_ruptures:
            continue
        curves = [
            _curve_data(run, cohort, outcome, session) for run in runs if outcome in run.method.outcomes
        ]
        curves = [c for c in curves if c is not None]
        if not curves:
            continue
        written.append(_roc(curves, outcome, session, folder / f"roc_{outcome}_session{session}.svg"))
        calibrated = [c for c in curves if c[0].is_probability]
        if calibrated:
            path = folder / f"calibration_{outcome}_session{session}.svg"
            written.append(_calibration(calibrated, outcome, session, bins, path))
    return written


def _curve_data(run: MethodRun, cohort: Cohort, outcome: str, session: int):
    if session not in run.rows:
        return None
    labels = cohort.labels.at(outcome, session)[run.rows[session]]
    return run, labels, run.risk(outcome, session)


def _roc(curves, outcome: str, session: int, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for run, labels, risk in curves:
        points = metrics.roc(labels, risk)
        if points is None:
            continue
        auc = metrics.auc(labels, risk)
        ax.plot(*points, LINES.get(run.method.kind, "-"), label=f"{run.method.name} ({auc:.3f})")
    title = f"ROC at session {session}: {OUTCOME_TITLES[outcome]}"
    return _finish(fig, ax, "false-alarm rate", "sensitivity", title, "lower right", path)


def _calibration(curves, outcome: str, session: int, bins: int, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for run, labels, risk in curves:
        predicted, observed, counts = metrics.calibration_curve(labels, risk, bins)
        (line,) = ax.plot(
            predicted, observed, LINES.get(run.method.kind, "-"), linewidth=1, label=run.method.name
        )
        # marker area grows with the clients in the bin, so a sparse bin's stray point looks small
        ax.scatter(predicted, observed, s=4 + 200 * counts / counts.sum(), color=line.get_color(), zorder=3)
    title = f"Calibration at session {session}: {OUTCOME_TITLES[outcome]}\n(marker area: clients per bin)"
    return _finish(fig, ax, "predicted probability", "observed rate", title, "upper left", path)


def _finish(fig, ax, xlabel: str, ylabel: str, title: str, legend_at: str, path: Path) -> Path:
    """The diagonal, unit axes, labels and legend every plot here shares; then save."""
    ax.plot([0, 1], [0, 1], color="0.7", linewidth=0.8)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title, xlim=(0, 1), ylim=(0, 1))
    ax.legend(fontsize=7, loc=legend_at)
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)
    return path


__all__ = ["write_plots"]

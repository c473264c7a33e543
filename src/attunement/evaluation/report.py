"""The harness's rows as a Markdown report (docs/validation.md is written by this)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from attunement.evaluation.harness import COURSE_OUTCOMES, NOT_APPLICABLE
from attunement.evaluation.summary import find, headroom
from attunement.evaluation.targets import check_targets


def markdown_report(
    rows: Sequence[dict],
    *,
    title: str,
    command: str,
    reference: str,
    held_out: str,
    plots: Sequence[Path],
    folder: Path,
) -> str:
    """A self-contained Markdown page: how it was made, the tables, the headroom and the plots."""
    skipped = [r for r in rows if r["session"] == NOT_APPLICABLE]
    rows = [r for r in rows if r["session"] != NOT_APPLICABLE]
    overall = find(rows, group="all")
    lines = [
        f"# {title}",
        "",
        f"Fitted on {reference}; evaluated on {held_out}. Every figure below comes from the simulated",
        "clinic, whose truth is known ([simulation.md](simulation.md)); none comes from real clients.",
        "`make validation` simulates both cohorts again and regenerates this page; the evaluation itself is:",
        "",
        "```sh",
        command,
        "```",
        "",
        "## Session by session (all clients)",
        "",
        _table(
            [
                "method",
                "kind",
                "outcome",
                "session",
                "n",
                "with outcome",
                "AUC",
                "sensitivity",
                "false alarms",
                "Brier",
                "ECE",
            ],
            [
                [r["method"], r["kind"], r["outcome"], r["session"], r["n"], r["positives"]]
                + [_f(r[k]) for k in ("auc", "sensitivity", "false_alarm_rate", "brier", "ece")]
                for r in overall
                if r["session"] != "course"
            ],
        ),
        "",
        "## Over the course (clients with two or more sessions)",
        "",
        "Each method's own alert rule; the last column instead puts one threshold on each method's",
        "highest risk before the client's last session, set to flag 75% (85%) of the clients with the",
        "outcome, to compare methods at the same sensitivity.",
        "",
        _table(
            [
                "method",
                "outcome",
                "flagged before last session",
                "false alarms",
                "median first correct flag",
                "delayed responders falsely flagged",
                "the same at sensitivity 0.75 / 0.85",
            ],
            [
                [
                    r["method"],
                    r["outcome"],
                    _f(r["sensitivity"]),
                    _f(r["false_alarm_rate"]),
                    _f(r["median_first_correct_flag_session"], 1),
                    _f(r["delayed_responder_false_alarm_rate"]),
                    " / ".join(
                        _f(v) for v in r.get("delayed_responder_false_alarm_rate_at_sensitivity", {}).values()
                    )
                    or "-",
                ]
                for r in overall
                if r["session"] == "course"
            ],
        ),
        "",
    ]
    lines += _not_applicable(skipped)
    lines += _targets(rows)
    lines += _groups(rows)
    lines += _headroom(rows)
    if plots:
        lines += ["## Plots", ""]
        lines += [f"![{p.stem}]({os.path.relpath(p, folder)})" for p in plots]
        lines.append("")
    return "\n".join(lines)


def _not_applicable(skipped: Sequence[dict]) -> list[str]:
    """Methods the cohort could not support, once each, with the reason in words."""
    reasons: dict[str, str] = {}
    for r in skipped:
        reasons.setdefault(r["method"], r["reason"])
    if not reasons:
        return []
    return [
        "## Not applicable to this cohort",
        "",
        "These methods could not be fitted or run on this cohort's data; the others were evaluated.",
        "",
        _table(["method", "reason"], [[name, reason] for name, reason in reasons.items()]),
        "",
    ]


def _targets(rows: Sequence[dict]) -> list[str]:
    results = check_targets(rows)
    if not results:
        return []
    verdict = {True: "met", False: "**not met**", None: "not checked"}
    body = [
        [r["text"], r["method"], r["outcome"], _f(r["value"]), _f(r["compared_with"]), verdict[r["met"]]]
        for r in results
    ]
    return [
        "## Targets",
        "",
        "Checked from the rows above against `src/attunement/evaluation/targets.json`.",
        "",
        _table(["target", "method", "outcome", "figure", "compared with", "verdict"], body),
        "",
    ]


def _groups(rows: Sequence[dict]) -> list[str]:
    groups = sorted({r["group"] for r in rows} - {"all"})
    if not groups:
        return []
    body = []
    for r in find(rows, group="all", session="course"):
        cells = []
        for group in groups:
            at3 = find(rows, method=r["method"], outcome=r["outcome"], session=3, group=group)
            course = find(rows, method=r["method"], outcome=r["outcome"], session="course", group=group)
            cells.append(
                f"{_f(at3[0]['auc']) if at3 else '-'} / {_f(course[0]['sensitivity']) if course else '-'}"
            )
        body.append([r["method"], r["outcome"], *cells])
    return [
        "## Per client group",
        "",
        "AUC at session 3 / share flagged before the last session.",
        "",
        _table(["method", "outcome", *groups], body),
        "",
    ]


def _headroom(rows: Sequence[dict]) -> list[str]:
    body = []
    for outcome in COURSE_OUTCOMES:
        summary = headroom(rows, outcome, 3)
        if not summary:
            continue
        for name, ours in summary["ours"].items():
            body.append(
                [
                    outcome,
                    name,
                    _f(ours["auc"]),
                    summary["best_baseline"],
                    _f(summary["best_baseline_auc"]),
                    _f(summary["oracle_auc"]),
                    _f(ours["share_of_oracle"]),
                    _f(ours["share_of_headroom"]),
                ]
            )
    if not body:
        return []
    return [
        "## Headroom at session 3",
        "",
        "Share of the oracle's AUC, and share of the best baseline-to-oracle gap that is closed.",
        "",
        _table(
            [
                "outcome",
                "method",
                "AUC",
                "best baseline",
                "its AUC",
                "oracle AUC",
                "of oracle",
                "of headroom",
            ],
            body,
        ),
        "",
    ]


def _table(header: list[str], body: list[list]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in body]
    return "\n".join(out)


def _f(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"

"""The room evaluation as a Markdown table (printed by ``attunement evaluate --rooms`` and pasted
into docs/validation.md)."""

from __future__ import annotations

from attunement.evaluation.rooms import RoomFigures


def _share(value: float | None, low: float | None, high: float | None) -> str:
    if value is None or low is None or high is None:
        return "-"
    return f"{value:.3f} ({low:.2f}-{high:.2f})"


def rooms_markdown(rows: list[RoomFigures], command: str, window: int, cutoff: float) -> str:
    lines = [
        "## Room alerts (simulated couples, families and groups, known truth)",
        "",
        "```sh",
        command,
        "```",
        "",
        f"Hit window: the onset session to {window} sessions after it. Naive rule: any participant "
        f"below {cutoff:g} of 10 (for the group trend, the group's mean below it). Oracle: "
        "attunement's rules on the noise-free ratings. 95% intervals in brackets.",
        "",
        "| truth | rule | cases | events | detected | recall | alert episodes | correct | precision "
        "| false alert episodes per 100 participant-sessions without an event |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        false = "-" if r.false_per_100 is None else f"{r.false_per_100:.2f}"
        lines.append(
            f"| {r.truth} | {r.rule} | {r.cases:,} | {r.events:,} | {r.detected:,} | "
            f"{_share(r.recall, r.recall_low, r.recall_high)} | {r.alert_episodes:,} | {r.correct:,} | "
            f"{_share(r.precision, r.precision_low, r.precision_high)} | {false} |"
        )
    return "\n".join(lines)

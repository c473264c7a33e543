"""Check the harness's rows against the targets in targets.json, so every report says plainly
which targets our methods meet and by how much they miss the others."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from attunement.datafiles import load_json_model
from attunement.evaluation.summary import find, headroom

TARGETS_FILE = Path(__file__).with_name("targets.json")


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    text: str
    check: str
    outcomes: list[str]
    session: int | None = None
    at_least: float | None = None
    at_most: float | None = None
    level: float | None = None


class Targets(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str
    targets: list[Target]


@cache
def load_targets(path: Path = TARGETS_FILE) -> Targets:
    return load_json_model(path, Targets)


def check_targets(rows: Sequence[dict], targets: Targets | None = None) -> list[dict]:
    """One result per target, our method and outcome: the figure, what it was compared with, met or not.

    A target whose figures are absent (no oracle on real data, no groups) is reported as not checked.
    """
    targets = targets or load_targets()
    ours = sorted({r["method"] for r in rows if r["kind"] == "ours"})
    results = []
    for target in targets.targets:
        for outcome in target.outcomes:
            for method in ours:
                if not find(rows, method=method, outcome=outcome):
                    continue
                value, compared = _figure(rows, target, method, outcome)
                results.append(
                    {
                        "target": target.id,
                        "text": target.text,
                        "method": method,
                        "outcome": outcome,
                        "value": value,
                        "compared_with": compared,
                        "met": None if value is None or compared is None else _met(target, value, compared),
                    }
                )
    return results


def _figure(rows, target: Target, method: str, outcome: str) -> tuple[float | None, float | None]:
    """The figure checked and the value it must reach (or stay under)."""
    mine = {r["session"]: r for r in find(rows, method=method, outcome=outcome, group="all")}
    limit = target.at_least if target.at_least is not None else target.at_most
    if target.check in ("share_of_oracle", "share_of_headroom"):
        if target.session is None:
            raise ValueError(f"target {target.id}: {target.check} needs a session")
        summary = headroom(rows, outcome, target.session)
        if summary is None or method not in summary["ours"]:
            return None, limit
        return summary["ours"][method][target.check], limit
    if target.check == "above_baselines":
        best = _best_baseline(rows, outcome, target.session)
        return _get(mine, target.session, "auc"), None if best is None else best["auc"]
    if target.check == "course_sensitivity":
        return _get(mine, "course", "sensitivity"), limit
    if target.check == "course_false_alarms":
        return _get(mine, "course", "false_alarm_rate"), limit
    if target.check == "delayed_vs_best_baseline":
        best = _best_baseline(rows, outcome, target.session)
        if best is None:
            return _get(mine, "course", "delayed_responder_false_alarm_rate"), None
        theirs = find(rows, method=best["method"], outcome=outcome, session="course", group="all")
        return _get(mine, "course", "delayed_responder_false_alarm_rate"), (
            theirs[0]["delayed_responder_false_alarm_rate"] if theirs else None
        )
    if target.check == "delayed_matched_vs_best_baseline":
        best = _best_baseline(rows, outcome, target.session)
        key = f"{target.level:g}"
        mine_course = mine.get("course") or {}
        value = (mine_course.get("delayed_responder_false_alarm_rate_at_sensitivity") or {}).get(key)
        if best is None:
            return value, None
        theirs = find(rows, method=best["method"], outcome=outcome, session="course", group="all")
        matched = (theirs[0].get("delayed_responder_false_alarm_rate_at_sensitivity") or {}) if theirs else {}
        return value, matched.get(key)
    if target.check == "group_spread":
        per_group = [
            r["sensitivity"]
            for r in find(rows, method=method, outcome=outcome, session="course")
            if r["group"] != "all" and r["sensitivity"] is not None
        ]
        return (max(per_group) - min(per_group) if len(per_group) > 1 else None), limit
    if target.check == "pooled_ece":
        return _get(mine, "pooled", "ece"), limit
    if target.check == "pooled_share_of_oracle":
        oracle = find(rows, kind="oracle", outcome=outcome, session="pooled", group="all")
        auc = _get(mine, "pooled", "auc")
        if not oracle or auc is None or oracle[0]["auc"] is None:
            return None, limit
        return auc / oracle[0]["auc"], limit
    raise ValueError(f"target {target.id}: unknown check {target.check!r}")


def _met(target: Target, value: float, compared: float) -> bool:
    if target.check == "above_baselines":
        return value > compared
    if target.check in ("delayed_vs_best_baseline", "delayed_matched_vs_best_baseline"):
        return value <= compared
    if target.at_least is not None:
        return value >= target.at_least
    if target.at_most is None:
        raise ValueError(f"target {target.id}: {target.check} needs at_least or at_most")
    return value <= target.at_most


def _best_baseline(rows, outcome: str, session: int | None) -> dict | None:
    baselines = [
        r
        for r in find(rows, kind="baseline", outcome=outcome, session=session, group="all")
        if r["auc"] is not None
    ]
    return max(baselines, key=lambda r: r["auc"]) if baselines else None


def _get(rows_by_session: dict, session, field: str) -> float | None:
    row = rows_by_session.get(session)
    return None if row is None else row.get(field)

"""Read the harness's rows back: the oracle's headroom over the baselines that a method captures."""

from __future__ import annotations

from collections.abc import Sequence


def find(rows: Sequence[dict], **match) -> list[dict]:
    """The rows whose fields equal every given value."""
    return [row for row in rows if all(row.get(key) == value for key, value in match.items())]


def headroom(rows: Sequence[dict], outcome: str, session: int, group: str = "all") -> dict | None:
    """How much of the gap between the best baseline's AUC and the oracle's each of our methods closes.

    ``share`` = (ours - best baseline) / (oracle - best baseline): 1 means as good as the oracle,
    0 no better than the best baseline, negative worse. ``None`` without a baseline and an oracle.
    """
    here = [r for r in find(rows, outcome=outcome, session=session, group=group) if r["auc"] is not None]
    baselines = [r for r in here if r["kind"] == "baseline"]
    oracle = [r for r in here if r["kind"] == "oracle"]
    if not baselines or not oracle:
        return None
    best = max(baselines, key=lambda r: r["auc"])
    ceiling = oracle[0]["auc"]
    gap = ceiling - best["auc"]
    ours = {
        r["method"]: {
            "auc": r["auc"],
            "share_of_oracle": r["auc"] / ceiling,
            "share_of_headroom": (r["auc"] - best["auc"]) / gap if gap > 0 else None,
        }
        for r in here
        if r["kind"] == "ours"
    }
    return {
        "outcome": outcome,
        "session": session,
        "best_baseline": best["method"],
        "best_baseline_auc": best["auc"],
        "oracle_auc": ceiling,
        "ours": ours,
    }

"""``attunement demo``: score and classify the built-in example of four clients.

It shows, on a small caseload, what attunement computes before each session: the latest scores
and bands, reliable change and recovery by the NHS Talking Therapies definitions, sudden gains,
and any safety item, each with the source and verification status of the numbers behind it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from attunement.change import (
    assess_change,
    cutoff_for,
    direction_for,
    find_sudden_gains,
    paired_outcomes,
    threshold_for,
)
from attunement.cli.app import JSON_HELP, app
from attunement.cli.output import console, emit, number
from attunement.errors import DefinitionError
from attunement.instruments import get_instrument
from attunement.instruments.table_scoring import score_frame
from attunement.tables import read_episodes, read_measures, session_scores

EXAMPLE_DIR = Path(__file__).resolve().parents[1] / "demo"


@app.command()
def demo(as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    """Score and classify a small built-in caseload (four clients, PHQ-9, GAD-7 and the check-in)."""
    measures = read_measures(EXAMPLE_DIR / "example_measures.csv")
    episodes = read_episodes(EXAMPLE_DIR / "example_episodes.csv")
    report = caseload_report(measures, episodes)

    def render() -> None:
        table = Table(title="Demo caseload: first and latest scores", expand=True)
        for column in (
            "client",
            "sessions",
            "PHQ-9",
            "GAD-7",
            "PHQ-9 change",
            "NHS TT outcome",
            "gains",
            "safety",
        ):
            table.add_column(column)
        for row in report["clients"]:
            table.add_row(
                row["client_id"],
                str(row["sessions"]),
                f"{number(row['phq9_first'])} -> {number(row['phq9_last'])} ({row['phq9_band']})",
                f"{number(row['gad7_first'])} -> {number(row['gad7_last'])}",
                row["phq9_change"],
                row["nhs_tt_outcome"],
                str(row["sudden_gains"]),
                "[red bold]yes[/red bold]" if row["safety"] else "-",
            )
        console.print(table)
        for row in report["clients"]:
            for reason in row["safety"]:
                console.print(f"[red bold]SAFETY[/red bold] {row['client_id']}, {escape(reason)}")
        console.print("Numbers shown as unverified until checked against their primary source:")
        for line in report["unverified"]:
            console.print(f"  {escape(line)}")

    emit(report, as_json, render)


def caseload_report(measures: pd.DataFrame, episodes: pd.DataFrame) -> dict[str, Any]:
    """Per client: first and last PHQ-9/GAD-7, change category, NHS TT outcome, gains, safety."""
    phq9 = get_instrument("phq9")
    depression = session_scores(measures, "phq9")
    anxiety = session_scores(measures, "gad7")
    ends = _first_last(depression, "phq9").join(_first_last(anxiety, "gad7"), how="outer")
    outcomes = paired_outcomes(ends)
    threshold, cutoff, scale = threshold_for(phq9), cutoff_for(phq9), direction_for(phq9)
    bands = phq9.scoring.bands
    if bands is None:
        raise DefinitionError("phq9 has no severity bands")
    gains = find_sudden_gains(depression, threshold.points).events
    safety = _safety_flags(measures)
    clients = []
    for client_id, row in ends.iterrows():
        assessment = assess_change(
            row["phq9_first"], row["phq9_last"], threshold, direction=scale, cutoff=cutoff
        )
        outcome = outcomes.table.loc[client_id]
        clients.append(
            {
                "client_id": client_id,
                "end_reason": episodes.set_index("client_id").at[client_id, "end_reason"],
                "sessions": int(depression.loc[depression["client_id"] == client_id, "session"].max()),
                "phq9_first": row["phq9_first"],
                "phq9_last": row["phq9_last"],
                "phq9_band": bands.classify(row["phq9_last"]),
                "gad7_first": row["gad7_first"],
                "gad7_last": row["gad7_last"],
                "phq9_change": assessment.category,
                "nhs_tt_outcome": _outcome_label(outcome),
                "sudden_gains": int((gains["client_id"] == client_id).sum()),
                "safety": safety.get(client_id, []),
            }
        )
    return {"clients": clients, "unverified": outcomes.unverified}


def _first_last(scores: pd.DataFrame, name: str) -> pd.DataFrame:
    ordered = scores.sort_values(["client_id", "session"]).groupby("client_id")["score"]
    return pd.DataFrame({f"{name}_first": ordered.first(), f"{name}_last": ordered.last()})


def _outcome_label(outcome: pd.Series) -> str:
    if outcome["reliable_deterioration"]:
        return "reliable deterioration"
    if outcome["reliable_recovery"]:
        return "reliable recovery"
    if outcome["recovery"]:
        return "recovery"
    if outcome["reliable_improvement"]:
        return "reliable improvement"
    return "no reliable change"


def _safety_flags(measures: pd.DataFrame) -> dict[str, list[str]]:
    """Critical items endorsed on any form answered item by item."""
    found: dict[str, list[str]] = {}
    for instrument_id, rows in measures[measures["item"].notna()].groupby("instrument"):
        instrument = get_instrument(str(instrument_id))
        wide = rows.pivot(index=["client_id", "session"], columns="item", values="value")
        scored = score_frame(instrument, wide)
        for critical in instrument.scoring.critical_items:
            endorsed = scored[scored[f"flag_{critical.flag}"]]
            for (client_id, session), _ in endorsed.iterrows():
                value = wide.at[(client_id, session), critical.item]
                found.setdefault(client_id, []).append(
                    f"session {session}: " + critical.reason.format(value=number(value, 0))
                )
    return found

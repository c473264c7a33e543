"""``attunement change``: reliable change and clinical significance for one client's pre/post scores."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.markup import escape

from attunement.change.clinical_significance import Cutoff, assess_change, cutoff_for, given_cutoff
from attunement.change.elementwise import Direction
from attunement.change.reliable_change import (
    JACOBSON_TRUAX,
    Z_TWO_TAILED_5_PERCENT,
    ChangeThreshold,
    direction_for,
    threshold_for,
    threshold_from_reliability,
)
from attunement.cli.app import JSON_HELP, app
from attunement.cli.output import console, emit, fail, number
from attunement.errors import AttunementError, FieldProblem, InvalidInputError
from attunement.instruments import get_instrument


class DirectionChoice(StrEnum):
    LOWER = "lower"
    HIGHER = "higher"


#: The scale each --direction names.
SCALES: dict[DirectionChoice, Direction] = {
    DirectionChoice.LOWER: "lower_is_better",
    DirectionChoice.HIGHER: "higher_is_better",
}


CATEGORY_WORDS = {
    "improved": "reliable improvement",
    "deteriorated": "reliable deterioration",
    "unchanged": "no reliable change",
}


@app.command(
    "change",
    help="Is the change from --pre to --post reliable, and did the client cross the clinical cut-off?\n\n"
    "Give an SD and a reliability (Jacobson & Truax 1991), or an instrument whose definition holds "
    "a published reliable-change set and a caseness cut-off.",
)
def change_cmd(
    pre: Annotated[float, typer.Option("--pre", help="Score before treatment (or at the first session).")],
    post: Annotated[float, typer.Option("--post", help="Score after treatment (or at the latest session).")],
    sd: Annotated[
        float | None,
        typer.Option("--sd", help="Standard deviation of the pre-treatment scores (clinical sample)."),
    ] = None,
    reliability: Annotated[
        float | None, typer.Option("--reliability", "-r", help="Reliability of the measure, between 0 and 1.")
    ] = None,
    instrument: Annotated[
        str | None,
        typer.Option(
            "--instrument", "-i", help="Use an instrument's published reliable-change set, e.g. phq9."
        ),
    ] = None,
    set_id: Annotated[
        str | None,
        typer.Option("--set", help="Which of the instrument's reliable-change sets (default: its default)."),
    ] = None,
    direction: Annotated[
        DirectionChoice | None,
        typer.Option(
            "--direction",
            help="Which way is better on this scale (default lower; an instrument sets its own).",
        ),
    ] = None,
    cutoff: Annotated[
        float | None,
        typer.Option(
            "--cutoff", help="Clinical cut-off for the combined classification (recovered ... harmed)."
        ),
    ] = None,
    clinical_at_cutoff: Annotated[
        bool, typer.Option("--clinical-at-cutoff", help="Count a score equal to --cutoff as clinical.")
    ] = False,
    z: Annotated[
        float,
        typer.Option("--z", help="Critical value for the index (Jacobson & Truax: 1.96, two-tailed 5%)."),
    ] = Z_TWO_TAILED_5_PERCENT,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Is the change from --pre to --post reliable, and did the client cross the clinical cut-off?"""
    try:
        threshold, cut, scale = _parameters(
            pre, post, sd, reliability, instrument, set_id, direction, cutoff, clinical_at_cutoff, z
        )
        result = assess_change(pre, post, threshold, direction=scale, cutoff=cut)
    except AttunementError as exc:
        fail(str(exc), as_json)
        return

    data = {"instrument": instrument and get_instrument(instrument).id, **_jsonable(result)}

    def render() -> None:
        t = result.threshold
        scale_words = result.direction.replace("_", "-")
        console.print(
            f"[bold]Change[/bold] {number(result.pre)} -> {number(result.post)} "
            f"({result.change:+g} points; {scale_words} scale)"
        )
        if t.set_id is not None:
            console.print(
                escape(f"parameter set: {data['instrument']} {t.set_id} ({t.population}) {t.tag}".rstrip())
            )
            console.print(escape(f"  source: {t.source}"))
            if t.note:
                console.print(escape(f"  note: {t.note}"))
        if t.sd is not None:
            console.print(
                f"SD {number(t.sd, 4)}, reliability {number(t.reliability, 4)}: "
                f"SE_m {result.standard_error_of_measurement:.3f}, S_diff {result.s_diff:.3f}"
            )
        if result.rci is not None:
            console.print(f"reliable change index (RC) {result.rci:.2f}")
        how = f" = {t.z:g} x S_diff" if t.z is not None else ""
        console.print(escape(f"threshold: {t.points:.2f} points{how}; reliable when {t.describe()}"))
        console.print(f"[bold]classification: {CATEGORY_WORDS[result.reliable_change]}[/bold]")
        if result.cutoff is not None:
            c = result.cutoff
            console.print(escape(f"cut-off ({c.criterion}): {c.describe()} {c.tag}".rstrip()))
            before, after = _yes(result.clinical_pre), _yes(result.clinical_post)
            category = f"[bold]combined: {result.category}[/bold]"
            console.print(f"clinical before: {before}; clinical after: {after}; {category}")
        if t.source is None:
            console.print(f"[dim]Method: {JACOBSON_TRUAX}.[/dim]")

    emit(data, as_json, render)


def _parameters(
    pre: float,
    post: float,
    sd: float | None,
    reliability: float | None,
    instrument: str | None,
    set_id: str | None,
    direction: DirectionChoice | None,
    cutoff: float | None,
    clinical_at_cutoff: bool,
    z: float,
) -> tuple[ChangeThreshold, Cutoff | None, Direction]:
    """Choose the threshold, cut-off and direction from the options, refusing contradictions."""
    if instrument is not None:
        clashes = [
            FieldProblem(
                f"--{name}", value, f"no --{name} with --instrument (the instrument's set supplies it)"
            )
            for name, value in (("sd", sd), ("reliability", reliability))
            if value is not None
        ]
        inst = get_instrument(instrument)
        if direction is not None and direction.value != inst.direction.split("_")[0]:
            clashes.append(
                FieldProblem("--direction", direction.value, f"{inst.direction} for {inst.id}, or nothing")
            )
        if inst.scoring.range is not None:
            low, high = inst.scoring.range
            clashes.extend(
                FieldProblem(
                    f"--{name}", value, f"a {inst.short_name} score from {number(low)} to {number(high)}"
                )
                for name, value in (("pre", pre), ("post", post))
                if not low <= value <= high
            )
        if clashes:
            raise InvalidInputError("change", clashes)
        threshold = threshold_for(inst, set_id, z=z)
        scale = direction_for(inst)
        if cutoff is not None:
            cut = given_cutoff(cutoff, direction=scale, clinical_at_cutoff=clinical_at_cutoff)
        elif inst.scoring.caseness is not None:
            cut = cutoff_for(inst, "caseness")
        else:
            cut = None
        return threshold, cut, scale
    problems = []
    if set_id is not None:
        problems.append(
            FieldProblem("--set", set_id, "--instrument as well (a set belongs to an instrument)")
        )
    if sd is None:
        problems.append(FieldProblem("--sd", None, "the SD of the pre-treatment scores (or --instrument)"))
    if reliability is None or not 0 < reliability < 1:
        problems.append(
            FieldProblem("--reliability", reliability, "a reliability between 0 and 1 (or --instrument)")
        )
    if sd is not None and not sd > 0:
        problems.append(FieldProblem("--sd", sd, "a standard deviation greater than 0"))
    if problems or sd is None or reliability is None:  # a missing --sd or --reliability is a problem
        raise InvalidInputError("change", problems)
    chosen = SCALES[direction or DirectionChoice.LOWER]
    threshold = threshold_from_reliability(sd, reliability, z=z)
    cut = (
        None
        if cutoff is None
        else given_cutoff(cutoff, direction=chosen, clinical_at_cutoff=clinical_at_cutoff)
    )
    return threshold, cut, chosen


def _jsonable(result) -> dict:
    t = result.threshold
    out = {
        "pre": result.pre,
        "post": result.post,
        "direction": result.direction,
        "change": result.change,
        "improvement": result.improvement,
        "sd": t.sd,
        "reliability": t.reliability,
        "standard_error_of_measurement": result.standard_error_of_measurement,
        "s_diff": result.s_diff,
        "rci": result.rci,
        "z": t.z,
        "threshold": t.points,
        "rule": t.rule,
        "reliable_improvement": result.reliable_improvement,
        "reliable_deterioration": result.reliable_deterioration,
        "classification": result.reliable_change,
        "parameter_set": None,
        "cutoff": None,
        "clinical_pre": result.clinical_pre,
        "clinical_post": result.clinical_post,
        "category": result.category,
        "method": JACOBSON_TRUAX,
    }
    if t.set_id is not None:
        out["parameter_set"] = {
            "id": t.set_id,
            "population": t.population,
            "source": t.source,
            "status": t.status,
            "verified": t.verified,
            "note": t.note,
        }
    if result.cutoff is not None:
        c = result.cutoff
        out["cutoff"] = {
            "value": c.value,
            "rule": c.rule,
            "criterion": c.criterion,
            "source": c.source,
            "status": c.status,
            "verified": None if c.status is None else c.status.is_verified,
        }
    return out


def _yes(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")

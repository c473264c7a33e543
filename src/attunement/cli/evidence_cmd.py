"""``attunement evidence`` and ``attunement tailor``: the evidence registry and tailored recommendations.

Every number printed here goes through the registry's rendering methods, which append the
verification status of anything not verified, so the command line never shows an unverified
value without its label.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from attunement.cli.app import JSON_HELP, app
from attunement.cli.output import console, emit, fail
from attunement.errors import AttunementError, FieldProblem, InvalidInputError
from attunement.evidence import Entry, get_entry, load_registry
from attunement.evidence.models import TaskForce, suffix
from attunement.profile import Profile, build_profile, parse_profile
from attunement.tailoring.case import case_context
from attunement.tailoring.engine import DEFAULT_SERVICE_LANGUAGE, TailoringResult, tailor
from attunement.tailoring.support import ALERT_KINDS, Checklist, SupportContext, support_checklist

KIND_LABEL = {"element": "relationship element", "adaptation": "adaptation", "ineffective": "does not work"}


def _say(text: str, style: str | None = None) -> None:
    """Print text as it is: registry text holds square brackets that are not markup."""
    console.print(f"[{style}]{escape(text)}[/{style}]" if style else escape(text), soft_wrap=True)


def _rating_cell(entry: Entry, task_force: TaskForce) -> str:
    rating = entry.rating(task_force)
    return rating.label + suffix(rating.status) if rating else "-"


def _entry_row(entry: Entry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "name": entry.name,
        "kind": entry.kind,
        "rating_2011": _rating_json(entry, "2011"),
        "rating_2018": _rating_json(entry, "2018"),
        "headline": entry.headline_text(),
    }


def _rating_json(entry: Entry, task_force: TaskForce) -> dict[str, Any] | None:
    rating = entry.rating(task_force)
    if rating is None:
        return None
    return {
        "level": rating.level.value,
        "label": rating.label,
        "status": rating.status.value,
        "display": rating.label + suffix(rating.status),
    }


def _entry_full(entry: Entry) -> dict[str, Any]:
    citations = load_registry().citations
    data = entry.model_dump(mode="json")
    data["display"] = {
        "ratings": [r.render() for r in entry.ratings],
        "estimates": [
            {
                "id": e.id,
                "task_force": e.task_force,
                "label": e.label,
                "text": e.render(),
                "source": citations[e.source].render(),
            }
            for e in entry.estimates
        ],
        "findings": [f.render() for f in entry.findings],
        "flags": [f.render() for f in entry.flags],
    }
    data["references"] = {c: citations[c].render() for c in entry.citations}
    return data


@app.command()
def evidence(
    name: Annotated[
        str | None,
        typer.Argument(help="An entry id or name (e.g. empathy, reactance, 'R/S'); omit to list all."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """The evidence registry: relationship elements, adaptations and what does not work, with effect sizes."""
    if name is None:
        registry = load_registry()
        entries = registry.entries
        rows = [_entry_row(e) for e in entries]

        def render_list() -> None:
            _say("Evidence registry (APA task forces 2011 and 2018/19)", "bold")
            for kind, heading in (
                ("element", "Relationship elements"),
                ("adaptation", "Adaptations to the client"),
                ("ineffective", "What does not work"),
            ):
                _say(heading, "bold")
                for e in (e for e in entries if e.kind == kind):
                    ratings = (
                        f"2011: {_rating_cell(e, '2011')}; 2018: {_rating_cell(e, '2018')}"
                        if e.ratings
                        else "not rated"
                    )
                    _say(f"  {e.id}  {e.name}. {ratings}")
            _say("About the task forces", "bold")
            for citation in registry.citations.values():
                if citation.note and citation.reference.startswith("Norcross"):
                    _say(f"  {citation.reference}: {citation.note}")
            _say(
                "Values and ratings marked [unverified: ...] have not been checked against the source.", "dim"
            )
            _say("Show one entry in full: attunement evidence NAME", "dim")

        emit(rows, as_json, render_list)
        return
    try:
        entry = get_entry(name)
    except AttunementError as exc:
        fail(str(exc), as_json)
        return

    def render_one() -> None:
        citations = load_registry().citations
        _say(f"{entry.name} ({KIND_LABEL[entry.kind]}; id {entry.id})", "bold")
        _say(entry.definition)
        if entry.ratings:
            _say("Task-force ratings (consensus judgements):", "bold")
            for rating in entry.ratings:
                _say(f"  {rating.render()}")
        if entry.estimates:
            _say("Effect sizes:", "bold")
            for est in entry.estimates:
                _say(f"  [{est.task_force or 'other synthesis'}] {est.label}: {est.render()}")
                _say(f"      {citations[est.source].render()}", "dim")
                for note in est.details:
                    _say(f"      {note.render()}", "dim")
        if entry.findings:
            _say("Findings:", "bold")
            for finding in entry.findings:
                _say(f"  - {finding.render()} ({citations[finding.source].reference})")
        if entry.practice:
            _say("In practice:", "bold")
            for line in entry.practice:
                _say(f"  - {line}")
        if entry.does_not_work:
            _say("What does not work here:", "bold")
            for caution in entry.does_not_work:
                _say(f"  - {caution.text} (see {caution.see})")
        if entry.related:
            _say("Supporting entries: " + ", ".join(entry.related))
        if entry.flags:
            _say("Notes on this record:", "bold")
            for flag in entry.flags:
                _say(f"  ! {flag.render()}")
        _say("References:", "bold")
        for ref in entry.citations:
            _say(f"  {citations[ref].render()}")

    emit(_entry_full(entry), as_json, render_one)


def _read_profile(path: Path) -> Profile:
    """A profile file: either a profile (dimension -> value or observation) or answers to build one from.

    The answers form is ``{"client_id": ..., "answers": {linkId: value}, "urica": {...},
    "readiness_ruler": {...}, "cnip": {...}}``.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InvalidInputError(
            "profile file", [FieldProblem("--profile", str(path), "an existing JSON file")]
        ) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInputError("profile file", [FieldProblem(str(path), str(exc), "valid JSON")]) from exc
    if isinstance(data, dict) and "answers" in data:
        return build_profile(
            data.get("answers") or {},
            urica=data.get("urica"),
            ruler=data.get("readiness_ruler"),
            cnip=data.get("cnip"),
            client_id=data.get("client_id"),
        )
    return parse_profile(data, context=f"profile file {path.name}")


def _render_tailoring(result: TailoringResult) -> None:
    who = f" for client {result.client_id}" if result.client_id else ""
    if result.wishes:
        _say(f"What the client asked for{who}", "bold")
        for wish in result.wishes:
            _say(f"* {wish.dimension.replace('_', ' ')}: {wish.value} ({wish.said})")
    for conflict in result.conflicts:
        asked = "; ".join(w.title for w in conflict.wishes)
        _say(f"Conflict, {conflict.about.lower()}: followed the client's wish", "yellow")
        _say(f"   They asked for: {asked}")
        _say(f"   Their answers suggest instead: {conflict.trait.title} ({conflict.trait.explanation})")
        _say(f"   Talk it through: {conflict.talk}")
    _say(f"Recommendations{who}", "bold")
    _say(result.ranking, "dim")
    for rec in result.recommendations:
        _say(f"{rec.rank}. {rec.title}", "bold")
        _say(f"   Evidence: {rec.entry_name}, {rec.strength_label}; fit {rec.fit}; {rec.source}")
        _say(f"   Why: {rec.explanation}")
        for action in rec.actions:
            _say(f"   - {action}")
        _say(f"   Ratings: {rec.ratings}", "dim")
        _say(f"   Effect sizes: {rec.evidence}", "dim")
        if rec.see_also:
            _say(f"   See also: {', '.join(rec.see_also)}", "dim")
    for note in result.notes:
        _say(note, "yellow")
    if result.cautions:
        _say("Cautions: what does not work", "bold")
        for caution in result.cautions:
            _say(f"! {caution.title}", "bold")
            _say(f"   {caution.text}")
            if caution.explanation:
                _say(f"   Why now: {caution.explanation}")
            _say(f"   Listed as not working: {caution.listing}", "dim")
            if caution.evidence:
                _say(f"   Supporting evidence: {caution.evidence}", "dim")
    if result.not_recorded:
        _say(
            "Not recorded (worth asking about): "
            + ", ".join(d.replace("_", " ") for d in result.not_recorded),
            "dim",
        )
    for note in result.profile_notes:
        _say(f"Note: {note}", "yellow")


@app.command("tailor")
def tailor_cmd(
    profile: Annotated[
        Path,
        typer.Option(
            "--profile",
            "-p",
            help='JSON file: a client profile, or intake answers ({"answers": {...}, "urica": {...}}).',
        ),
    ],
    service_language: Annotated[
        str,
        typer.Option(
            "--service-language",
            help="The language the service works in; the language check fires only for another one.",
        ),
    ] = DEFAULT_SERVICE_LANGUAGE,
    case_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="The kind of case: individual, couple, family or group (adds the rules for that format).",
        ),
    ] = "individual",
    role: Annotated[
        str | None,
        typer.Option(
            "--role",
            help="The client's role: client, partner, parent, caregiver, young_person, group_member.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Ranked, explained recommendations and cautions for one client, from their intake profile.

    The client's stated wishes come first and are all listed; where a trait read from their answers
    contradicts a wish, the wish is followed and the conflict is shown. With --format (and --role)
    the rules for couples, families, groups and young people are added. --json keeps every detail."""
    try:
        client = _read_profile(profile)
        result = tailor(client, service_language=service_language, case=case_context(case_format, role))
    except AttunementError as exc:
        fail(str(exc), as_json)
        return
    payload = {"profile": client, "result": result}
    emit(payload, as_json, lambda: _render_tailoring(result))


def _render_checklist(checklist: Checklist) -> None:
    who = f" for client {checklist.client_id}" if checklist.client_id else ""
    _say(f"{checklist.alert_label}{who}", "bold")
    _say(f"Alert: {checklist.reason}")
    _say(f"Why a checklist: {checklist.evidence}", "dim")
    for section in checklist.sections:
        _say(section.title, "bold")
        _say(f"  {section.basis}", "dim")
        for item in section.items:
            mark = "[required] " if item.required else ""
            _say(f"  [ ] {mark}{item.text}  ({item.id})")


@app.command("support")
def support_cmd(
    alert: Annotated[str, typer.Option("--alert", "-a", help="Alert kind: " + ", ".join(ALERT_KINDS) + ".")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="The alert's reason, in words.")],
    profile: Annotated[
        Path | None,
        typer.Option("--profile", "-p", help="The client's profile or intake answers (JSON), as for tailor."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """The clinical support checklist for an alert, filled in with the client's own data."""
    try:
        client = _read_profile(profile) if profile else None
        checklist = support_checklist(alert, client, SupportContext(reason=reason))
    except AttunementError as exc:
        fail(str(exc), as_json)
        return
    emit(checklist, as_json, lambda: _render_checklist(checklist))

"""The intake questions in parts: which part a client's next link carries.

Asked at once, the intake questions and the first session's measures made one long form on a
phone. They are asked in parts instead, one part with each of a client's first links
(``intake_parts.json`` holds the parts and why they come in that order). A part counts as asked
once a client has sent a form that carried it, even with every question skipped (each one is
optional), or once any of its questions has an answer; a part on a link still waiting for an
answer is not put on a second link. Pure: the caller says what was asked and what is waiting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from attunement.datafiles import load_json_model
from attunement.errors import DefinitionError
from attunement.instruments.registry import get_instrument

PARTS_FILE = Path(__file__).with_name("intake_parts.json")
INTAKE = "intake_profile"


class _PartEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    number: int = Field(ge=1)
    title: str = Field(min_length=1)
    groups: list[str] = Field(min_length=1)


class _PartsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    note: str
    parts: list[_PartEntry] = Field(min_length=1)


@dataclass(frozen=True)
class IntakePart:
    """One part: its number (1, 2, ...), a title a client reads, and its questions' linkIds."""

    number: int
    title: str
    items: frozenset[str]
    of: int

    @property
    def name(self) -> str:
        return f"part {self.number} of {self.of}"


def _group_items(items: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each group's linkId -> the linkIds of the questions inside it (display items aside)."""
    found: dict[str, list[str]] = {}
    for item in items:
        if item.get("type") == "group":
            inner = _group_items(item.get("item", []))
            found[item["linkId"]] = [
                i["linkId"] for i in item.get("item", []) if i.get("type") not in ("group", "display")
            ] + [link for group in inner.values() for link in group]
            found.update(inner)
    return found


@cache
def intake_parts() -> tuple[IntakePart, ...]:
    """The parts, in order; refused unless every intake question is in exactly one part."""
    data = load_json_model(PARTS_FILE, _PartsFile)
    instrument = get_instrument(INTAKE)
    groups = _group_items(instrument.questionnaire.get("item", []))
    numbers = [p.number for p in data.parts]
    if numbers != list(range(1, len(numbers) + 1)):
        raise DefinitionError(f"{PARTS_FILE.name}: parts must be numbered 1, 2, ... in order, got {numbers}")
    parts = []
    for entry in data.parts:
        unknown = [g for g in entry.groups if g not in groups]
        if unknown:
            raise DefinitionError(f"{PARTS_FILE.name}: part {entry.number} names unknown groups {unknown}")
        items = frozenset(link for g in entry.groups for link in groups[g])
        parts.append(IntakePart(entry.number, entry.title, items, len(data.parts)))
    placed = [link for p in parts for link in p.items]
    questions = set(instrument.items)
    if len(placed) != len(set(placed)) or set(placed) != questions:
        missing, twice = questions - set(placed), {x for x in placed if placed.count(x) > 1}
        raise DefinitionError(
            f"{PARTS_FILE.name}: every intake question must be in exactly one part "
            f"(missing {sorted(missing)}, in two parts {sorted(twice)})"
        )
    return tuple(parts)


def get_part(number: int) -> IntakePart:
    for part in intake_parts():
        if part.number == number:
            return part
    raise KeyError(number)


def answered_parts(answers: Iterable[Mapping[str, object]]) -> set[int]:
    """The parts holding at least one answered question in any of ``answers``."""
    given = {link for one in answers for link in one}
    return {p.number for p in intake_parts() if p.items & given}


def next_part(asked: Iterable[int], waiting: Iterable[int] = ()) -> IntakePart | None:
    """The first part neither asked nor waiting on an open link; None once every part is."""
    taken = set(asked) | set(waiting)
    return next((p for p in intake_parts() if p.number not in taken), None)


def merge_answers(rows: Iterable[Mapping[str, float | str]]) -> dict[str, float | str]:
    """One set of answers from a client's intake rows, oldest first: each question's latest
    answer (a question left blank later keeps the answer given before)."""
    merged: dict[str, float | str] = {}
    for row in rows:
        merged.update(row)
    return merged

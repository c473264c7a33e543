"""The alert kinds, read from ``kinds.json``: the one list that the rules, the support checklist,
the lifecycle, the pages and the batch all use (order of urgency, label, checklist, whether a
kind outlasts the end of an episode and whether it needs a recorded action)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from attunement.datafiles import load_json_model

KINDS_FILE = Path(__file__).with_name("kinds.json")


class Kind(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    label: str
    checklist: str
    outlasts_episode: bool
    needs_action: bool
    note: str


class KindList(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str
    kinds: tuple[Kind, ...]


@cache
def alert_kinds() -> tuple[Kind, ...]:
    """Every kind, most urgent first."""
    return load_json_model(KINDS_FILE, KindList).kinds


@cache
def kind(kind_id: str) -> Kind:
    """One kind by id (a KeyError names an unknown one)."""
    return {k.id: k for k in alert_kinds()}[kind_id]

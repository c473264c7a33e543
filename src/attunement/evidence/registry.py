"""Load the evidence registry shipped beside this module and look entries up.

The registry is data (``registry.json``), validated on load: a number without a citation or a
status, a dangling citation or a caution that points nowhere stops the load with the reason.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from attunement.datafiles import load_json_model
from attunement.errors import AttunementError, DefinitionError
from attunement.evidence.models import Entry, Registry

REGISTRY_FILE = Path(__file__).with_name("registry.json")


class UnknownEntryError(AttunementError, KeyError):
    """A registry id or name that no entry has."""

    def __init__(self, name: str, known: list[str]):
        self.name = name
        self.known = known
        super().__init__(f"no evidence entry {name!r}; expected one of: {', '.join(sorted(known))}")

    def __str__(self) -> str:
        return str(self.args[0])


def parse_registry(data: dict[str, Any], origin: str = "<data>") -> Registry:
    try:
        return Registry.model_validate(data)
    except ValidationError as exc:
        raise DefinitionError(f"{origin}: {exc}") from exc


@cache
def load_registry(path: Path = REGISTRY_FILE) -> Registry:
    """The whole registry, validated."""
    return load_json_model(path, Registry)


def get_entry(name: str) -> Entry:
    """An entry by id, name or alias, forgiving case and punctuation ("R/S" finds religion_spirituality)."""
    registry = load_registry()
    entries = registry.by_id()
    if name in entries:
        return entries[name]
    wanted = _normalise(name)
    for entry in registry.entries:
        if wanted in {_normalise(n) for n in (entry.id, entry.name, *entry.aliases)}:
            return entry
    raise UnknownEntryError(name, list(entries))


def _normalise(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())

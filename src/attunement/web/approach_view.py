"""What the "one approach for everyone" check shows: the verdict per therapist, and why it matters
with the registry entries behind it (the practice listed as not working, and the adaptations
found to work)."""

from __future__ import annotations

from dataclasses import dataclass

from attunement.evidence import get_entry

#: The registry entries that say why the check matters: the listing, and the adaptations whose
#: matching goes with better outcome.
WHY_ENTRIES = ("procrustean_bed", "preferences", "reactance")
#: Verdicts a clinician should act on: one way of working, or ways that do not follow profiles.
WARNING_VERDICTS = frozenset({"one_approach", "not_tailored"})


@dataclass(frozen=True)
class EvidenceLine:
    id: str
    name: str
    says: str


def why_it_matters() -> list[EvidenceLine]:
    lines = []
    for entry_id in WHY_ENTRIES:
        entry = get_entry(entry_id)
        says = (
            "; ".join(f.render() for f in entry.findings)
            if entry.kind == "ineffective"
            else (f"{entry.strength_text()}. {entry.headline_text()}")
        )
        lines.append(EvidenceLine(entry.id, entry.name, says))
    return lines

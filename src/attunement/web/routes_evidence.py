"""One evidence registry entry in full, where a recommendation on a client page links to it.

The registry holds no client data, so viewing it is not audited; it is still shown only to
signed-in clinicians and supervisors, the people who read recommendations.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from attunement.evidence import load_registry
from attunement.web.dependencies import ClientReader
from attunement.web.pages import NotFound, render

router = APIRouter()


@router.get("/evidence/{entry_id}")
def evidence_entry(request: Request, entry_id: str, user: ClientReader):
    registry = load_registry()
    entry = registry.by_id().get(entry_id)
    if entry is None:
        raise NotFound()
    context = {
        "entry": entry,
        "estimates": [(e, registry.citations[e.source].render()) for e in entry.estimates],
        "references": [registry.citations[c].render() for c in entry.citations],
    }
    return render(request, "evidence_entry.html", context)

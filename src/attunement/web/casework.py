"""Load a set of clients' summaries for the pages, and one client's histories for its charts."""

from __future__ import annotations

from sqlalchemy.orm import Session

from attunement.prediction.histories import Histories
from attunement.store.models import Client
from attunement.web.summaries import ClientSummary
from attunement.web.summary_store import histories_of, summaries_for

__all__ = ["load", "summaries_for"]


def load(db: Session, clients: list[Client]) -> tuple[Histories | None, dict[int, ClientSummary]]:
    """The summaries, and the histories of the first client (None when it has no scores yet)."""
    summaries = summaries_for(db, clients)
    if not clients:
        return None, summaries
    return histories_of(clients[0], summaries[clients[0].id]), summaries

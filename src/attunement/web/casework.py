"""Load a set of clients from the database and summarise them for the pages."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from attunement.errors import InvalidInputError
from attunement.prediction.histories import Histories, histories_from_tables
from attunement.store.clients import episodes_table, measures_table
from attunement.store.models import AlertRecord, Client
from attunement.web.alert_source import current_alerts
from attunement.web.summaries import ClientSummary, summarise


def summaries_for(db: Session, clients: list[Client]) -> dict[int, ClientSummary]:
    """Scores, change and alerts (with their records) per client id."""
    return load(db, clients)[1]


def load(db: Session, clients: list[Client]) -> tuple[Histories | None, dict[int, ClientSummary]]:
    """The clients' histories (None when there is nothing to hold) and their summaries."""
    if not clients:
        return None, {}
    measures = measures_table(db, [c.id for c in clients])
    episodes = episodes_table(db, clients)
    try:
        histories = histories_from_tables(measures, episodes)
    except InvalidInputError:  # nothing the histories can hold yet (no forms, or ratings only)
        return None, {c.id: _empty(c) for c in clients}
    alerts = current_alerts(histories)
    records = {
        (str(r.client_id), r.session, r.kind): (r.seen_at is not None, r.action)
        for r in db.scalars(select(AlertRecord).where(AlertRecord.client_id.in_([c.id for c in clients])))
    }
    found = summarise(histories, alerts, records)
    return histories, {c.id: found.get(str(c.id)) or _empty(c) for c in clients}


def _empty(client: Client) -> ClientSummary:
    return ClientSummary(str(client.id), 0, [], [], [], [], None, None, [])

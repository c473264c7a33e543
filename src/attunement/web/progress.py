"""The client's own progress, for the thank-you page: their scores by session, plainly."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from attunement.instruments import get_instrument
from attunement.store.models import Client
from attunement.store.summary_store import summaries_for
from attunement.web.charts_slot import progress_svg


@dataclass(frozen=True)
class ProgressSeries:
    instrument: str
    title: str
    direction_words: str
    points: list[tuple[int, float]]
    svg: str | None


def client_progress(db: Session, client_id: int) -> list[ProgressSeries]:
    client = db.get(Client, client_id)
    if client is None:
        return []
    summary = summaries_for(db, [client])[client_id]
    out = []
    for name in ("phq9", "gad7"):
        values = getattr(summary, name)
        points = [(s + 1, float(v)) for s, v in enumerate(values) if v is not None]
        if not points:
            continue
        instrument = get_instrument(name)
        out.append(
            ProgressSeries(
                instrument=name,
                title=instrument.short_name,
                direction_words="Lower scores mean fewer difficulties.",
                points=points,
                svg=progress_svg(name, points),
            )
        )
    return out

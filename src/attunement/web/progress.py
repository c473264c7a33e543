"""The client's own progress, for the thank-you page: their scores by session, plainly."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from attunement.instruments import get_instrument
from attunement.prediction.histories import histories_from_tables
from attunement.store.clients import measures_table
from attunement.web.charts_slot import progress_svg


@dataclass(frozen=True)
class ProgressSeries:
    instrument: str
    title: str
    direction_words: str
    points: list[tuple[int, float]]
    svg: str | None


def client_progress(db: Session, client_id: int) -> list[ProgressSeries]:
    measures = measures_table(db, [client_id])
    if measures.empty:
        return []
    histories = histories_from_tables(measures)
    out = []
    for name in ("phq9", "gad7"):
        values = histories.score(name)[0]
        points = [(s + 1, float(v)) for s, v in enumerate(values) if v == v]
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

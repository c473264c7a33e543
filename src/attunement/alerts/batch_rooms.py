"""The room alerts of ``alerts --batch``: split alliance for each couple and family, cohesion for
each group, at the case's latest session.

Cases are a small part of any service's tables and each needs all its participants together, so
they are read apart from the block-by-block path of :mod:`attunement.alerts.batch`: only the rows
with a ``case_id`` (a Parquet table is filtered as it is read), checked as
:func:`attunement.tables.read_measures` checks any table. A participant whose episode has ended
(``end_reason`` other than ``ongoing``) gets no room alert, as for every alert but safety; the
participants' safety alerts come from the ordinary path, which reads their rows like any client's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq

from attunement.alerts.alert import NEEDS_ACTION
from attunement.alerts.case_ratings import case_ratings
from attunement.alerts.engine import BASE_COLUMNS
from attunement.alerts.room import room_alerts
from attunement.tables import CASE_ID, ONGOING, normalise_measures, read_episodes
from attunement.tables.files import find_table, read_table

CONTEXT = "alerts --batch"


@dataclass(frozen=True)
class RoomBatch:
    """The room alerts of a folder: one row per alert, the columns of
    :func:`attunement.alerts.engine.alert_table` plus ``case_id``."""

    alerts: pd.DataFrame
    cases: int
    participants: int
    measure_rows: int


def batch_room_alerts(folder: str | Path) -> RoomBatch:
    """The room alerts of every case in ``folder`` at its latest session."""
    folder = Path(folder)
    measures = _case_rows(find_table(folder, "measures", context=CONTEXT))
    if measures is None:
        return RoomBatch(_empty(), 0, 0, 0)
    episodes_path = find_table(folder, "episodes", required=False, context=CONTEXT)
    episodes = read_episodes(episodes_path) if episodes_path is not None else None
    rooms = case_ratings(measures, episodes)
    ended = set()
    if episodes is not None:
        ended = set(episodes.loc[episodes["end_reason"] != ONGOING, "client_id"].astype(str))
    rows = []
    for room in rooms:
        for found in room_alerts(room):
            if found.participant in ended:
                continue
            alert = found.alert()
            rows.append(
                {
                    "client_id": alert.client_id,
                    "episode_id": None,
                    "case_id": room.case_id,
                    "session": alert.session,
                    "kind": alert.kind,
                    "severity": alert.severity,
                    "probability": np.nan,
                    "requires_action": alert.kind in NEEDS_ACTION,
                    "action_recorded": False,
                    "reason": alert.reason,
                    **{f"{alert.kind}_{name}": value for name, value in alert.figures.items()},
                }
            )
    return RoomBatch(
        alerts=pd.DataFrame(rows) if rows else _empty(),
        cases=len(rooms),
        participants=sum(len(room.participants) for room in rooms),
        measure_rows=len(measures),
    )


def _case_rows(path: Path) -> pd.DataFrame | None:
    """The measures rows that belong to a case, checked; None when the table has no case_id."""
    if path.suffix == ".parquet":
        if CASE_ID not in pq.read_schema(path).names:
            return None
        table = pq.read_table(path, filters=pc.field(CASE_ID).is_valid())
        frame = table.to_pandas()
    else:
        if CASE_ID not in pd.read_csv(path, nrows=0).columns:
            return None
        frame = read_table(path)
        frame = frame[frame[CASE_ID].notna()]
    return normalise_measures(frame.reset_index(drop=True)) if len(frame) else None


def _empty() -> pd.DataFrame:
    columns = list(BASE_COLUMNS)
    columns.insert(columns.index("session"), CASE_ID)
    return pd.DataFrame(columns=columns)

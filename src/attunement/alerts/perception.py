"""Perception gap: the therapist rates the session's relationship clearly higher than the client.

Therapists tend to see the relationship more favourably than their clients and to miss clients
who are getting worse, so a therapist's estimate well above the client's own check-in is worth
a conversation. The threshold (``parameters.json``) lies beyond the combined session-to-session
noise of the two ratings and above a therapist's usual optimism; a larger gap, or a gap at a
session where the client's check-in has also dropped below their own level, is shown as medium.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from attunement.alerts.fired import Fired, at, join, latest, text
from attunement.alerts.parameters import PerceptionGapParameters, load_parameters
from attunement.prediction.histories import Histories


def perception_gap_alerts(
    histories: Histories, rupture_now: np.ndarray | None = None, params: PerceptionGapParameters | None = None
) -> Fired:
    """``rupture_now`` (one bool per client) marks a rupture alert at the latest session."""
    p = params or load_parameters().perception_gap
    rows, cols = latest(histories)
    client = at(histories.score("checkin"), rows, cols)
    therapist = at(histories.score("checkin_therapist"), rows, cols)
    with np.errstate(invalid="ignore"):
        gap = therapist - client
        fires = gap >= p.gap_points.value - 1e-9
    strained = np.zeros(len(rows), dtype=bool) if rupture_now is None else rupture_now[rows]
    high = (gap >= p.gap_points_high.value - 1e-9) | strained
    pick = np.flatnonzero(fires)
    session = cols[pick] + 1
    reason = join(
        "At session ",
        text(session, 0),
        " the therapist rated the relationship ",
        text(therapist[pick]),
        ", ",
        text(gap[pick]),
        " points higher than the client's own check-in of ",
        text(client[pick]),
        pa.array(np.where(strained[pick], ", at a session where the client's check-in dropped", "")),
    )
    return Fired(
        kind="perception_gap",
        rows=rows[pick],
        session=session,
        severity=np.where(high[pick], "medium", "low").astype(object),
        reason=reason,
        figures={
            "checkin": np.round(client[pick], 2),
            "checkin_therapist": np.round(therapist[pick], 2),
            "gap": np.round(gap[pick], 2),
            "threshold": np.full(len(pick), p.gap_points.value),
        },
    )

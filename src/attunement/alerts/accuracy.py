"""How well the rupture rule finds the simulator's true rupture episodes.

Two views, because a clinician meets ruptures both ways:

- **per session**: at every attended session from 2 to ``last_session``, is a true rupture in
  progress (:meth:`Labels.rupture_in_progress`) and does the rule alert? Precision is the share of
  alerts with a rupture in progress, recall the share of in-progress sessions alerted;
- **per episode**: a true episode (one whose start session the client attended) counts as
  detected when the rule alerts at its start session or within ``window`` sessions after it;
  an alert episode (a session that alerts when the session before did not) counts as correct when
  it begins while a true rupture is in progress or within ``window`` sessions of a true start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attunement.alerts.parameters import RuptureParameters
from attunement.alerts.rupture import rupture_course
from attunement.prediction.histories import Histories
from attunement.prediction.outcomes import Labels


@dataclass(frozen=True)
class RuptureAccuracy:
    clients: int
    true_episodes: int
    session_precision: float
    session_recall: float
    episode_recall: dict[int, float]
    episode_precision: float
    alert_episodes: int
    alerted_sessions: int
    in_progress_sessions: int


def rupture_accuracy(
    histories: Histories,
    labels: Labels,
    window: int = 2,
    last_session: int = 20,
    params: RuptureParameters | None = None,
) -> RuptureAccuracy:
    course = rupture_course(histories.score("checkin"), params)
    alerting = course.alerting
    width = min(last_session, histories.max_session)
    attended = histories.sessions[:, None] >= np.arange(1, width + 1)[None, :]
    truth = np.column_stack([labels.rupture_in_progress(s) for s in range(1, width + 1)]) & attended
    alert = alerting[:, :width] & attended
    pick = np.zeros_like(attended)
    pick[:, 1:] = True  # from session 2: session 1 has nothing to drop from
    tp = (alert & truth & pick).sum()
    start = labels.rupture_start
    if start is None:
        raise ValueError("rupture labels need the simulator's truth_ruptures table")
    happened = (start > 0) & (histories.sessions >= start)
    recall = {}
    for k in range(window + 1):
        hit = np.zeros(len(histories), dtype=bool)
        for offset in range(k + 1):
            col = start - 1 + offset
            ok = happened & (col < alerting.shape[1]) & (histories.sessions > col)
            hit[ok] |= alerting[np.flatnonzero(ok), col[ok]]
        recall[k] = float(hit[happened].mean()) if happened.any() else float("nan")
    onset = alert.copy()
    onset[:, 1:] &= ~alert[:, :-1]
    sessions = np.arange(1, width + 1)[None, :]
    near_start = happened[:, None] & (sessions >= start[:, None]) & (sessions <= start[:, None] + window)
    correct = onset & (truth | near_start)
    return RuptureAccuracy(
        clients=len(histories),
        true_episodes=int(happened.sum()),
        session_precision=float(tp / max((alert & pick).sum(), 1)),
        session_recall=float(tp / max((truth & pick).sum(), 1)),
        episode_recall=recall,
        episode_precision=float(correct.sum() / max(onset.sum(), 1)),
        alert_episodes=int(onset.sum()),
        alerted_sessions=int((alert & pick).sum()),
        in_progress_sessions=int((truth & pick).sum()),
    )

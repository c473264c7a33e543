"""The relationship check-in: a stable person level, a lagged link with symptoms, and ruptures.

Client-rated alliance is mostly a stable, high person-level component (most variance lies
between patients), with a small lagged coupling with symptom change (standardised about
.1-.2) and rupture episodes in about half of clients (prediction.md section 9.5-9.6). The latent
check-in of client i at session s is

    A(s) = a_i + coupling * (x_phq9 - y_phq9(s - 1)) / sd_intake_phq9 - D(s)      (s >= 2)
    A(1) = a_i - D(1)

where a_i is the person level and D(s) the rupture drop: a drop of ``depth`` at the start
session r that shrinks by ``repair_rate`` each later session when repaired, and stays when not:

    D(s) = depth * repair_rate ** (s - r)   (repaired, s >= r)
    D(s) = depth                            (unrepaired, s >= r)

The therapist's estimate is A(s) plus the therapist's bias plus the part of the drop they miss:
``A(s) + bias_t + (1 - seen) * D(s)``. Observed scores add Gaussian noise, then round and clip
to the 0-10 scale (:mod:`attunement.simulation.observation`). All functions are pure and return
the deterministic part that a likelihood needs.
"""

from __future__ import annotations

import numpy as np

from attunement.simulation.trajectory import sessions_axis


def rupture_drop(
    max_sessions: int,
    start: np.ndarray,
    depth: np.ndarray,
    repaired: np.ndarray,
    repair_rate: float,
) -> np.ndarray:
    """D(s) per client and session; zero for clients without a rupture (``start`` 0)."""
    sessions = sessions_axis(max_sessions)[None, :]
    r = np.asarray(start, dtype=float)[:, None]
    after = sessions - r
    decay = np.where(np.asarray(repaired, dtype=bool)[:, None], repair_rate ** np.maximum(after, 0.0), 1.0)
    return np.where((r > 0) & (after >= 0), np.asarray(depth, dtype=float)[:, None] * decay, 0.0)


def unrepaired_active(max_sessions: int, start: np.ndarray, repaired: np.ndarray) -> np.ndarray:
    """Whether an unrepaired rupture has started by session s (per client and session)."""
    sessions = sessions_axis(max_sessions)[None, :]
    r = np.asarray(start, dtype=float)[:, None]
    return (r > 0) & ~np.asarray(repaired, dtype=bool)[:, None] & (sessions >= r)


def latent_checkin(
    level: np.ndarray,
    phq9_intake: np.ndarray,
    phq9_latent: np.ndarray,
    intake_sd: float,
    coupling: float,
    drop: np.ndarray,
) -> np.ndarray:
    """A(s): the client's latent check-in per session (see module doc); may exceed the scale."""
    improvement = (np.asarray(phq9_intake, dtype=float)[:, None] - phq9_latent) / intake_sd
    lagged = np.zeros_like(phq9_latent)
    lagged[:, 1:] = improvement[:, :-1]
    return np.asarray(level, dtype=float)[:, None] + coupling * lagged - drop


def therapist_view(alliance: np.ndarray, drop: np.ndarray, bias: np.ndarray, seen: float) -> np.ndarray:
    """The expected therapist estimate: the client's latent check-in, optimistic by ``bias``,
    missing ``1 - seen`` of any rupture drop."""
    return alliance + np.asarray(bias, dtype=float)[:, None] + (1.0 - seen) * drop

"""Expected symptom trajectories: the deterministic part of the symptom model.

Every client has a latent trajectory class k, an intake severity x (one per measure), and a
*change share* c. The class gives a curve f_k(s) over sessions s = 1, 2, ... with f_k(1) = 0
that rises to 1; the client's *progress* at session s is

    P(s) = c * f_k(s) - loss * [unrepaired rupture started before s]

and the latent score moves from the intake score toward the healthy end (c > 0) or toward the
scale maximum M (c < 0) in proportion to P:

    y(s) = x - P(s) * x          when P(s) >= 0
    y(s) = x - P(s) * (M - x)    when P(s) < 0

so a latent score never leaves [0, M] while |P| <= 1. The observed score is y(s) plus Gaussian
measurement noise, rounded and clipped (:mod:`attunement.simulation.observation`).

These are the pieces a likelihood needs: given a class and the client's parameters, the expected
score at every session is fixed, and all randomness left is measurement noise. They take and
return numpy arrays and read nothing, so a later posterior computation can call them directly.
"""

from __future__ import annotations

import numpy as np

from attunement.simulation.specification import Shape, SimulationParameters


def sessions_axis(max_sessions: int) -> np.ndarray:
    """Session numbers 1..max_sessions (the column index of every per-session array)."""
    return np.arange(1, max_sessions + 1, dtype=float)


def shape_curve(shape: Shape, sessions: np.ndarray) -> np.ndarray:
    """f(s): the share of a class's change reached by session s (0 at the first session).

    - exponential: 1 - exp(-(s - 1) / time_constant) (fast early change);
    - linear: min(1, (s - 1) / duration) (steady change, then a plateau);
    - delayed: 0 up to the onset session, then 1 - exp(-(s - onset) / time_constant).
    """
    s = np.asarray(sessions, dtype=float)
    if shape.kind == "exponential":
        return 1.0 - np.exp(-(s - 1.0) / shape.needed("time_constant"))
    if shape.kind == "linear":
        return np.clip((s - 1.0) / shape.needed("duration"), 0.0, 1.0)
    onset = shape.needed("onset")
    return np.where(s <= onset, 0.0, 1.0 - np.exp(-(s - onset) / shape.needed("time_constant")))


def class_curves(profile: SimulationParameters) -> np.ndarray:
    """f_k(s) for every class (rows, in ``profile.class_names`` order) and session (columns)."""
    sessions = sessions_axis(profile.max_sessions)
    return np.stack([shape_curve(c.shape, sessions) for c in profile.classes.values()])


def progress(
    change_share: np.ndarray,
    curve: np.ndarray,
    rupture_session: np.ndarray,
    rupture_repaired: np.ndarray,
    progress_loss: float,
) -> np.ndarray:
    """P(s) per client (rows) and session (columns).

    ``curve`` is f_k(s) of each client's class (n x S); ``rupture_session`` is the session at
    which the client's rupture starts (0 for none). An unrepaired rupture costs ``progress_loss``
    from the session after it starts. P is kept within [-1, 1] so that latent scores stay on
    the scale.
    """
    sessions = sessions_axis(curve.shape[1])
    c = np.asarray(change_share, dtype=float)[:, None]
    start = np.asarray(rupture_session, dtype=float)[:, None]
    unrepaired = (start > 0) & ~np.asarray(rupture_repaired, dtype=bool)[:, None]
    raw = c * curve - progress_loss * (unrepaired & (sessions[None, :] > start))
    return np.clip(raw, -1.0, 1.0)


def expected_scores(intake: np.ndarray, progress_: np.ndarray, maximum: float) -> np.ndarray:
    """The latent score y(s) from the latent intake score and the progress P(s) (see module doc)."""
    x = np.asarray(intake, dtype=float)[:, None]
    room = np.where(progress_ >= 0, x, maximum - x)
    return x - progress_ * room

"""How a course ends: an agreed ending when good enough, a planned maximum, or dropout.

Treatment length is responsive (the good-enough level model, Bone et al. 2021): a client ends
by agreement once their progress reaches their own good-enough level, and at the latest at their
planned maximum, which has a heavy right tail. Otherwise, after each attended session the client
may not come back (dropout), with a hazard that rises with poor progress, a weak relationship and
an unrepaired rupture. After attending session s:

    completed with probability   e(s) = 1                                   if s >= planned
                                 e(s) = q * [P(s) >= g] * [s >= earliest]   otherwise
    dropout with probability     (1 - e(s)) * d(s),
    logit d(s) = base + first * [s = 1] - b_progress * P(s)
                 + b_alliance * (mean_level - A(s)) / sd_level + b_rupture * U(s) + group shift

where P(s) is the symptom progress, g the client's good-enough level, A(s) the latent check-in
and U(s) whether an unrepaired rupture has started. The hazards depend only on the client's
latent state, never on the noisy questionnaire answers, so the distribution of the end of the
course follows exactly from the client's parameters (:func:`end_distribution`).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from attunement.simulation.specification import Endings
from attunement.simulation.trajectory import sessions_axis


def completion_probability(
    progress_: np.ndarray,
    good_enough: np.ndarray,
    planned: np.ndarray,
    ending_probability: float,
    earliest: float,
) -> np.ndarray:
    """e(s): the probability that session s is the last one by agreement or plan."""
    sessions = sessions_axis(progress_.shape[1])[None, :]
    ready = (progress_ >= np.asarray(good_enough, dtype=float)[:, None]) & (sessions >= earliest)
    agreed = np.where(ready, ending_probability, 0.0)
    return np.where(sessions >= np.asarray(planned, dtype=float)[:, None], 1.0, agreed)


def dropout_probability(
    progress_: np.ndarray,
    alliance: np.ndarray,
    unrepaired: np.ndarray,
    group_shift: np.ndarray,
    endings: Endings,
    level_mean: float,
    level_sd: float,
) -> np.ndarray:
    """d(s): the probability of not returning after session s, if the course goes on."""
    first = np.zeros(progress_.shape[1])
    first[0] = endings.dropout_logit_first_session.value
    logit = (
        endings.dropout_logit_base.value
        + first[None, :]
        - endings.dropout_progress_effect.value * progress_
        + endings.dropout_alliance_effect.value * (level_mean - alliance) / level_sd
        + endings.dropout_unrepaired_rupture_effect.value * unrepaired
        + np.asarray(group_shift, dtype=float)[:, None]
    )
    return expit(logit)


def end_distribution(completion: np.ndarray, dropout: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P(last session = s and the course was completed) and P(last session = s and dropout).

    Both n x S. The last column always ends the course (the planned maximum never exceeds the
    session limit), so each row of the two arrays sums to 1.
    """
    stop_done = completion
    stop_drop = (1.0 - completion) * dropout
    reached = survival(completion, dropout)
    return reached * stop_done, reached * stop_drop


def survival(completion: np.ndarray, dropout: np.ndarray) -> np.ndarray:
    """S(s) = P(the course reaches session s): the product of not ending after sessions 1..s-1."""
    carry_on = (1.0 - completion) * (1.0 - dropout)
    reached = np.ones_like(completion)
    reached[:, 1:] = np.cumprod(carry_on[:, :-1], axis=1)
    return reached


def draw_ends(
    completion: np.ndarray, dropout: np.ndarray, uniforms: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Draw each client's last session (1-based) and whether they dropped out.

    One uniform per client and session: below e(s) the course ends by agreement or plan; between
    e(s) and e(s) + (1 - e(s)) d(s) the client drops out; otherwise the course goes on.
    """
    stop_done = completion
    stop_any = completion + (1.0 - completion) * dropout
    ends = uniforms < stop_any
    ends[:, -1] = True
    last = ends.argmax(axis=1)
    rows = np.arange(len(last))
    dropped = uniforms[rows, last] >= stop_done[rows, last]
    return last + 1, dropped

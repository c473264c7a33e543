"""The true probability of each outcome for each client, computed exactly from the model.

Conditioning on everything drawn at intake (the client's class and parameters, the therapist,
the scheduled rupture) and on the observed first PHQ-9 and GAD-7 scores, what is left random is
which session ends the course and how, which later forms are missed, and the measurement noise
of the last scores. All three are integrated out exactly, instead of by re-simulation:

1. the end of the course: P(last session = L, reason) from the per-session hazards
   (:func:`attunement.simulation.endings.end_distribution`);
2. the last *observed* session j <= L: forms after the first are missed independently with
   probability m, so P(j | L) = (1 - m) m^(L - j) for j >= 2 and m^(L - 1) for j = 1;
   summing over L gives W(j) = P(last observed session = j) by a backward recursion;
3. the last scores at session j: rounded, clipped Gaussian around the latent scores, PHQ-9 and
   GAD-7 independent given them (:mod:`attunement.simulation.observation`).

Outcomes follow the NHS Talking Therapies paired definitions (the thresholds and rules of the
instrument definitions, :mod:`attunement.simulation.scales`), applied to the first and the last
observed scores of the course, whether or not it counts as finished:

- reliable improvement: reliable improvement on PHQ-9 or GAD-7 and reliable deterioration on
  neither; ``p_no_reliable_improvement`` is its complement;
- reliable deterioration: reliable deterioration on PHQ-9 or GAD-7;
- recovery: at caseness at the first session and below caseness on both at the last (missing,
  NaN, for clients not at caseness at the first session, who are outside the rate);
- dropout: the course ends by the client not coming back;
- finished: at least two attended sessions (the national "finished a course" rule, read from
  the NHS Talking Therapies parameter file).

A course with one attended session has its first scores as its last, so it shows no reliable
change and no recovery.
"""

from __future__ import annotations

import numpy as np

from attunement.change.nhs_talking_therapies import parameters as nhs_parameters
from attunement.simulation.endings import end_distribution
from attunement.simulation.observation import probability_at_most
from attunement.simulation.paths import LatentPaths
from attunement.simulation.scales import OutcomeScale, outcome_ids, outcome_scale

OUTCOME_COLUMNS = (
    "p_finished",
    "p_dropout",
    "p_reliable_improvement",
    "p_no_reliable_improvement",
    "p_reliable_deterioration",
    "p_recovery",
)


def forms_missed_after(end_probability: np.ndarray, miss: float) -> np.ndarray:
    """R(j) = P(the course lasts at least to session j and every form after j is missed).

    R(j) = sum over L >= j of P(L) m^(L - j), by the backward recursion R(j) = P(j) + m R(j + 1);
    one column per session (n x S).
    """
    n, sessions = end_probability.shape
    reach = np.zeros((n, sessions + 1))
    for j in range(sessions - 1, -1, -1):
        reach[:, j] = end_probability[:, j] + miss * reach[:, j + 1]
    return reach[:, :sessions]


def last_observed_weights(end_probability: np.ndarray, miss: float) -> np.ndarray:
    """W(j) = P(last observed session = j) from P(last attended session = L) (rows sum to 1)."""
    reach = forms_missed_after(end_probability, miss)
    weights = (1.0 - miss) * reach
    weights[:, 0] = reach[:, 0]
    return weights


def measure_probabilities(
    scale: OutcomeScale, first: np.ndarray, latent: np.ndarray, noise_sd: float, caseness: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per session j: P(reliable improvement), P(reliable deterioration), P(not at caseness)
    when session j holds the last scores, given the first observed score (n) and latent (n x S)."""
    first = np.asarray(first, dtype=float)
    improved_max = scale.largest_improved(first)[:, None]
    stable_max = scale.largest_not_deteriorated(first)[:, None]
    improved = probability_at_most(improved_max, latent, noise_sd, scale.maximum)
    deteriorated = 1.0 - probability_at_most(stable_max, latent, noise_sd, scale.maximum)
    if not caseness:
        return improved, deteriorated, None
    not_case = probability_at_most(
        np.full_like(first, scale.largest_not_case())[:, None], latent, noise_sd, scale.maximum
    )
    return improved, deteriorated, not_case


def combine_measures(
    improved: tuple[np.ndarray, np.ndarray], deteriorated: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """P(reliable improvement) and P(reliable deterioration) of the pair from each measure's
    probabilities (PHQ-9, GAD-7), independent given the latent scores: improvement on either and
    deterioration on neither; deterioration on either. Also right for 0/1 observed indicators."""
    (i1, i2), (d1, d2) = improved, deteriorated
    same1, same2 = 1.0 - i1 - d1, 1.0 - i2 - d2
    improvement = (1.0 - d1) * (1.0 - d2) - same1 * same2
    deterioration = 1.0 - (1.0 - d1) * (1.0 - d2)
    return improvement, deterioration


def observed_change(
    scale: OutcomeScale, first: np.ndarray, last: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Whether an observed last score is a reliable improvement / deterioration on the first (0/1)."""
    first = np.asarray(first, dtype=float)
    last = np.asarray(last, dtype=float)
    improved = last <= scale.largest_improved(first)
    deteriorated = last > scale.largest_not_deteriorated(first)
    return improved.astype(float), deteriorated.astype(float)


def session_outcome_probabilities(
    phq9: np.ndarray,
    gad7: np.ndarray,
    phq9_first: np.ndarray,
    gad7_first: np.ndarray,
    phq9_noise_sd: float,
    gad7_noise_sd: float,
    recovery: bool = True,
) -> dict[str, np.ndarray]:
    """Per client and session j: the probability of each paired outcome if session j holds the
    last observed scores, given the latent scores (n x S) and the first observed scores (n).
    Column 0 (the first session as the last) shows no change and no recovery. ``recovery=False``
    leaves recovery out (it costs two more normal CDFs per value)."""
    dep, anx = (outcome_scale(i) for i in outcome_ids())
    i1, d1, n1 = measure_probabilities(dep, phq9_first, phq9, phq9_noise_sd, recovery)
    i2, d2, n2 = measure_probabilities(anx, gad7_first, gad7, gad7_noise_sd, recovery)
    improvement, deterioration = combine_measures((i1, i2), (d1, d2))
    out = {"improvement": improvement, "deterioration": deterioration}
    if n1 is not None and n2 is not None:  # computed when recovery is asked for
        out["recovery"] = n1 * n2
    for array in out.values():
        array[:, 0] = 0.0  # last scores = first scores: no change, and a case stays a case
    return out


def outcome_probabilities(
    paths: LatentPaths,
    phq9_first: np.ndarray,
    gad7_first: np.ndarray,
    phq9_noise_sd: float,
    gad7_noise_sd: float,
    miss: float,
) -> dict[str, np.ndarray]:
    """The true probability of each outcome (see module doc), one value per client."""
    completed, dropped = end_distribution(paths.completion, paths.dropout)
    ended = completed + dropped
    weights = last_observed_weights(ended, miss)

    per_session = session_outcome_probabilities(
        paths.phq9, paths.gad7, phq9_first, gad7_first, phq9_noise_sd, gad7_noise_sd
    )
    improvement, deterioration = per_session["improvement"], per_session["deterioration"]
    recovery = per_session["recovery"]

    dep, anx = (outcome_scale(i) for i in outcome_ids())
    at_case = _at_caseness(dep, phq9_first) | _at_caseness(anx, gad7_first)
    p_improvement = (weights * improvement).sum(axis=1)
    return {
        "p_finished": ended[:, finished_sessions() - 1 :].sum(axis=1),
        "p_dropout": dropped.sum(axis=1),
        "p_reliable_improvement": p_improvement,
        "p_no_reliable_improvement": 1.0 - p_improvement,
        "p_reliable_deterioration": (weights * deterioration).sum(axis=1),
        "p_recovery": np.where(at_case, (weights * recovery).sum(axis=1), np.nan),
    }


def finished_sessions() -> int:
    """Attended sessions that make a finished course (2, the national rule)."""
    return int(nhs_parameters().finished_course.value)


def _at_caseness(scale: OutcomeScale, scores: np.ndarray) -> np.ndarray:
    return np.asarray(scores, dtype=float) > scale.largest_not_case()

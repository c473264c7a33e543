"""Every client's latent course, session by session, from their intake characteristics.

Given a client's class and parameters (:mod:`attunement.simulation.cohort`), the whole latent
course is deterministic: expected PHQ-9 and GAD-7 scores, the latent check-in, the therapist's
expected estimate, and the per-session ending and dropout probabilities. The random part that
remains (measurement noise, missed forms, which session ends the course) is drawn in
:mod:`attunement.simulation.generate`, and integrated out exactly in
:mod:`attunement.simulation.truth`. Arrays are clients (rows) x sessions 1..max_sessions (columns).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attunement.simulation.cohort import Clients, Therapists
from attunement.simulation.endings import completion_probability, dropout_probability
from attunement.simulation.relationship import latent_checkin, rupture_drop, therapist_view, unrepaired_active
from attunement.simulation.scales import outcome_ids, outcome_scale
from attunement.simulation.specification import SimulationParameters
from attunement.simulation.trajectory import class_curves, expected_scores, progress


@dataclass(frozen=True)
class LatentPaths:
    progress: np.ndarray
    phq9: np.ndarray
    gad7: np.ndarray
    checkin: np.ndarray
    therapist_estimate: np.ndarray
    rupture_drop: np.ndarray
    completion: np.ndarray
    dropout: np.ndarray


def latent_paths(
    clients: Clients, therapists: Therapists, profile: SimulationParameters, sessions: int | None = None
) -> LatentPaths:
    """The deterministic course of every client in ``clients``, for sessions 1..``sessions``
    (default all, ``profile.max_sessions``; fewer when only the start of the course is needed:
    the last column then does not end the course)."""
    sessions = profile.max_sessions if sessions is None else min(int(sessions), profile.max_sessions)
    curves = class_curves(profile)[clients.latent_class][:, :sessions]
    prog = progress(
        clients.change_share,
        curves,
        clients.rupture_session,
        clients.rupture_repaired,
        profile.ruptures.unrepaired_progress_loss.value,
    )
    depression, anxiety = outcome_ids()
    phq9 = expected_scores(clients.phq9_intake, prog, outcome_scale(depression).maximum)
    gad7 = expected_scores(clients.gad7_intake, prog, outcome_scale(anxiety).maximum)

    a = profile.alliance
    drop = rupture_drop(
        sessions,
        clients.rupture_session,
        clients.rupture_depth,
        clients.rupture_repaired,
        profile.ruptures.repair_rate.value,
    )
    intake_sd = profile.intake.phq9_sd.value
    checkin = latent_checkin(
        clients.alliance_level, clients.phq9_intake, phq9, intake_sd, a.symptom_coupling.value, drop
    )
    estimate = therapist_view(
        checkin, drop, therapists.estimate_bias[clients.therapist], profile.therapists.rupture_drop_seen.value
    )

    e = profile.endings
    completion = completion_probability(
        prog,
        clients.good_enough,
        clients.planned_sessions,
        e.good_enough_ending_probability.value,
        e.earliest_agreed_ending.value,
    )
    dropout = dropout_probability(
        prog,
        checkin,
        unrepaired_active(sessions, clients.rupture_session, clients.rupture_repaired),
        np.asarray(profile.groups.dropout_logit_shift.value)[clients.group],
        e,
        a.level_mean.value,
        a.level_sd.value,
    )
    return LatentPaths(prog, phq9, gad7, checkin, estimate, drop, completion, dropout)

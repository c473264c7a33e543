"""Ruptures: a drop in the client's relationship check-in against the client's OWN baseline.

Most of the variation in client-rated alliance lies between clients, so one population cut-off
would miss a drop from 9.8 to 7.5 and alert forever on a client who always answers 6. Instead,
each check-in is compared with the client's own level (the mean of their earlier, undisturbed
check-ins) and their own variation (their sample SD, pooled with a prior SD that dominates while
there are few sessions). The course of each client is walked session by session, vectorised over
clients, as a small state machine:

- ``dip``: the check-in lies below the client's own level by more than the drop threshold (a
  one-off so far; the next session will tell);
- ``unrepaired``: a drop has not recovered by a later session (it has regained less than
  ``recovered_fraction`` of the drop and is still below the threshold);
- ``sustained_decline``: the check-in has fallen at several consecutive recorded sessions and now
  lies below the level the client had before the slide began by more than the threshold, without
  any single drop big enough to be a dip (it stays a sustained decline until it recovers);
- ``repaired``: the session after a drop has recovered (no alert; shown in the figures);
- ``none``.

Check-ins during a drop are left out of the client's level, so an unrepaired rupture keeps
being measured against the level before it; a one-off dip that recovers at the next check-in
joins the level (it is part of how much this client's scores vary). Thresholds are data (``parameters.json``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attunement.alerts.parameters import RuptureParameters, load_parameters

NONE, DIP, UNREPAIRED, DECLINE, REPAIRED = 0, 1, 2, 3, 4
STATE_NAMES = ("none", "dip", "unrepaired", "sustained_decline", "repaired")
ALERTING = (DIP, UNREPAIRED, DECLINE)


@dataclass(frozen=True)
class RuptureCourse:
    """Session-by-session rupture states of every client (rows) and the numbers behind them.

    All arrays are clients x sessions. ``level`` and ``sd`` are the client's own level and SD that
    the session was compared with, ``level_n`` how many check-ins the level rests on, ``drop``
    how far the check-in lies below the level (points), ``z`` the drop in units of the SD of a new
    score against that level; ``onset`` is the 1-based session at which the current drop or
    decline began (0 when none) and ``onset_value`` its check-in.
    """

    state: np.ndarray
    z: np.ndarray
    drop: np.ndarray
    level: np.ndarray
    sd: np.ndarray
    level_n: np.ndarray
    onset: np.ndarray
    onset_value: np.ndarray

    @property
    def alerting(self) -> np.ndarray:
        return np.isin(self.state, ALERTING)


def rupture_course(checkin: np.ndarray, params: RuptureParameters | None = None) -> RuptureCourse:
    """Walk every client's check-ins (clients x sessions, NaN = not recorded) in session order.

    The loop runs over sessions (at most a few dozen), never over clients.
    """
    p = params or load_parameters().rupture
    x = np.asarray(checkin, dtype=float)
    n, width = x.shape
    prior_var = p.prior_sd.value**2
    k0 = p.prior_weight.value
    rf = p.recovered_fraction.value
    need_run = int(p.decline_sessions.value)

    out = {name: np.full((n, width), np.nan) for name in ("z", "drop", "level", "sd", "onset_value")}
    state_out = np.zeros((n, width), dtype=np.int8)
    level_n_out = np.zeros((n, width), dtype=np.int64)
    onset_out = np.zeros((n, width), dtype=np.int64)

    # Running sums of the client's undisturbed check-ins, and the same at the start of a slide.
    count, total, squares = np.zeros(n), np.zeros(n), np.zeros(n)
    run_count, run_total, run_squares = np.zeros(n), np.zeros(n), np.zeros(n)
    run_len = np.zeros(n, dtype=np.int64)
    fall_session = np.zeros(n, dtype=np.int64)
    fall_value = np.full(n, np.nan)
    last_value = np.full(n, np.nan)
    state = np.zeros(n, dtype=np.int8)
    depth = np.zeros(n)
    onset = np.zeros(n, dtype=np.int64)
    onset_value = np.full(n, np.nan)

    for j in range(width):
        value = x[:, j]
        seen = ~np.isnan(value)
        level, sd, spread, thr = _threshold(count, total, squares, prior_var, k0, p)
        drop = level - value
        z = drop / spread
        has_level = count > 0

        in_episode = (state == DIP) | (state == UNREPAIRED) | (state == DECLINE)
        recovered = in_episode & seen & ((drop < thr) | (drop <= (1.0 - rf) * depth))
        still_down = in_episode & seen & ~recovered
        new_dip = ~in_episode & seen & has_level & (drop >= thr)

        # A slide: consecutive falls of the observed check-in; run_* hold the client's level as
        # it stood at the last check-in before the first fall.
        continues = seen & (value < last_value)
        first_fall = continues & (run_len == 0)
        fall_session = np.where(first_fall, j + 1, fall_session)
        fall_value = np.where(first_fall, value, fall_value)
        run_len = np.where(seen, np.where(continues, run_len + 1, 0), run_len)
        restart = seen & ~continues
        run_level, run_sd, run_spread, run_thr = _threshold(
            run_count, run_total, run_squares, prior_var, k0, p
        )
        run_drop = run_level - value
        decline = (
            ~in_episode & ~new_dip & seen & (run_count > 0) & (run_len >= need_run) & (run_drop >= run_thr)
        )

        new_state = np.where(seen, NONE, state).astype(np.int8)
        new_state[new_dip] = DIP
        new_state[still_down] = np.where(state[still_down] == DECLINE, DECLINE, UNREPAIRED)
        new_state[recovered] = REPAIRED
        new_state[decline] = DECLINE

        # The numbers each session was judged by (a decline is judged against the pre-slide level).
        z = np.where(decline, run_drop / run_spread, z)
        out["z"][:, j] = np.where(seen & has_level, z, np.nan)
        out["drop"][:, j] = np.where(seen, np.where(decline, run_drop, drop), np.nan)
        out["level"][:, j] = np.where(decline, run_level, np.where(has_level, level, np.nan))
        out["sd"][:, j] = np.where(decline, run_sd, sd)
        level_n_out[:, j] = np.where(decline, run_count, count).astype(np.int64)

        depth = np.where(new_dip, drop, np.where(decline, run_drop, depth))
        onset = np.where(new_dip, j + 1, np.where(decline, fall_session, onset))
        previous_onset_value = onset_value
        onset_value = np.where(new_dip, value, np.where(decline, fall_value, onset_value))
        episode = np.isin(new_state, ALERTING)
        onset = np.where(episode, onset, 0)
        state_out[:, j] = new_state
        onset_out[:, j] = onset
        out["onset_value"][:, j] = np.where(episode, onset_value, np.nan)

        # Only undisturbed check-ins feed the client's level, and a decline rolls the level back
        # to where it stood before the slide. A one-off dip (recovered at the next check-in) was
        # part of the client's ordinary variation: it and the recovery join the level, so a
        # client whose scores swing is not alerted at every low session.
        calm = seen & (new_state == NONE)
        one_off = recovered & (state == DIP)
        prior_dip = np.where(one_off, previous_onset_value, 0.0)
        added = np.where(calm | one_off, value, 0.0)
        count = np.where(decline, run_count, count + calm + 2 * one_off)
        total = np.where(decline, run_total, total + added + prior_dip)
        squares = np.where(decline, run_squares, squares + added * added + prior_dip * prior_dip)
        run_count = np.where(restart, count, run_count)
        run_total = np.where(restart, total, run_total)
        run_squares = np.where(restart, squares, run_squares)
        state = new_state
        last_value = np.where(seen, value, last_value)

    return RuptureCourse(
        state=state_out,
        z=out["z"],
        drop=out["drop"],
        level=out["level"],
        sd=out["sd"],
        level_n=level_n_out,
        onset=onset_out,
        onset_value=out["onset_value"],
    )


def _threshold(
    count: np.ndarray,
    total: np.ndarray,
    squares: np.ndarray,
    prior_var: float,
    k0: float,
    p: RuptureParameters,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The client's level, their SD (own variance pooled with the prior), the SD of a new score
    against that level, and the drop threshold.

    The threshold is ``dip_z`` SDs of a new score against a mean of ``count`` scores, and never
    less than ``minimum_drop`` points.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        level = total / count
        own = np.maximum(squares - count * level * level, 0.0)  # (count - 1) x sample variance
    own = np.where(count > 1, own, 0.0)
    dof = np.maximum(count - 1, 0)
    var = (k0 * prior_var + own) / (k0 + dof)
    sd = np.maximum(np.sqrt(var), p.minimum_sd.value)
    spread = sd * np.sqrt(1.0 + 1.0 / np.maximum(count, 1))
    thr = np.maximum(p.dip_z.value * spread, p.minimum_drop.value)
    return level, sd, spread, thr

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
#: What the walk reports for a client at a session (see :class:`RuptureCourse`).
FIGURES = ("state", "z", "drop", "level", "sd", "level_n", "onset", "onset_value")


@dataclass(frozen=True)
class RuptureCourse:
    """Rupture states of every client and the numbers behind them.

    From :func:`rupture_course` the arrays are clients x sessions; from :func:`rupture_now` they
    have one value per client (their latest session). ``level`` and ``sd`` are the client's own
    level and SD that the session was compared with, ``level_n`` how many check-ins the level
    rests on, ``drop`` how far the check-in lies below the level (points), ``z`` the drop in
    units of the SD of a new score against that level; ``onset`` is the session at which the
    current drop or decline began (0 when none) and ``onset_value`` its check-in.
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
    """Every session of every client (clients x sessions, NaN = not recorded)."""
    x = np.asarray(checkin, dtype=float)
    return _walk(x, np.full(x.shape[0], x.shape[1], dtype=np.int64), params, keep_all=True)


def rupture_now(
    checkin: np.ndarray, sessions: np.ndarray, params: RuptureParameters | None = None
) -> RuptureCourse:
    """Only each client's latest session (``sessions``: sessions attended, 1-based)."""
    return _walk(
        np.asarray(checkin, dtype=float), np.asarray(sessions, dtype=np.int64), params, keep_all=False
    )


def _walk(
    x: np.ndarray, sessions: np.ndarray, params: RuptureParameters | None, keep_all: bool
) -> RuptureCourse:
    """Walk the check-ins in session order: the loop runs over sessions, never over clients.

    Clients are sorted by their number of sessions (most first), so that at session j the
    clients still in treatment are a leading slice of the arrays and no work is spent on
    sessions a client never had.
    """
    p = params or load_parameters().rupture
    n, width = x.shape
    sessions = np.clip(sessions, 0, width)
    order = np.argsort(-sessions, kind="stable")
    xs = x[order]
    # active[j]: how many (sorted) clients had session j + 1.
    active = np.searchsorted(-sessions[order], -np.arange(width + 1), side="left")
    walker = _Walker(n, p)
    out: dict[str, np.ndarray]
    if keep_all:
        out = {name: np.full((n, width), np.nan) for name in FIGURES}
    else:
        out = {name: np.full(n, np.nan) for name in FIGURES}
    for j in range(width):
        k = int(active[j])
        if k == 0:
            break
        figures = walker.step(xs[:k, j], j)
        if keep_all:
            for name, values in figures.items():
                out[name][:k, j] = values
        else:
            latest = slice(int(active[j + 1]), k)
            for name, values in figures.items():
                out[name][latest] = values[latest]
    restored = {}
    for name, values in out.items():
        back = np.empty_like(values)
        back[order] = values
        restored[name] = back
    state = np.nan_to_num(restored["state"], nan=NONE).astype(np.int8)
    return RuptureCourse(
        state=state,
        z=restored["z"],
        drop=restored["drop"],
        level=restored["level"],
        sd=restored["sd"],
        level_n=np.nan_to_num(restored["level_n"]).astype(np.int64),
        onset=np.nan_to_num(restored["onset"]).astype(np.int64),
        onset_value=restored["onset_value"],
    )


class _Walker:
    """The running state of every client; :meth:`step` advances the first k clients by a session."""

    def __init__(self, n: int, p: RuptureParameters):
        self.p = p
        self.prior_var = p.prior_sd.value**2
        self.k0 = p.prior_weight.value
        # Running sums of the client's undisturbed check-ins, and the same before a slide.
        self.count, self.total, self.squares = np.zeros(n), np.zeros(n), np.zeros(n)
        self.run_count, self.run_total, self.run_squares = np.zeros(n), np.zeros(n), np.zeros(n)
        self.run_len = np.zeros(n, dtype=np.int64)
        self.fall_session = np.zeros(n, dtype=np.int64)
        self.fall_value = np.full(n, np.nan)
        self.last_value = np.full(n, np.nan)
        self.state = np.zeros(n, dtype=np.int8)
        self.depth = np.zeros(n)
        self.onset = np.zeros(n, dtype=np.int64)
        self.onset_value = np.full(n, np.nan)

    def step(self, value: np.ndarray, j: int) -> dict[str, np.ndarray]:
        p, k = self.p, len(value)
        count, total, squares = self.count[:k], self.total[:k], self.squares[:k]
        state, depth, last_value = self.state[:k], self.depth[:k], self.last_value[:k]
        seen = ~np.isnan(value)
        level, sd, spread, thr = _threshold(count, total, squares, self.prior_var, self.k0, p)
        drop = level - value
        z = drop / spread
        has_level = count > 0

        in_episode = (state == DIP) | (state == UNREPAIRED) | (state == DECLINE)
        recovered = in_episode & seen & ((drop < thr) | (drop <= (1.0 - p.recovered_fraction.value) * depth))
        still_down = in_episode & seen & ~recovered
        new_dip = ~in_episode & seen & has_level & (drop >= thr)

        # A slide: consecutive falls of the recorded check-in; run_* hold the client's level as
        # it stood at the last check-in before the first fall.
        continues = seen & (value < last_value)
        run_len = self.run_len[:k]
        first_fall = continues & (run_len == 0)
        fall_session = np.where(first_fall, j + 1, self.fall_session[:k])
        fall_value = np.where(first_fall, value, self.fall_value[:k])
        run_len = np.where(seen, np.where(continues, run_len + 1, 0), run_len)
        restart = seen & ~continues
        run_count, run_total, run_squares = self.run_count[:k], self.run_total[:k], self.run_squares[:k]
        run_level, run_sd, run_spread, run_thr = _threshold(
            run_count, run_total, run_squares, self.prior_var, self.k0, p
        )
        run_drop = run_level - value
        decline = (
            ~in_episode
            & ~new_dip
            & seen
            & (run_count > 0)
            & (run_len >= int(p.decline_sessions.value))
            & (run_drop >= run_thr)
        )

        new_state = np.where(seen, NONE, state).astype(np.int8)
        new_state[new_dip] = DIP
        new_state[still_down] = np.where(state[still_down] == DECLINE, DECLINE, UNREPAIRED)
        new_state[recovered] = REPAIRED
        new_state[decline] = DECLINE

        # The numbers each session was judged by (a decline against the pre-slide level).
        figures = {
            "state": new_state,
            "z": np.where(seen & has_level, np.where(decline, run_drop / run_spread, z), np.nan),
            "drop": np.where(seen, np.where(decline, run_drop, drop), np.nan),
            "level": np.where(decline, run_level, np.where(has_level, level, np.nan)),
            "sd": np.where(decline, run_sd, sd),
            "level_n": np.where(decline, run_count, count),
        }
        self.depth[:k] = np.where(new_dip, drop, np.where(decline, run_drop, depth))
        onset = np.where(new_dip, j + 1, np.where(decline, fall_session, self.onset[:k]))
        previous_onset_value = self.onset_value[:k].copy()
        onset_value = np.where(new_dip, value, np.where(decline, fall_value, self.onset_value[:k]))
        episode = np.isin(new_state, ALERTING)
        self.onset[:k] = np.where(episode, onset, 0)
        self.onset_value[:k] = onset_value
        figures["onset"] = self.onset[:k].copy()
        figures["onset_value"] = np.where(episode, onset_value, np.nan)

        # Only undisturbed check-ins feed the client's level, and a decline rolls the level back
        # to where it stood before the slide. A one-off dip (recovered at the next check-in) was
        # part of the client's ordinary variation: it and the recovery join the level, so a
        # client whose scores swing is not alerted at every low session.
        calm = seen & (new_state == NONE)
        one_off = recovered & (state == DIP)
        prior_dip = np.where(one_off, previous_onset_value, 0.0)
        added = np.where(calm | one_off, value, 0.0)
        self.count[:k] = np.where(decline, run_count, count + calm + 2 * one_off)
        self.total[:k] = np.where(decline, run_total, total + added + prior_dip)
        self.squares[:k] = np.where(decline, run_squares, squares + added * added + prior_dip * prior_dip)
        self.run_count[:k] = np.where(restart, self.count[:k], run_count)
        self.run_total[:k] = np.where(restart, self.total[:k], run_total)
        self.run_squares[:k] = np.where(restart, self.squares[:k], run_squares)
        self.run_len[:k] = run_len
        self.fall_session[:k] = fall_session
        self.fall_value[:k] = fall_value
        self.state[:k] = new_state
        self.last_value[:k] = np.where(seen, value, last_value)
        return figures


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

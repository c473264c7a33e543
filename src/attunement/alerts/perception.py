"""Perception gap: the therapist rates the session's relationship clearly higher than the client.

Therapists tend to see the relationship more favourably than their clients and to miss clients
who are getting worse, so a therapist's estimate well above the client's own check-in is worth
a conversation. Two rules, chosen by how many paired ratings (a client check-in and a therapist
estimate of the same session) the pair has, the latest included (``parameters.json``):

- **fixed** (fewer than ``own_difference_pairs``): the gap (therapist minus client) is at least
  ``gap_points``, a threshold beyond the combined noise of the two ratings and above a
  therapist's usual optimism;
- **own usual difference** (from ``own_difference_pairs`` on): the gap has widened by at least
  ``widening_points`` against the mean of this pair's earlier paired gaps, and the therapist
  still rates higher than the client. A pair with a steady offset (a therapist who always rates
  two points higher) has already been told about it by the fixed rule at its first sessions;
  alerting again at every session would teach the clinician to ignore the alert, while a
  sudden widening is news.

A gap of ``gap_points_high`` or more, or a gap at a session where the client's check-in has also
dropped below their own level (a rupture alert), is shown as medium; other gaps as low.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from attunement.alerts.fired import Fired, choose, join, latest, text
from attunement.alerts.parameters import PerceptionGapParameters, load_parameters
from attunement.prediction.histories import Histories

#: How each rule is named in the alert's figures.
FIXED, OWN = "fixed_threshold", "own_usual_difference"


@dataclass(frozen=True)
class GapState:
    """The perception gap and the rule's verdict, per client (``gap_now``) or per client and
    session (``gap_course``).

    ``gap`` is therapist minus client (NaN where the session is not paired), ``pairs`` the paired
    ratings up to and including the session, ``usual`` the mean of the earlier paired gaps (NaN
    before the second pair), ``widening`` = ``gap`` - ``usual``, ``own`` whether the pair's own
    rule applies, and ``fires`` the verdict of whichever rule applies.
    """

    gap: np.ndarray
    pairs: np.ndarray
    usual: np.ndarray
    widening: np.ndarray
    own: np.ndarray
    fires: np.ndarray


def gap_now(
    client: np.ndarray, therapist: np.ndarray, cols: np.ndarray, params: PerceptionGapParameters | None = None
) -> GapState:
    """The gap and the verdict at one session per client (column ``cols``), from the paired
    sessions before it: what the alerts need, in one masked sum over whole arrays."""
    with np.errstate(invalid="ignore"):
        gaps = therapist - client
    earlier_mask = ~np.isnan(gaps) & (np.arange(gaps.shape[1])[None, :] < cols[:, None])
    earlier = earlier_mask.sum(axis=1)
    total = np.where(earlier_mask, gaps, 0.0).sum(axis=1)
    gap = gaps[np.arange(len(cols)), cols]
    with np.errstate(invalid="ignore", divide="ignore"):
        usual = np.where(earlier > 0, total / np.maximum(earlier, 1), np.nan)
    return _judge(gap, earlier + ~np.isnan(gap), usual, params)


def gap_course(
    client: np.ndarray, therapist: np.ndarray, params: PerceptionGapParameters | None = None
) -> GapState:
    """The gap and the verdict at every session (clients x sessions), each from the paired
    sessions up to it, for measuring the rule session by session (benchmarks/perception_gap.py)."""
    with np.errstate(invalid="ignore"):
        gap = therapist - client
    paired = ~np.isnan(gap)
    value = np.where(paired, gap, 0.0)
    pairs = np.cumsum(paired, axis=1)
    earlier = pairs - paired
    with np.errstate(invalid="ignore", divide="ignore"):
        usual = np.where(earlier > 0, (np.cumsum(value, axis=1) - value) / np.maximum(earlier, 1), np.nan)
    return _judge(gap, pairs, usual, params)


def _judge(
    gap: np.ndarray, pairs: np.ndarray, usual: np.ndarray, params: PerceptionGapParameters | None
) -> GapState:
    """The fixed threshold before ``own_difference_pairs`` paired ratings, the widening against
    the pair's usual difference from then on (see the module doc)."""
    p = params or load_parameters().perception_gap
    with np.errstate(invalid="ignore"):
        widening = gap - usual
        fixed = gap >= p.gap_points.value - 1e-9
        widened = (widening >= p.widening_points.value - 1e-9) & (gap > 0)
    own = ~np.isnan(gap) & (pairs >= p.own_difference_pairs.value)
    return GapState(gap, pairs, usual, widening, own, np.where(own, widened, fixed))


def perception_gap_alerts(
    histories: Histories, rupture_now: np.ndarray | None = None, params: PerceptionGapParameters | None = None
) -> Fired:
    """``rupture_now`` (one bool per client) marks a rupture alert at the latest session."""
    p = params or load_parameters().perception_gap
    rows, cols = latest(histories)
    client_all, therapist_all = histories.score("checkin"), histories.score("checkin_therapist")
    # Whole arrays (no copy of the attended rows); a client without a session is never picked.
    col_of = np.zeros(len(histories), dtype=np.int64)
    col_of[rows] = cols
    now = gap_now(client_all, therapist_all, col_of, p)
    pick = rows[now.fires[rows]]
    c = col_of[pick]
    gap, own, usual, widening = now.gap[pick], now.own[pick], now.usual[pick], now.widening[pick]
    client, therapist, earlier = client_all[pick, c], therapist_all[pick, c], now.pairs[pick] - 1
    strained = np.zeros(len(pick), dtype=bool) if rupture_now is None else rupture_now[pick]
    high = (gap >= p.gap_points_high.value - 1e-9) | strained
    session = c + 1
    reason = join(
        "At session ",
        text(session, 0),
        " the therapist rated the relationship ",
        text(therapist),
        ", ",
        _points(gap),
        " higher than the client's own check-in of ",
        text(client),
        choose(own, _own_rule_words(usual, widening, earlier, p), _fixed_rule_words(len(pick), p)),
        pa.array(np.where(strained, ", at a session where the client's check-in dropped", "")),
    )
    return Fired(
        kind="perception_gap",
        rows=pick,
        session=session,
        severity=np.where(high, "medium", "low").astype(object),
        reason=reason,
        figures={
            "checkin": np.round(client, 2),
            "checkin_therapist": np.round(therapist, 2),
            "gap": np.round(gap, 2),
            "rule": np.where(own, OWN, FIXED).astype(object),
            "usual_gap": np.round(np.where(own, usual, np.nan), 2),
            "widening": np.round(np.where(own, widening, np.nan), 2),
            "earlier_pairs": earlier,
            "threshold": np.where(own, p.widening_points.value, p.gap_points.value),
        },
    )


def _fixed_rule_words(n: int, p: PerceptionGapParameters) -> pa.Array:
    """Which rule applied and why: the fixed threshold, until the pair has enough paired ratings."""
    words = (
        f" (the fixed alert threshold of {_point_words(p.gap_points.value)} applies until this pair"
        f" has {p.own_difference_pairs.value:g} paired ratings)"
    )
    return pa.array(np.full(n, words, dtype=object), type=pa.string())


def _own_rule_words(
    usual: np.ndarray, widening: np.ndarray, earlier: np.ndarray, p: PerceptionGapParameters
) -> pa.Array:
    """The widening against this pair's usual difference, with the numbers it rests on."""
    return join(
        "; this pair's usual difference is ",
        _points(usual),
        " (mean of ",
        text(earlier, 0),
        " earlier paired ratings), so the gap has widened by ",
        _points(widening),
        f" (alert threshold {_point_words(p.widening_points.value)})",
    )


def _points(values: np.ndarray) -> pa.Array:
    """ "2 points", "1 point": numbers of check-in points as they read in a sentence."""
    shown = text(values)
    one = pa.array(np.where(np.round(values, 1) == 1, " point", " points"), type=pa.string())
    return join(shown, one)


def _point_words(value: float) -> str:
    return f"{value:g} point" if value == 1 else f"{value:g} points"

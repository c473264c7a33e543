"""Choosing alert thresholds on reference clients, never on the clients they are judged on.

A course alert (deterioration, no improvement) is useful if it comes before the client's last
session. So the threshold is chosen on what matters: the share of clients with the outcome
flagged at some session before their last one (sensitivity) against the share of the others
flagged before their last one (false alarms over the course).
"""

from __future__ import annotations

import numpy as np


def course_flags(
    alert: np.ndarray, client: np.ndarray, session: np.ndarray, end_session: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per client: flagged at a session before the last one, and eligible (at least two sessions)."""
    before_last = session < end_session[client]
    warned = np.zeros(len(end_session), dtype=bool)
    warned[client[alert & before_last]] = True
    return warned, end_session >= 2


def highest_before_last(
    probability: np.ndarray, client: np.ndarray, session: np.ndarray, end_session: np.ndarray
) -> np.ndarray:
    """Per client, the highest probability at a session before the last one (-inf if none)."""
    out = np.full(len(end_session), -np.inf)
    before_last = session < end_session[client]
    np.maximum.at(out, client[before_last], probability[before_last])
    return out


def choose_course_threshold(
    probability: np.ndarray,
    client: np.ndarray,
    session: np.ndarray,
    truth: np.ndarray,
    end_session: np.ndarray,
    sensitivity_target: float,
    false_alarm_target: float,
) -> tuple[float, dict[str, float | None]]:
    """The threshold for a course alert and how it did on the clients it was chosen on.

    Both targets are applied with a margin of two standard errors of the share they bound (false
    alarms at most target - 2 SE, sensitivity at least target + 2 SE), so that a new cohort of the
    same kind stays within them. Among thresholds that keep false alarms within their bound, take
    the middle (on the log-odds scale) of those that also reach the sensitivity bound; when none
    does, the lowest threshold that keeps the false alarms within their bound.
    """
    top = highest_before_last(probability, client, session, end_session)
    seen = np.zeros(len(end_session), dtype=bool)
    seen[client] = True
    eligible = seen & (end_session >= 2)
    positive, negative = top[eligible & truth], top[eligible & ~truth]
    if positive.size == 0 or negative.size == 0:
        return 0.5, {"sensitivity": None, "false_alarm_rate": None, "positives": int(positive.size)}
    # Lowest threshold with false alarms <= target; highest threshold with sensitivity >= target.
    t_low = _upper_quantile(negative, false_alarm_target - _margin(false_alarm_target, negative.size))
    t_high = _lower_quantile(
        positive, min(1.0, sensitivity_target + _margin(sensitivity_target, positive.size))
    )
    threshold = _sigmoid((_logit(t_low) + _logit(t_high)) / 2) if t_high >= t_low else t_low
    return float(threshold), {
        "sensitivity": float((positive >= threshold).mean()),
        "false_alarm_rate": float((negative >= threshold).mean()),
        "positives": int(positive.size),
        "negatives": int(negative.size),
    }


def choose_session_threshold(
    probability: np.ndarray, outcome: np.ndarray, false_alarm_target: float
) -> tuple[float, dict[str, float | None]]:
    """The lowest threshold at which at most the target share of sessions without the outcome alert."""
    negative, positive = probability[~outcome], probability[outcome]
    if negative.size == 0:
        return 0.5, {"sensitivity": None, "false_alarm_rate": None}
    threshold = _upper_quantile(negative, false_alarm_target)
    return float(threshold), {
        "sensitivity": float((positive >= threshold).mean()) if positive.size else None,
        "false_alarm_rate": float((negative >= threshold).mean()),
    }


def _upper_quantile(values: np.ndarray, share: float) -> float:
    """The lowest threshold t at which at most ``share`` of ``values`` are >= t."""
    ordered = np.sort(values)[::-1]
    allowed = int(np.floor(share * len(ordered) + 1e-9))
    if allowed >= len(ordered):
        return float(ordered[-1])
    return float(np.nextafter(ordered[allowed], np.inf))


def _lower_quantile(values: np.ndarray, share: float) -> float:
    """The highest threshold t at which at least ``share`` of ``values`` are >= t."""
    ordered = np.sort(values)[::-1]
    need = max(1, int(np.ceil(share * len(ordered) - 1e-9)))
    return float(ordered[min(need, len(ordered)) - 1])


def _margin(share: float, n: int) -> float:
    """Two standard errors of a share estimated from ``n`` clients."""
    return 2.0 * float(np.sqrt(share * (1.0 - share) / max(n, 1)))


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return float(np.log(p / (1 - p)))


def _sigmoid(z: float) -> float:
    return float(1 / (1 + np.exp(-z)))

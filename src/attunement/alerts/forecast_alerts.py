"""Not on track and dropout risk: alerts from a fitted forecast model (:mod:`attunement.forecast`).

The model gives calibrated probabilities for the latest session and applies its own alert rule
(thresholds chosen on reference clients and recorded in the model file). The reason is built
from the client's own numbers: where the client's latest PHQ-9 lies against the range expected
for clients who started at the same score, and the probabilities. Without a model there are no
alerts of these two kinds; the other kinds do not need one.

- ``not_on_track``: the deterioration or the non-improvement alert fires; high when the
  deterioration alert fires, medium otherwise; its probability is that of the outcome that fired
  (deterioration first).
- ``dropout_risk``: the dropout alert fires (probability of ending without agreement before the
  next session); medium.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from attunement.alerts.fired import Fired, choose, join, latest, text
from attunement.prediction.histories import Histories


def forecast_alerts(histories: Histories, model: object | None) -> list[Fired]:
    """Not on track and dropout-risk alerts; none without a model."""
    if model is None or len(histories) == 0:
        return []
    from attunement.forecast import predict_alerts, predict_risks

    risks = predict_risks(model, histories)
    flags = predict_alerts(model, risks)
    rows, cols = latest(histories)
    course = _course_facts(histories, model, rows, cols)
    return [
        _not_on_track(rows, cols, risks, flags, course),
        _dropout(histories, rows, cols, risks, flags, course),
    ]


def _course_facts(histories, model, rows, cols) -> dict[str, np.ndarray]:
    """The client's last observed PHQ-9 (at or before the latest session), its session, the
    first PHQ-9, and the expected band at that session (the band of
    :func:`attunement.forecast.expected_range`, looked up at that one session only)."""
    phq9 = histories.score("phq9")[rows]
    width = phq9.shape[1]
    upto = np.arange(width)[None, :] <= cols[:, None]
    seen = ~np.isnan(phq9) & upto
    any_seen = seen.any(axis=1)
    last_col = np.where(any_seen, width - 1 - seen[:, ::-1].argmax(axis=1), 0)
    intake = histories.first("phq9")[rows]
    low, _, high = model.expected.band("phq9", intake, last_col + 1)
    return {
        "phq9": np.where(any_seen, phq9[np.arange(len(rows)), last_col], np.nan),
        "phq9_session": last_col + 1,
        "intake": intake,
        "low": low,
        "high": high,
        "known": any_seen & ~np.isnan(intake),
    }


def _where_in_range(facts: dict[str, np.ndarray], pick: np.ndarray) -> pa.Array:
    """ "PHQ-9 of 17 at session 4 is above the range expected for clients who started at 18 (8 to
    14)", or that the PHQ-9 was not recorded."""
    score, low, high = facts["phq9"][pick], facts["low"][pick], facts["high"][pick]
    position = np.where(score > high, "above", np.where(score < low, "below", "within"))
    described = join(
        "PHQ-9 of ",
        text(score, 0),
        " at session ",
        text(facts["phq9_session"][pick], 0),
        " is ",
        pa.array(position),
        " the range expected for clients who started at ",
        text(facts["intake"][pick], 0),
        " (",
        text(low, 0),
        " to ",
        text(high, 0),
        ")",
    )
    unknown = pa.array(np.full(int(pick.sum()), "no PHQ-9 was recorded to compare with the expected course"))
    return choose(facts["known"][pick], described, unknown)


def _percent(p: np.ndarray) -> pa.Array:
    """Whole percentages; below 1% says so instead of printing 0%."""
    p = np.asarray(p, dtype=float)
    return choose(p < 0.005, pa.array(np.full(len(p), "under 1%")), join(text(p * 100, 0), "%"))


def _not_on_track(rows, cols, risks, flags, facts) -> Fired:
    deteriorating = flags["deterioration"][rows]
    stuck = flags["no_improvement"][rows]
    pick = deteriorating | stuck
    p_det, p_none = risks["deterioration"][rows][pick], risks["no_improvement"][rows][pick]
    det = deteriorating[pick]
    reason = join(
        "Not on track at session ",
        text(cols[pick] + 1, 0),
        ": ",
        _where_in_range(facts, pick),
        "; estimated chance of reliable deterioration by the end of treatment ",
        _percent(p_det),
        ", of ending without reliable improvement ",
        _percent(p_none),
    )
    return Fired(
        kind="not_on_track",
        rows=rows[pick],
        session=cols[pick] + 1,
        severity=np.where(det, "high", "medium").astype(object),
        reason=reason,
        probability=np.where(det, p_det, p_none),
        figures={
            "phq9": facts["phq9"][pick],
            "phq9_session": facts["phq9_session"][pick],
            "phq9_first": facts["intake"][pick],
            "expected_low": np.round(facts["low"][pick], 2),
            "expected_high": np.round(facts["high"][pick], 2),
            "p_deterioration": np.round(p_det, 4),
            "p_no_improvement": np.round(p_none, 4),
        },
    )


def _dropout(histories, rows, cols, risks, flags, facts) -> Fired:
    pick = flags["dropout_next"][rows]
    p = risks["dropout_next"][rows][pick]
    checkin = histories.score("checkin")[rows[pick], cols[pick]]
    reason = join(
        "Estimated chance of ending treatment without agreement before the next session: ",
        _percent(p),
        " (session ",
        text(cols[pick] + 1, 0),
        "; ",
        choose(
            ~np.isnan(checkin),
            join("relationship check-in ", text(checkin)),
            pa.array(np.full(int(pick.sum()), "no relationship check-in this session")),
        ),
        "; ",
        _where_in_range(facts, pick),
        ")",
    )
    return Fired(
        kind="dropout_risk",
        rows=rows[pick],
        session=cols[pick] + 1,
        severity=np.full(int(pick.sum()), "medium", dtype=object),
        reason=reason,
        probability=p,
        figures={
            "p_dropout_next": np.round(p, 4),
            "checkin": np.round(checkin, 2),
            "phq9": facts["phq9"][pick],
            "phq9_first": facts["intake"][pick],
        },
    )

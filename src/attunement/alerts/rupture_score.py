"""How likely a relationship rupture is in progress: a ranking score for early warning.

The rupture alert (:mod:`attunement.alerts.rupture`) is a yes/no rule worded from one number,
the latest check-in's drop below the client's own level in units of the client's own variation
(its ``z``). That ``z`` is a poor ranking of sessions below the alert threshold: it forgets an
unrepaired drop once later check-ins have joined the client's level, it sees nothing at a
session whose check-in is missing, and it ignores the therapist's estimate of the same session,
which falls too (less than the client's own check-in) when there is a rupture. This module
combines the evidence a service holds into one probability per client and session:

- ``z`` and ``drop``: the rupture walk's figures of the latest recorded check-in (the alert's
  own numbers), ``level`` the client's own level it was compared with, and ``z_previous`` the
  same ``z`` one session earlier;
- ``shift``: the largest step down of the check-in, in standard errors, between the check-ins
  before some earlier session and those from that session to now (an unrepaired drop keeps
  showing here however long it lasts);
- ``therapist_shift`` and ``gap_shift``: the same step for the therapist's estimate and for the
  gap between the therapist's estimate and the client's check-in (it widens in a rupture, since
  the therapist sees only part of the drop); ``therapist_z`` the therapist estimate's own drop;
- the walk's state at the session (dip, unrepaired, decline, repaired).

Each figure at session s uses only sessions 1..s. A missing figure (no earlier check-in, no
therapist estimate) is entered as 0 with an indicator that it is missing. The probability is a
logistic regression of "a rupture in progress" on these figures (standardised), fitted on a
reference cohort whose ruptures are known (simulated data). It ranks and estimates; it does not
decide which sessions alert: the alert stays the rule, so that each alert can say "check-in 6
against this client's usual 9.1".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attunement.alerts.parameters import RuptureParameters, RupturePrediction, load_parameters
from attunement.alerts.rupture import DECLINE, DIP, REPAIRED, UNREPAIRED, RuptureCourse, rupture_course

#: The continuous figures (each with a "missing" indicator) and the 0/1 state figures.
CONTINUOUS = ("z", "z_previous", "drop", "level", "shift", "therapist_shift", "gap_shift", "therapist_z")
STATES = {"dip": DIP, "unrepaired": UNREPAIRED, "decline": DECLINE, "repaired": REPAIRED}
FEATURES = (*CONTINUOUS, *(f"{name}_missing" for name in CONTINUOUS), *STATES)


def rupture_evidence(
    checkin: np.ndarray,
    therapist: np.ndarray | None = None,
    course: RuptureCourse | None = None,
    params: RuptureParameters | None = None,
) -> dict[str, np.ndarray]:
    """The figures of the module doc, each clients x sessions (NaN where there is none).

    ``checkin`` and ``therapist`` are clients x sessions (NaN = not recorded); without therapist
    estimates their figures are all missing. ``course`` is :func:`rupture_course` of ``checkin``.
    """
    p = params or load_parameters().rupture
    x = np.asarray(checkin, dtype=float)
    course = course or rupture_course(x, p)
    t = np.full_like(x, np.nan) if therapist is None else np.asarray(therapist, dtype=float)
    z = _carry_forward(course.z)
    z_previous = np.full_like(z, np.nan)
    z_previous[:, 1:] = z[:, :-1]
    therapist_z = _carry_forward(rupture_course(t, p).z) if therapist is not None else np.full_like(x, np.nan)
    return {
        "z": z,
        "z_previous": z_previous,
        "drop": _carry_forward(course.drop),
        "level": _carry_forward(course.level),
        "shift": step_down(x, p),
        "therapist_shift": step_down(t, p),
        "gap_shift": step_down(x - t, p),
        "therapist_z": therapist_z,
        **{name: (course.state == state).astype(float) for name, state in STATES.items()},
    }


def step_down(x: np.ndarray, params: RuptureParameters | None = None) -> np.ndarray:
    """At each session s, the largest fall of the mean from the scores before some session r to
    the scores of sessions r..s, in standard errors (clients x sessions; NaN before two scores).

    The SD is the rupture rule's: the scores' own pooled within-segment variance, pooled with the
    prior SD (``prior_sd``, weight ``prior_weight``) and never below ``minimum_sd``.
    """
    p = params or load_parameters().rupture
    x = np.asarray(x, dtype=float)
    n, width = x.shape
    seen = ~np.isnan(x)
    values = np.where(seen, x, 0.0)
    count, total, squares = (np.cumsum(a, axis=1) for a in (seen.astype(float), values, values * values))
    prior = p.prior_weight.value * p.prior_sd.value**2
    out = np.full((n, width), np.nan)
    for s in range(1, width):
        # before: sessions 1..r, after: r+1..s+1 (0-based columns :r and r:s+1), r = 1..s
        n1, s1, q1 = count[:, :s], total[:, :s], squares[:, :s]
        n2 = count[:, s : s + 1] - n1
        s2 = total[:, s : s + 1] - s1
        q2 = squares[:, s : s + 1] - q1
        with np.errstate(invalid="ignore", divide="ignore"):
            m1, m2 = s1 / n1, s2 / n2
            within = np.maximum(q1 - n1 * m1 * m1, 0.0) + np.maximum(q2 - n2 * m2 * m2, 0.0)
            var = (prior + within) / (p.prior_weight.value + np.maximum(n1 + n2 - 2, 0))
            sd = np.maximum(np.sqrt(var), p.minimum_sd.value)
            t = (m1 - m2) / (sd * np.sqrt(1.0 / n1 + 1.0 / n2))
        t = np.where((n1 > 0) & (n2 > 0) & seen[:, s : s + 1], t, -np.inf)
        best = t.max(axis=1)
        out[:, s] = np.where(np.isfinite(best), best, np.nan)
    return _carry_forward(out)


def design(evidence: dict[str, np.ndarray], rows: np.ndarray, col: int) -> np.ndarray:
    """The model's inputs for ``rows`` at session ``col + 1``: one row per client, :data:`FEATURES`."""
    parts = []
    for name in CONTINUOUS:
        values = evidence[name][rows, col]
        parts.append(np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0))
    for name in CONTINUOUS:
        parts.append(~np.isfinite(evidence[name][rows, col]))
    for name in STATES:
        parts.append(evidence[name][rows, col])
    return np.column_stack(parts).astype(float)


@dataclass(frozen=True)
class RuptureScore:
    """A fitted logistic regression: p = 1 / (1 + exp(-(intercept + coef . (x - mean) / scale)))."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def log_odds(self, inputs: np.ndarray) -> np.ndarray:
        log_odds: np.ndarray = self.intercept + ((inputs - self.mean) / self.scale) @ self.coef
        return log_odds

    def probability(self, inputs: np.ndarray) -> np.ndarray:
        return 0.5 * (1.0 + np.tanh(0.5 * self.log_odds(inputs)))

    def weights(self) -> dict[str, float]:
        """Each figure's weight per standard deviation of it in the reference cohort."""
        return dict(zip(FEATURES, (float(c) for c in self.coef), strict=True))


def fit_rupture_score(
    inputs: np.ndarray, in_rupture: np.ndarray, settings: RupturePrediction | None = None
) -> RuptureScore:
    """Fit the regression on reference rows (:func:`design`) and whether a rupture was in progress."""
    from sklearn.linear_model import LogisticRegression

    settings = settings or load_parameters().rupture_prediction
    inputs = np.asarray(inputs, dtype=float)
    labels = np.asarray(in_rupture, dtype=bool)
    mean = inputs.mean(axis=0)
    scale = inputs.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    model = LogisticRegression(C=float(settings.regularisation.value), max_iter=5000)
    model.fit((inputs - mean) / scale, labels)
    coef, intercept = model.coef_[0].copy(), float(model.intercept_[0])
    return RuptureScore(mean=mean, scale=scale, coef=coef, intercept=intercept)


def _carry_forward(values: np.ndarray) -> np.ndarray:
    """Each NaN replaced by the last value before it in its row (NaN when none)."""
    out = np.array(values, dtype=float, copy=True)
    for j in range(1, out.shape[1]):
        missing = np.isnan(out[:, j])
        out[missing, j] = out[missing, j - 1]
    return out

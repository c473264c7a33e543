"""The rupture ranking score: fitted on one simulated cohort, measured on another."""

from __future__ import annotations

import numpy as np
import pytest

from attunement.alerts import RuptureMethod
from attunement.alerts.rupture import rupture_course
from attunement.alerts.rupture_score import FEATURES, rupture_evidence, step_down
from attunement.evaluation import metrics
from attunement.prediction.histories import histories_from_tables
from attunement.prediction.outcomes import labels_from_tables
from attunement.simulation import simulate


def _cohort(n: int, seed: int):
    sim = simulate(n, seed)
    h = histories_from_tables(sim.measures, sim.episodes)
    return h, labels_from_tables(h, sim.episodes, sim.truth, sim.ruptures)


@pytest.fixture(scope="module")
def fitted():
    reference, held_out = _cohort(3000, 31), _cohort(3000, 32)
    method = RuptureMethod()
    method.fit(*reference)
    return method, held_out


def test_an_unrepaired_drop_keeps_its_step_after_the_level_has_caught_up():
    checkin = np.array([[9.0, 9.2, 8.9, 7.0, 7.1, 6.9, 7.0, 7.1]])
    shift = step_down(checkin)
    z = rupture_evidence(checkin)["z"]
    assert np.isnan(shift[0, 0])
    assert shift[0, 3] > 3 and shift[0, -1] > shift[0, 3]
    # the rule's z of the same sessions is a single session's drop; the step keeps growing
    assert shift[0, -1] > z[0, -1]


def test_a_steady_client_shows_no_step():
    checkin = np.array([[9.0, 9.3, 8.8, 9.1, 9.0, 9.2, 8.9, 9.1]])
    assert np.nanmax(step_down(checkin)) < 2


def test_figures_at_a_session_use_only_the_sessions_before_it(fitted):
    _, (h, _) = fitted
    checkin, therapist = h.score("checkin")[:, :8], h.score("checkin_therapist")[:, :8]
    full = rupture_evidence(checkin, therapist)
    cut = rupture_evidence(checkin[:, :5], therapist[:, :5], rupture_course(checkin[:, :5]))
    for name in cut:
        np.testing.assert_allclose(cut[name], full[name][:, :5])


def test_the_fitted_score_ranks_ruptures_better_than_the_rule_z_and_keeps_the_alerts(fitted):
    method, (h, labels) = fitted
    assert method.score_ is not None and len(method.score_.coef) == len(FEATURES)
    unfitted = RuptureMethod().fit(h, object())  # no rupture labels: the rule's z
    now, before = method.predict_sessions(h, [2, 3, 4, 6]), unfitted.predict_sessions(h, [2, 3, 4, 6])
    for s in (2, 3, 4, 6):
        y = labels.at("rupture", s)[h.sessions >= s]
        assert now[s].is_probability and not before[s].is_probability
        np.testing.assert_array_equal(now[s].alert["rupture"], before[s].alert["rupture"])
        ours, rule = metrics.auc(y, now[s].risk["rupture"]), metrics.auc(y, before[s].risk["rupture"])
        assert ours > rule + 0.015, (s, ours, rule)
    y3 = labels.at("rupture", 3)[h.sessions >= 3]
    assert metrics.auc(y3, now[3].risk["rupture"]) > 0.88  # 3,000 clients: about 0.90


def test_the_probabilities_are_calibrated_on_other_clients(fitted):
    method, (h, labels) = fitted
    answers = method.predict_sessions(h, list(range(1, 21)))
    y = np.concatenate([labels.at("rupture", s)[h.sessions >= s] for s in answers])
    p = np.concatenate([a.risk["rupture"] for a in answers.values()])
    assert abs(p.mean() - y.mean()) < 0.01
    assert metrics.expected_calibration_error(y, p, 10) < 0.02


def test_the_fitted_method_sees_only_the_past(fitted):
    method, (h, _) = fitted
    batched = method.predict_sessions(h, [2, 3, 5])
    for s in (2, 3, 5):
        single = method.predict(h.upto(s))
        np.testing.assert_allclose(batched[s].risk["rupture"], single.risk["rupture"])
        np.testing.assert_array_equal(batched[s].alert["rupture"], single.alert["rupture"])


def test_without_rupture_labels_the_risk_is_the_rule_z(fitted):
    _, (h, _) = fitted
    method = RuptureMethod()
    method.fit(h, object())
    assert method.score_ is None
    answer = method.predict_sessions(h, [3])[3]
    assert not answer.is_probability and np.isfinite(answer.risk["rupture"]).all()

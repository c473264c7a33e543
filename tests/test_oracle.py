"""The oracle: posterior outcome probabilities under the true simulation model.

Small cohorts and few particles keep these fast; the full-size figures are in docs/oracle.md
(benchmarks/oracle_accuracy.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from attunement.oracle import OracleMethod
from attunement.prediction.histories import Histories, histories_from_tables
from attunement.prediction.methods import OUTCOMES
from attunement.prediction.outcomes import labels_from_tables
from attunement.simulation import load_parameters, simulate

PARTICLES = 100


@pytest.fixture(scope="module")
def cohort():
    clinic = simulate(700, seed=21)
    histories = histories_from_tables(clinic.measures, clinic.episodes)
    labels = labels_from_tables(histories, clinic.episodes, clinic.truth, clinic.ruptures)
    truth = clinic.truth.set_index("client_id").loc[histories.client_id]
    return histories, labels, truth


@pytest.fixture(scope="module")
def predictions(cohort):
    histories, labels, _ = cohort
    oracle = OracleMethod(load_parameters(), particles=PARTICLES, workers=1, seed=3).fit(histories, labels)
    return oracle.predict_sessions(histories, [1, 2, 3, 4, 5, 6])


def test_it_is_a_method_for_every_outcome(cohort, predictions):
    histories, _, _ = cohort
    oracle = OracleMethod(load_parameters(), particles=PARTICLES, workers=1)
    assert (oracle.name, oracle.kind) == ("oracle", "oracle")
    assert set(oracle.outcomes) == set(OUTCOMES)
    for s, prediction in predictions.items():
        n = int((histories.sessions >= s).sum())
        assert prediction.is_probability
        for outcome in OUTCOMES:
            risk = prediction.risk[outcome]
            assert risk.shape == (n,) and np.all((risk >= 0) & (risk <= 1))
            assert np.array_equal(prediction.alert[outcome], risk > oracle.alert_threshold)


def test_session_one_predictions_average_to_the_true_probabilities():
    """Averaged over clients, the posterior at session 1 and the exact per-client probabilities
    (which know the latent class) estimate the same rate: their mean difference is within a few
    standard errors of zero (the differences are independent between clients)."""
    clinic = simulate(3000, seed=22)
    h = histories_from_tables(clinic.measures, clinic.episodes)
    t = clinic.truth.set_index("client_id").loc[h.client_id]
    oracle = OracleMethod(load_parameters(), particles=PARTICLES, workers=1).fit(h, None)
    risk = oracle.predict_sessions(h, [1])[1].risk
    for outcome, column in (
        ("deterioration", "p_reliable_deterioration"),
        ("no_improvement", "p_no_reliable_improvement"),
    ):
        difference = risk[outcome] - t[column].to_numpy()
        assert abs(difference.mean()) < 4 * difference.std() / np.sqrt(len(difference)), outcome
        assert np.corrcoef(risk[outcome], t[column])[0, 1] > 0.1, outcome


def test_predictions_are_calibrated_and_beat_a_constant(cohort, predictions):
    """ECE within what perfectly calibrated probabilities would show on this many clients
    (labels drawn from the predictions themselves), and a Brier score below a constant's."""
    histories, labels, _ = cohort
    rng = np.random.default_rng(0)
    for outcome in OUTCOMES:
        for s in (2, 4):
            y = labels.at(outcome, s)[histories.sessions >= s]
            p = predictions[s].risk[outcome]
            floor = np.mean([_ece(rng.random(len(p)) < p, p) for _ in range(20)])
            assert _ece(y, p) < 2 * floor + 0.01, (outcome, s)
            assert np.mean((p - y) ** 2) < np.mean((y.mean() - y) ** 2), (outcome, s)


def test_at_session_3_it_ranks_better_than_phq9_change(cohort, predictions):
    histories, labels, _ = cohort
    cut = histories.upto(3)
    change = cut.last("phq9") - cut.first("phq9")
    for outcome in ("deterioration", "no_improvement"):
        y = labels.at(outcome, 3)[histories.sessions >= 3]
        assert roc_auc_score(y, predictions[3].risk[outcome]) >= roc_auc_score(y, change), outcome


def test_the_answer_at_a_session_ignores_everything_after_it(cohort):
    histories, _, _ = cohort
    few = histories.subset(np.arange(len(histories)) < 40)
    rng = np.random.default_rng(5)
    changed = {}
    for name, values in few.scores.items():
        later = values.copy()
        later[:, 3:] = np.where(
            np.isnan(later[:, 3:]), np.nan, rng.uniform(0, 10, later[:, 3:].shape).round()
        )
        changed[name] = later
    altered = Histories(few.client_id, few.therapist_id, few.group, few.sessions, changed)
    oracle = OracleMethod(load_parameters(), particles=PARTICLES, workers=1).fit(few, None)
    original = oracle.predict_sessions(few, [1, 2, 3, 4])
    other = oracle.predict_sessions(altered, [1, 2, 3, 4])
    cut = oracle.predict(few.upto(3))
    for outcome in OUTCOMES:
        for s in (1, 2, 3):
            np.testing.assert_allclose(original[s].risk[outcome], other[s].risk[outcome], atol=1e-9)
        np.testing.assert_allclose(cut.risk[outcome], original[3].risk[outcome], atol=1e-9)
    assert any(not np.allclose(original[4].risk[o], other[4].risk[o]) for o in OUTCOMES)


def _ece(labels: np.ndarray, probability: np.ndarray, bins: int = 10) -> float:
    which = np.clip((probability * bins).astype(int), 0, bins - 1)
    predicted = np.bincount(which, weights=probability, minlength=bins)
    observed = np.bincount(which, weights=labels.astype(float), minlength=bins)
    return float(np.abs(predicted - observed).sum() / len(labels))

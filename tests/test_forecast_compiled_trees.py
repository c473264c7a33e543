"""The compiled tree walk must give exactly what the numpy walk gives, or not be used at all."""

from __future__ import annotations

import numpy as np
import pytest

from attunement.forecast import default_model, predict_risks
from attunement.forecast.compiled_trees import MISSING_BIN, compile_ensemble, probe_rows
from attunement.forecast.features import FEATURES
from attunement.forecast.predict import latest_features
from attunement.forecast.trees import COMPILED_FROM_ROWS, TreeEnsemble
from attunement.prediction.histories import histories_from_tables
from attunement.simulation import simulate

COLUMNS = len(FEATURES)


@pytest.fixture(scope="module")
def ensembles():
    return {name: part.trees for name, part in default_model().outcomes.items()}


def _rows(ensemble: TreeEnsemble, n: int, seed: int) -> np.ndarray:
    """Feature-like values, a third of them missing, plus values exactly on thresholds."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 8, size=(n, COLUMNS))
    x[rng.random(x.shape) < 0.3] = np.nan
    on = probe_rows(ensemble, COLUMNS, rows=n, seed=seed)
    pick = rng.random(x.shape) < 0.3
    x[pick] = on[pick]
    return x


@pytest.mark.parametrize("name", ["deterioration", "no_improvement", "dropout_next"])
def test_compiled_walk_gives_the_numpy_leaves_and_log_odds_to_the_bit(ensembles, name):
    ensemble = ensembles[name]
    compiled = compile_ensemble(ensemble, COLUMNS)
    if compiled is None:
        pytest.skip("the compiled walker is not available with this scikit-learn")
    x = _rows(ensemble, 3 * COMPILED_FROM_ROWS, seed=len(name))
    np.testing.assert_array_equal(compiled.leaf_values(x), ensemble.leaf_values(x))
    numpy_walk = np.concatenate([ensemble._log_odds(x[s : s + 1000]) for s in range(0, len(x), 1000)])
    np.testing.assert_array_equal(compiled.log_odds(x, threads=2), numpy_walk)
    np.testing.assert_array_equal(ensemble.log_odds(x), numpy_walk)


def test_caseload_risks_are_those_of_the_numpy_walk():
    clinic = simulate(3000, seed=5)
    histories = histories_from_tables(clinic.measures, clinic.episodes)
    model = default_model()
    risks = predict_risks(model, histories)
    x = latest_features(model, histories)
    attended = histories.sessions >= 1
    assert attended.sum() >= COMPILED_FROM_ROWS  # large enough for the compiled walk
    for name, part in model.outcomes.items():
        expected = part.calibration(part.trees._log_odds(x[attended]))
        np.testing.assert_array_equal(risks[name][attended], expected)


def _ensemble(left, right, feature, threshold, value, roots=(0,)) -> TreeEnsemble:
    n = len(left)
    return TreeEnsemble(
        baseline=0.5,
        roots=np.asarray(roots, dtype=np.int64),
        feature=np.asarray(feature, dtype=np.int64),
        threshold=np.asarray(threshold, dtype=np.float64),
        missing_left=np.zeros(n, dtype=bool),
        left=np.asarray(left, dtype=np.int64),
        right=np.asarray(right, dtype=np.int64),
        value=np.asarray(value, dtype=np.float64),
    )


def test_arrays_the_compiled_walker_could_misread_keep_the_numpy_walk():
    # Tree 0's right child is a node of tree 1: fine for the numpy walk, out of tree 0's records.
    crossing = _ensemble(
        left=[1, -1, 3, -1, -1],
        right=[2, -1, 4, -1, -1],
        feature=[0, 0, 1, 0, 0],
        threshold=[0.0, 0, 1.0, 0, 0],
        value=[0, -1.0, 0, 2.0, 3.0],
        roots=(0, 2),
    )
    assert compile_ensemble(crossing, 2) is None
    x = np.array([[-1.0, 0.0], [1.0, 2.0], [np.nan, np.nan]] * COMPILED_FROM_ROWS)
    expected = np.tile([0.5 - 1.0 + 2.0, 0.5 + 3.0 + 3.0, 0.5 + 3.0 + 3.0], COMPILED_FROM_ROWS)
    np.testing.assert_array_equal(crossing.log_odds(x), expected)


def test_more_thresholds_on_a_feature_than_a_byte_can_rank_keep_the_numpy_walk():
    # A chain: inner node k splits feature 0 at k, left to leaf n + k, right to node k + 1.
    n = MISSING_BIN + 1
    left = [n + k for k in range(n)] + [-1] * (n + 1)
    right = [k + 1 for k in range(n - 1)] + [2 * n] + [-1] * (n + 1)
    threshold = [float(k) for k in range(n)] + [0.0] * (n + 1)
    ensemble = _ensemble(left, right, [0] * (2 * n + 1), threshold, np.arange(2 * n + 1.0))
    assert compile_ensemble(ensemble, 1) is None
    x = np.linspace(-1, n + 1, 3 * COMPILED_FROM_ROWS)[:, None]
    np.testing.assert_array_equal(ensemble.log_odds(x), ensemble._log_odds(x))

"""The forecast model: plain-data round trip, no look-ahead, calibration on held-out clients."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from typer.testing import CliRunner

from attunement.cli import app
from attunement.errors import InvalidInputError
from attunement.forecast import (
    FORECAST_OUTCOMES,
    ForecastMethod,
    default_model,
    expected_range,
    fit_model,
    load_model,
    predict_risks,
    save_model,
)
from attunement.forecast.settings import load_settings
from attunement.forecast.trees import ensemble_from_sklearn
from attunement.prediction.histories import histories_from_tables
from attunement.prediction.metrics import expected_calibration_error
from attunement.prediction.outcomes import labels_from_tables
from attunement.simulation import simulate


def _cohort(n: int, seed: int):
    clinic = simulate(n, seed=seed)
    histories = histories_from_tables(clinic.measures, clinic.episodes)
    return histories, labels_from_tables(histories, clinic.episodes, clinic.truth, clinic.ruptures)


def _small_settings():
    settings = load_settings()
    trees = {**settings.trees.value, "max_iter": 60, "learning_rate": 0.15}
    return settings.model_copy(update={"trees": settings.trees.model_copy(update={"value": trees})})


@pytest.fixture(scope="module")
def reference():
    return _cohort(2500, seed=21)


@pytest.fixture(scope="module")
def held_out():
    return _cohort(2000, seed=22)


@pytest.fixture(scope="module")
def model(reference):
    histories, labels = reference
    return fit_model(histories, labels, source="test cohort", settings=_small_settings())


def test_model_round_trips_through_json_with_identical_predictions(model, reference, held_out, tmp_path):
    path = save_model(model, tmp_path / "model.json")
    loaded = load_model(path)
    for s in (1, 3, 7):
        cut = held_out[0].upto(s)
        before = ForecastMethod.from_model(model).predict(cut)
        after = ForecastMethod.from_model(loaded).predict(cut)
        for outcome in FORECAST_OUTCOMES:
            np.testing.assert_array_equal(before.risk[outcome], after.risk[outcome])
            np.testing.assert_array_equal(before.alert[outcome], after.alert[outcome])
    assert loaded.trained_on["clients"] == len(reference[0])
    assert loaded.trained_on["source"] == "test cohort"
    assert set(loaded.validation) == set(FORECAST_OUTCOMES)


def test_loading_a_model_never_unpickles(model, tmp_path, monkeypatch):
    path = save_model(model, tmp_path / "model.json")

    def refuse(*args, **kwargs):
        raise AssertionError("a model file must not be unpickled")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    monkeypatch.setattr(np, "load", refuse)
    assert load_model(path).features == model.features
    pickled = tmp_path / "pickled.json"
    pickled.write_bytes(pickle.dumps(model.to_dict()))
    with pytest.raises(InvalidInputError):
        load_model(pickled)


def test_a_tampered_model_file_is_refused(model, tmp_path):
    data = model.to_dict()
    trees = data["outcomes"]["deterioration"]["trees"]
    inner = next(i for i, left in enumerate(trees["left"]) if left >= 0)
    trees["left"][inner] = inner  # a cycle: walking the tree would never end
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InvalidInputError):
        load_model(path)
    path.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(InvalidInputError):
        load_model(path)


def test_plain_trees_reproduce_the_fitted_classifier(reference):
    from sklearn.ensemble import HistGradientBoostingClassifier

    histories, labels = reference
    x = np.column_stack([histories.first("phq9"), histories.last("phq9"), histories.last("checkin")])
    x[::7, 1] = np.nan  # missing values must follow the learned direction
    classifier = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(x, labels.no_improvement)
    np.testing.assert_allclose(
        ensemble_from_sklearn(classifier).log_odds(x), classifier.decision_function(x), atol=1e-9
    )


def test_predictions_at_a_session_ignore_later_data(model, held_out):
    histories = held_out[0]
    method = ForecastMethod.from_model(model)
    s = 3
    before = method.predict_sessions(histories, [s])[s]
    rng = np.random.default_rng(0)
    changed = {
        name: np.where(np.arange(values.shape[1]) >= s, rng.uniform(0, 10, values.shape), values)
        for name, values in histories.scores.items()
    }
    altered = type(histories)(
        client_id=histories.client_id,
        therapist_id=histories.therapist_id,
        group=histories.group,
        sessions=histories.sessions,
        scores=changed,
    )
    after = method.predict_sessions(altered, [s])[s]
    for outcome in FORECAST_OUTCOMES:
        np.testing.assert_array_equal(before.risk[outcome], after.risk[outcome])
    assert len(before.risk["deterioration"]) == len(histories.upto(s))


def test_caseload_risks_use_each_clients_own_latest_session(model, held_out):
    histories = held_out[0]
    risks = predict_risks(model, histories)
    method = ForecastMethod.from_model(model)
    for s in (2, 5):
        rows = np.flatnonzero(histories.sessions == s)
        mask = np.zeros(len(histories), dtype=bool)
        mask[rows] = True
        expected = method.predict(histories.subset(mask).upto(s)).risk["dropout_next"]
        np.testing.assert_allclose(risks["dropout_next"][rows], expected)


def test_probabilities_are_calibrated_on_held_out_clients(model, held_out):
    histories, labels = held_out
    answers = ForecastMethod.from_model(model).predict_sessions(histories, list(range(1, 11)))
    for outcome, tolerance in (("deterioration", 0.03), ("no_improvement", 0.06), ("dropout_next", 0.02)):
        risk = np.concatenate([answers[s].risk[outcome] for s in answers])
        truth = np.concatenate([labels.at(outcome, s)[histories.sessions >= s] for s in answers])
        assert abs(risk.mean() - truth.mean()) < tolerance
        assert expected_calibration_error(truth, risk, 10) < tolerance
    s3 = answers[3].risk["deterioration"]
    assert 0.8 < _auc(labels.at("deterioration", 3)[histories.sessions >= 3], s3) <= 1.0


def test_expected_range_is_a_band_that_follows_intake_severity(model, held_out):
    band = expected_range(model, held_out[0].upto(6), "phq9")
    known = ~np.isnan(band.intake)
    assert band.low.shape == (len(band.intake), 6)
    assert (band.low[known] <= band.mid[known]).all() and (band.mid[known] <= band.high[known]).all()
    order = np.argsort(band.intake[known])
    mids = band.mid[known][order, 3]
    assert mids[-1] > mids[0]
    with pytest.raises(InvalidInputError):
        expected_range(model, held_out[0], "not_a_measure")


def test_the_bundled_default_model_loads_and_says_what_it_was_fitted_on():
    model = default_model()
    assert model.trained_on["clients"] >= 20000
    assert "simulate" in model.trained_on["source"] or "fit" in model.trained_on["source"]
    for outcome in FORECAST_OUTCOMES:
        figures = model.validation[outcome]["by_session"]["3"]
        assert figures["auc"] > 0.7 and figures["ece"] < 0.05


def test_fit_command_writes_a_model_file(tmp_path):
    clinic = simulate(900, seed=5)
    clinic.measures.to_csv(tmp_path / "measures.csv", index=False)
    clinic.episodes.to_csv(tmp_path / "episodes.csv", index=False)
    out = tmp_path / "model.json"
    settings = tmp_path / "settings.json"
    settings.write_text(_small_settings().model_dump_json())
    command = ["fit", "--history", str(tmp_path), "--out", str(out), "--settings", str(settings), "--json"]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["trained_on"]["clients"] == 900
    assert load_model(out).trained_on["clients"] == 900
    assert load_model(out).trained_on["settings"]["trees"]["max_iter"] == 60
    bad = CliRunner().invoke(app, ["fit", "--history", str(tmp_path / "none"), "--out", str(out), "--json"])
    assert bad.exit_code != 0


def _auc(labels, risk):
    from sklearn.metrics import roc_auc_score

    return roc_auc_score(labels, risk)

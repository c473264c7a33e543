"""The published baselines: their mechanics, and that a prediction at session s ignores later data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from attunement.baselines import (
    OqExpectedRecovery,
    PcomsZones,
    RationalRules,
    TrierNearestNeighbours,
    registered_baselines,
)
from attunement.baselines.courses import outcome_measures
from attunement.baselines.parameters import PARAMETERS_FILE, baseline_parameters
from attunement.instruments.registry import get_instrument
from attunement.prediction.histories import Histories, histories_from_tables
from attunement.prediction.methods import OUTCOMES
from attunement.prediction.outcomes import labels_from_tables
from attunement.simulation import simulate


def _cohort(n: int, seed: int):
    clinic = simulate(n, seed)
    histories = histories_from_tables(clinic.measures, clinic.episodes)
    return histories, labels_from_tables(histories, clinic.episodes, clinic.truth, clinic.ruptures)


@pytest.fixture(scope="module")
def reference():
    return _cohort(2000, 11)


@pytest.fixture(scope="module")
def held_out():
    return _cohort(2000, 12)


@pytest.fixture(scope="module")
def fitted(reference):
    methods = registered_baselines()
    for method in methods:
        method.fit(*reference)
    return {m.name: m for m in methods}


def _histories(**scores: list[list[float]]) -> Histories:
    """A small hand-made history: one row per client, NaN for a missed form."""
    arrays = {name: np.array(rows, dtype=float) for name, rows in scores.items()}
    n, width = next(iter(arrays.values())).shape
    return Histories(
        client_id=np.array([f"c{i}" for i in range(n)], dtype=object),
        therapist_id=np.full(n, "t", dtype=object),
        group=np.full(n, "all", dtype=object),
        sessions=np.full(n, width),
        scores=arrays,
    )


def test_registered_baselines_are_fresh_and_describe_themselves():
    first, second = registered_baselines(), registered_baselines()
    names = [m.name for m in first]
    assert len(set(names)) == len(names) == 4
    for a, b in zip(first, second, strict=True):
        assert a is not b
        assert a.kind == "baseline"
        assert {"deterioration", "no_improvement"} <= set(a.outcomes) <= set(OUTCOMES)
        assert len(a.citation) > 20


def test_every_parameter_names_its_source_and_status():
    params = baseline_parameters()
    raw = json.loads(PARAMETERS_FILE.read_text())
    for section in ("rational", "pcoms", "oq", "trier"):
        entries = getattr(params, section)
        assert set(raw[section]) == set(type(entries).model_fields)
        for entry in raw[section].values():
            assert entry["source"] and entry["status"]


def test_rational_rule_flags_a_rise_beyond_the_reliable_change_threshold():
    phq, gad = (m.change for m in outcome_measures())
    # client 0: PHQ-9 rises by exactly the threshold; client 1: one point less; client 2: GAD-7 rises.
    histories = _histories(
        phq9=[[10, 10 + phq.points], [10, 10 + phq.points - 1], [10, 10]],
        gad7=[[8, 8], [8, 8], [8, 8 + gad.points]],
    )
    rule = RationalRules().fit(histories, None)
    prediction = rule.predict(histories)
    expected = [
        _passes(phq.points, phq.rule, phq.points),
        _passes(phq.points - 1, phq.rule, phq.points),
        True,
    ]
    assert prediction.alert["deterioration"].tolist() == expected
    assert prediction.risk["deterioration"][0] == pytest.approx(1.0)
    assert prediction.risk["deterioration"][0] > prediction.risk["deterioration"][1]


def _passes(change: float, rule: str, threshold: float) -> bool:
    return change >= threshold if rule == ">=" else change > threshold


def test_no_improvement_rule_waits_for_session_k():
    k = int(baseline_parameters().rational.no_improvement_session.value)
    phq = outcome_measures()[0].change.points
    flat = [15.0] * k
    better = [15.0] + [15.0 - phq - 1] * (k - 1)
    histories = _histories(phq9=[flat, better], gad7=[[10.0] * k, [10.0] * k])
    rule = RationalRules().fit(histories, None)
    assert rule.predict(histories).alert["no_improvement"].tolist() == [True, False]
    assert not rule.predict(histories.upto(k - 1)).alert["no_improvement"].any()
    risk = rule.predict(histories).risk["no_improvement"]
    assert risk[0] > risk[1]


def test_rational_rule_on_whole_courses_agrees_with_the_outcome_labels(reference):
    histories, labels = reference
    prediction = RationalRules().fit(histories, labels).predict(histories)
    assert np.array_equal(prediction.alert["deterioration"], labels.deterioration)


@pytest.mark.parametrize("session", [2, 3, 5])
def test_predictions_at_a_session_ignore_later_data(fitted, held_out, session):
    histories, _ = held_out
    altered = {name: values.copy() for name, values in histories.scores.items()}
    rng = np.random.default_rng(0)
    for values in altered.values():
        later = values[:, session:]
        later[~np.isnan(later)] = rng.uniform(0, 10, size=int((~np.isnan(later)).sum()))
    changed = Histories(
        histories.client_id, histories.therapist_id, histories.group, histories.sessions, altered
    )
    for method in fitted.values():
        plain = method.predict(histories.upto(session))
        fast = method.predict_sessions(changed, [session])[session]
        for outcome in method.outcomes:
            assert np.array_equal(plain.risk[outcome], fast.risk[outcome]), (method.name, outcome)
            assert np.array_equal(plain.alert[outcome], fast.alert[outcome]), (method.name, outcome)
            assert len(plain.risk[outcome]) == int((histories.sessions >= session).sum())
            assert np.isfinite(plain.risk[outcome]).all()


def test_oq_curves_reproduce_the_reference_mean_course(fitted, reference):
    histories, _ = reference
    oq: OqExpectedRecovery = fitted["oq_expected_recovery"]
    values = histories.score("phq9")
    bands = oq._band("phq9", values[:, 0])
    checked = 0
    for band, curve in enumerate(oq.curves_["phq9"]):
        rows = bands == band
        if rows.sum() < 100:
            continue
        sessions = np.arange(1, 5)
        observed = np.nanmean(values[rows][:, :4], axis=0)
        assert np.abs(curve.mean(sessions.astype(float)) - observed).max() < 1.25, band
        checked += 1
    assert checked >= 3


def test_oq_signals_red_above_the_tolerance_limit_only(fitted):
    oq: OqExpectedRecovery = fitted["oq_expected_recovery"]
    intake = np.array([17.0, 17.0])
    mean, sd = oq.expected("phq9", intake, np.array([4, 4]))
    just_under = mean[0] + 0.99 * oq.red_z_ * sd[0]
    far_above = mean[1] + 1.5 * oq.red_z_ * sd[1]
    gad_mean, _ = oq.expected("gad7", np.array([10.0]), np.array([4]))
    histories = _histories(
        phq9=[[17, np.nan, np.nan, just_under], [17, np.nan, np.nan, far_above]],
        gad7=[[10, np.nan, np.nan, gad_mean[0]]] * 2,
    )
    prediction = oq.predict(histories)
    assert prediction.alert["deterioration"].tolist() == [False, True]
    assert prediction.risk["deterioration"][1] == pytest.approx(1.5 * oq.red_z_)


def test_trier_band_holds_about_ninety_percent_of_new_clients_scores(fitted, held_out):
    histories, _ = held_out
    trier: TrierNearestNeighbours = fitted["trier_nearest_neighbours"]
    coverage = baseline_parameters().trier.boundary_coverage.value
    for name, band in trier.bands(histories).items():
        scores = histories.score(name)[:, :10]
        seen = ~np.isnan(scores)
        inside = (scores >= band.low[:, :10]) & (scores <= band.high[:, :10])
        per_session = inside.sum(0) / seen.sum(0)
        assert np.all(np.abs(per_session - coverage) < 0.07), (name, per_session)
        assert abs(inside.sum() / seen.sum() - coverage) < 0.04, name


def test_trier_flags_scores_above_the_failure_boundary(fitted, held_out):
    histories, _ = held_out
    trier: TrierNearestNeighbours = fitted["trier_nearest_neighbours"]
    cut = histories.upto(4)
    bands = trier.bands(cut)
    prediction = trier.predict(cut)
    # recompute the rule by hand for clients who filled in both forms at session 4
    both = ~np.isnan(cut.score("phq9")[:, 3]) & ~np.isnan(cut.score("gad7")[:, 3])
    above = np.zeros(len(cut), dtype=bool)
    for m in outcome_measures():
        above |= m.worse_sign * cut.score(m.name)[:, 3] > bands[m.name].high[:, 3]
    assert np.array_equal(prediction.alert["deterioration"][both], above[both])
    assert 0 < above[both].mean() < 0.3


def test_pcoms_zones_follow_the_two_curves(fitted):
    pcoms: PcomsZones = fitted["pcoms_zones"]
    phq = pcoms.success_["phq9"][3], pcoms.failure_["phq9"][3]
    target = phq[0][0] + phq[0][1] * 16
    failure = phq[1][0] + phq[1][1] * 16
    assert target < failure
    gad_target = pcoms.success_["gad7"][3][0] + pcoms.success_["gad7"][3][1] * 12
    histories = _histories(
        phq9=[[16, np.nan, np.nan, v] for v in (target - 0.5, (target + failure) / 2, failure + 0.5)],
        gad7=[[12, np.nan, np.nan, gad_target - 0.5]] * 3,
    )
    position, zone = pcoms.zones(histories)
    assert zone.tolist() == [1, 2, 3]  # green, orange, red
    assert position[1] == pytest.approx(0.5)
    assert pcoms.predict(histories).alert["deterioration"].tolist() == [False, False, True]


def test_pcoms_relationship_rules_are_the_srs_rules_rescaled(fitted):
    pcoms: PcomsZones = fitted["pcoms_zones"]
    srs, checkin = get_instrument("srs").scoring, get_instrument("checkin").scoring
    ratio = (checkin.range[1] - checkin.range[0]) / (srs.range[1] - srs.range[0])
    assert pcoms.checkin_cutoff_ == pytest.approx(srs.caseness.value * ratio)
    high = pcoms.checkin_cutoff_ + 0.5
    histories = _histories(
        checkin=[
            [high, high],
            [high, high - pcoms.checkin_drop_],
            [high, pcoms.checkin_cutoff_ - 0.1],
            [high, np.nan],
        ],
        phq9=[[10, 10]] * 4,
        gad7=[[8, 8]] * 4,
    )
    alert = pcoms._relationship(histories)[1]
    assert alert.tolist() == [False, True, True, False]


def test_methods_work_on_data_without_the_check_in(reference):
    histories, labels = reference
    without = Histories(
        histories.client_id,
        histories.therapist_id,
        histories.group,
        histories.sessions,
        {k: v for k, v in histories.scores.items() if not k.startswith("checkin")},
    )
    for method in (RationalRules(), PcomsZones(), TrierNearestNeighbours()):
        method.fit(without, labels)
        prediction = method.predict(without.upto(3))
        for outcome in method.outcomes:
            assert np.isfinite(prediction.risk[outcome]).all()
        if "rupture" in method.outcomes:
            assert not prediction.alert["rupture"].any()

"""Reliable change (Jacobson & Truax 1991): the published worked example, parameter sets, direction,
boundaries, bad input, and properties that must hold for any scores."""

from __future__ import annotations

import math

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from hypothesis import given

from attunement.change.reliable_change import (
    ChangeThreshold,
    raw_threshold,
    reliable_change_index,
    reliable_deterioration,
    reliable_improvement,
    standard_error_of_difference,
    standard_error_of_measurement,
    threshold_for,
    threshold_from_reliability,
)
from attunement.errors import InvalidInputError
from attunement.instruments import get_instrument
from attunement.instruments.definition import Status

# Jacobson & Truax 1991, J Consult Clin Psychol 59:12-19 (worked example; prediction.md section 6,
# [verified], and matching CECPfuns getRCIfromSDandAlpha(7.5, .8)): SD 7.5, r .80 give SE_m 3.354,
# S_diff 4.743, a threshold of 1.96 x 4.743 = 9.30 points; 47.5 -> 32.5 gives RC -3.16.
JT_SD, JT_R = 7.5, 0.80


def test_jacobson_truax_worked_example():
    assert standard_error_of_measurement(JT_SD, JT_R) == pytest.approx(3.354, abs=5e-4)
    assert standard_error_of_difference(JT_SD, JT_R) == pytest.approx(4.743, abs=5e-4)
    assert raw_threshold(JT_SD, JT_R) == pytest.approx(9.30, abs=5e-3)
    assert reliable_change_index(47.5, 32.5, JT_SD, JT_R) == pytest.approx(-3.16, abs=5e-3)


def test_worked_example_is_an_improvement_on_a_lower_is_better_scale_only():
    t = threshold_from_reliability(JT_SD, JT_R)
    assert reliable_improvement(47.5, 32.5, t, direction="lower_is_better") is True
    assert reliable_deterioration(47.5, 32.5, t, direction="lower_is_better") is False
    assert reliable_improvement(47.5, 32.5, t, direction="higher_is_better") is False
    assert reliable_deterioration(47.5, 32.5, t, direction="higher_is_better") is True
    assert t.index(47.5, 32.5) == pytest.approx(-3.16, abs=5e-3)


@pytest.mark.parametrize(
    ("sd", "reliability", "published"),
    [
        # instruments.md section 5, "threshold range by coefficient" [unverified: derived]:
        # PHQ-9 at SD 5.5: r .84 -> 6.1, alpha .89 -> 5.1; GAD-7 at SD 4.5: r .83 -> 5.1, alpha .92 -> 3.5.
        (5.5, 0.84, 6.1),
        (5.5, 0.89, 5.1),
        (4.5, 0.83, 5.1),
        (4.5, 0.92, 3.5),
        (7.5, 0.80, 9.3),  # Jacobson & Truax 1991 worked example
    ],
)
def test_thresholds_match_the_reference_arithmetic(sd, reliability, published):
    assert raw_threshold(sd, reliability) == pytest.approx(published, abs=0.05)


@pytest.mark.parametrize(
    ("instrument", "points"),
    # NHS Talking Therapies convention (instruments.md section 5, [unverified: secondary]): PHQ-9 6, GAD-7 4.
    [("phq9", 6), ("gad7", 4)],
)
def test_default_set_is_the_published_raw_threshold_with_its_status(instrument, points):
    t = threshold_for(get_instrument(instrument))
    assert (t.points, t.rule, t.set_id) == (points, ">=", "nhs_tt")
    assert t.status is Status.SECONDARY and not t.verified and t.tag == "[unverified: secondary]"
    assert "Saunders" in t.source
    assert t.s_diff is None and t.index(18, 9) is None  # a raw threshold has no S_diff, so no index


def test_a_named_set_with_sd_and_reliability_is_computed():
    inst = get_instrument("phq9")
    parameters = inst.reliable_change_set("kroenke2001_retest")
    t = threshold_for(inst, "kroenke2001_retest")
    assert t.points == pytest.approx(raw_threshold(parameters.sd, parameters.reliability))
    assert t.rule == ">" and t.status is Status.RECALLED and t.z == 1.96


def test_unknown_set_is_refused_with_the_known_ones():
    with pytest.raises(InvalidInputError) as err:
        threshold_for(get_instrument("phq9"), "nope")
    assert "nhs_tt" in str(err.value) and "'nope'" in str(err.value)


@pytest.mark.parametrize(
    ("pre", "post", "improved", "deteriorated"),
    [
        (16, 10, True, False),  # exactly 6: reliable under ">="
        (16, 11, False, False),  # 5
        (10, 16, False, True),
        (10, 15, False, False),
        (10, 10, False, False),
    ],
)
def test_published_rule_counts_a_change_equal_to_the_threshold(pre, post, improved, deteriorated):
    t = threshold_for(get_instrument("phq9"))
    assert reliable_improvement(pre, post, t, direction="lower_is_better") is improved
    assert reliable_deterioration(pre, post, t, direction="lower_is_better") is deteriorated


def test_strict_rule_does_not_count_a_change_equal_to_the_threshold():
    strict = ChangeThreshold(points=6.0, rule=">")
    assert reliable_improvement(16, 10, strict, direction="lower_is_better") is False
    assert reliable_improvement(16, 9.5, strict, direction="lower_is_better") is True


@pytest.mark.parametrize(
    ("sd", "reliability", "field"),
    [
        (7.5, 0.0, "reliability"),
        (7.5, 1.0, "reliability"),
        (7.5, 1.2, "reliability"),
        (7.5, -0.3, "reliability"),
        (7.5, float("nan"), "reliability"),
        (0.0, 0.8, "sd"),
        (-2.0, 0.8, "sd"),
        (None, 0.8, "sd"),
        ("wide", 0.8, "sd"),
    ],
)
def test_bad_parameters_name_the_field(sd, reliability, field):
    with pytest.raises(InvalidInputError) as err:
        threshold_from_reliability(sd, reliability)
    assert [p.field for p in err.value.problems] == [field]


def test_bad_scores_are_refused():
    t = threshold_from_reliability(JT_SD, JT_R)
    with pytest.raises(InvalidInputError) as err:
        reliable_improvement(pd.Series([20, "high"]), pd.Series([10, 12]), t, direction="lower_is_better")
    assert err.value.problems[0].field == "pre"
    with pytest.raises(InvalidInputError):
        reliable_improvement(20, float("inf"), t, direction="lower_is_better")
    with pytest.raises(InvalidInputError):
        reliable_improvement([1, 2, 3], [1, 2], t, direction="lower_is_better")
    with pytest.raises(InvalidInputError):
        reliable_improvement(20, 10, t, direction="down")
    with pytest.raises(InvalidInputError):
        threshold_from_reliability(JT_SD, JT_R, z=0)


def test_series_keep_their_index_and_missing_scores_stay_missing():
    t = threshold_from_reliability(JT_SD, JT_R)
    pre = pd.Series([47.5, 30.0, np.nan], index=["a", "b", "c"])
    post = pd.Series([32.5, 31.0, 20.0], index=["a", "b", "c"])
    flags = reliable_improvement(pre, post, t, direction="lower_is_better")
    assert list(flags.index) == ["a", "b", "c"]
    assert flags.iloc[:2].tolist() == [True, False]
    assert flags.isna().tolist() == [False, False, True]
    rci = reliable_change_index(pre, post, JT_SD, JT_R)
    assert rci.index.equals(pre.index) and math.isnan(rci["c"])
    assert reliable_improvement(None, 10, t, direction="lower_is_better") is None


scores = st.floats(min_value=-200, max_value=200, allow_nan=False)
reliabilities = st.floats(min_value=0.01, max_value=0.99)
sds = st.floats(min_value=0.1, max_value=50)


@given(scores, scores, sds, reliabilities)
def test_index_is_antisymmetric_in_pre_and_post(pre, post, sd, r):
    forward = reliable_change_index(pre, post, sd, r)
    backward = reliable_change_index(post, pre, sd, r)
    assert forward == pytest.approx(-backward, abs=1e-9)


@given(sds, reliabilities, reliabilities)
def test_threshold_grows_as_reliability_falls(sd, r1, r2):
    low, high = sorted((r1, r2))
    assert raw_threshold(sd, low) >= raw_threshold(sd, high)
    if high - low > 1e-6:
        assert raw_threshold(sd, low) > raw_threshold(sd, high)


@given(scores, scores, sds, reliabilities)
def test_reliable_exactly_when_the_index_exceeds_z(pre, post, sd, r):
    t = threshold_from_reliability(sd, r)
    rc = reliable_change_index(pre, post, sd, r)
    if abs(abs(rc) - 1.96) > 1e-9:  # away from the boundary, where rounding decides
        reliable = reliable_improvement(pre, post, t, direction="lower_is_better") or reliable_deterioration(
            pre, post, t, direction="lower_is_better"
        )
        assert reliable == (abs(rc) > 1.96)


@given(
    st.lists(st.tuples(scores, scores), min_size=1, max_size=20),
    sds,
    reliabilities,
    st.sampled_from(["lower_is_better", "higher_is_better"]),
)
def test_vectorised_results_equal_the_scalar_results(pairs, sd, r, direction):
    t = threshold_from_reliability(sd, r)
    pre = np.array([p for p, _ in pairs])
    post = np.array([q for _, q in pairs])
    series_pre, series_post = pd.Series(pre), pd.Series(post)
    rci = reliable_change_index(series_pre, series_post, sd, r)
    improved = reliable_improvement(pre, post, t, direction=direction)
    worse = reliable_deterioration(series_pre, series_post, t, direction=direction)
    for i, (p, q) in enumerate(pairs):
        assert rci[i] == reliable_change_index(p, q, sd, r)
        assert bool(improved[i]) is reliable_improvement(p, q, t, direction=direction)
        assert bool(worse[i]) is reliable_deterioration(p, q, t, direction=direction)

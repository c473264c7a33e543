"""Clinical significance (Jacobson & Truax 1991): cut-offs a/b/c, the classifications, and the
published counts for the clinicalsignificance example data (prediction.md section 7)."""

from __future__ import annotations

from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from hypothesis import given

from attunement.change.clinical_significance import (
    COMBINED_CATEGORIES,
    RELIABLE_CHANGE_CATEGORIES,
    assess_change,
    classify_combined,
    classify_cutoff_crossing,
    classify_reliable_change,
    classify_table,
    criterion_a,
    criterion_b,
    criterion_c,
    cutoff_for,
    cutoff_from_norms,
    given_cutoff,
)
from attunement.change.reliable_change import threshold_for, threshold_from_reliability
from attunement.errors import InvalidInputError
from attunement.instruments import get_instrument
from attunement.instruments.definition import Status

EXTERNAL = Path(__file__).resolve().parents[2] / "shared" / "external" / "clinicalsignificance"


def pairs(file: str, outcome: str, time: str, pre, post, id_column: str) -> pd.DataFrame:
    """Complete pre/post pairs from one of the clinicalsignificance example tables."""
    if not EXTERNAL.is_dir():
        pytest.skip(
            f"clinicalsignificance example data not found at {EXTERNAL} (it sits beside the repository)"
        )
    long = pd.read_csv(EXTERNAL / file)
    wide = long.pivot(index=id_column, columns=time, values=outcome)
    return wide[[pre, post]].set_axis(["pre", "post"], axis=1).dropna()


def counts(labels: pd.Series) -> dict[str, int]:
    return {k: int(v) for k, v in labels.value_counts(sort=False).items()}


# --- the published counts (prediction.md section 7; R package clinicalsignificance, Claus et al.,
# J Stat Softw 111(1), doi:10.18637/jss.v111.i01) -------------------------------------------------


@pytest.mark.external
def test_antidepressants_jacobson_truax_r80():
    # antidepressants, JT, r = .80; SD_pre 8.2563; S_diff 5.2218 -> 274 improved / 237 unchanged /
    # 44 deteriorated of 555 [verified: reproduced].
    data = pairs("antidepressants.csv", "mom_di", "measurement", "Before", "After", "patient")
    t = threshold_from_reliability(data["pre"].std(), 0.80)
    assert len(data) == 555
    assert t.sd == pytest.approx(8.2563, abs=5e-5) and t.s_diff == pytest.approx(5.2218, abs=5e-5)
    labels = classify_reliable_change(data["pre"], data["post"], t, direction="lower_is_better")
    assert counts(labels) == {"improved": 274, "unchanged": 237, "deteriorated": 44}


@pytest.mark.external
def test_claus_2020_hamd_jacobson_truax_r80():
    # claus_2020 HAMD, time 1 -> 4, JT, r = .80; SD_pre 3.3401; S_diff 2.1125 -> 29 / 10 / 1 of 40.
    data = pairs("claus_2020.csv", "hamd", "time", 1, 4, "id")
    t = threshold_from_reliability(data["pre"].std(), 0.80)
    assert len(data) == 40
    assert t.sd == pytest.approx(3.3401, abs=5e-5) and t.s_diff == pytest.approx(2.1125, abs=5e-5)
    labels = classify_reliable_change(data["pre"], data["post"], t, direction="lower_is_better")
    assert counts(labels) == {"improved": 29, "unchanged": 10, "deteriorated": 1}


@pytest.mark.external
def test_claus_2020_hamd_combined_with_criterion_c():
    # claus_2020 HAMD, combined JT with criterion c, M_func = 8, SD_func = 8; cut-off 19.89 ->
    # Recovered 26, Improved 3, Unchanged 10, Deteriorated 1, Harmed 0 [verified: reproduced].
    data = pairs("claus_2020.csv", "hamd", "time", 1, 4, "id")
    m, sd = data["pre"].mean(), data["pre"].std()
    cut = cutoff_from_norms(
        "c", direction="lower_is_better", clinical_mean=m, clinical_sd=sd, functional_mean=8, functional_sd=8
    )
    assert cut.value == pytest.approx(19.89, abs=5e-3)
    t = threshold_from_reliability(sd, 0.80)
    table = classify_table(data, t, direction="lower_is_better", cutoff=cut)
    assert counts(table["category"]) == {
        "recovered": 26,
        "improved": 3,
        "unchanged": 10,
        "deteriorated": 1,
        "harmed": 0,
    }
    assert table["category"].equals(classify_combined(data["pre"], data["post"], t, cut).rename("category"))


@pytest.mark.external
def test_claus_2020_hamd_cutoff_crossing_with_criterion_a():
    # HAMD, statistical approach with criterion a; cut-off 18.17 -> 26 / 13 / 1 [verified]. The
    # "statistical" approach classifies by the cut-off alone: clinical before and functional after
    # (improved), the reverse (deteriorated), or the same side both times (unchanged).
    data = pairs("claus_2020.csv", "hamd", "time", 1, 4, "id")
    cut = cutoff_from_norms(
        "a", direction="lower_is_better", clinical_mean=data["pre"].mean(), clinical_sd=data["pre"].std()
    )
    assert cut.value == pytest.approx(18.17, abs=5e-3)
    labels = classify_cutoff_crossing(data["pre"], data["post"], cut)
    assert counts(labels) == {"improved": 26, "unchanged": 13, "deteriorated": 1}


@pytest.mark.external
def test_antidepressants_cutoff_crossing_with_criterion_c():
    # antidepressants, criterion c, M = 7, SD = 7; cut-off 19.72 -> 173 / 368 / 14 [verified].
    # These are cut-off-crossing counts (the package's statistical approach), not reliable-change
    # categories: the combined categories collapsed to three give 274 / 237 / 44 instead.
    data = pairs("antidepressants.csv", "mom_di", "measurement", "Before", "After", "patient")
    cut = cutoff_from_norms(
        "c",
        direction="lower_is_better",
        clinical_mean=data["pre"].mean(),
        clinical_sd=data["pre"].std(),
        functional_mean=7,
        functional_sd=7,
    )
    assert cut.value == pytest.approx(19.72, abs=5e-3)
    labels = classify_cutoff_crossing(data["pre"], data["post"], cut)
    assert counts(labels) == {"improved": 173, "unchanged": 368, "deteriorated": 14}


@pytest.mark.external
def test_higher_is_better_scale_mirrors_lower_is_better():
    # jacobson_1989 DAS (Dyadic Adjustment Scale; higher is better): classifying the scores, and
    # classifying their negatives as a lower-is-better scale, must give the same categories.
    data = pairs("jacobson_1989.csv", "das", "time", "pre", "post", "subject")
    t = threshold_from_reliability(data["pre"].std(), 0.80)
    m, sd = data["pre"].mean(), data["pre"].std()
    up = cutoff_from_norms("a", direction="higher_is_better", clinical_mean=m, clinical_sd=sd)
    down = cutoff_from_norms("a", direction="lower_is_better", clinical_mean=-m, clinical_sd=sd)
    assert up.value == pytest.approx(-down.value)
    rising = classify_table(data, t, direction="higher_is_better", cutoff=up)
    falling = classify_table(-data, t, direction="lower_is_better", cutoff=down)
    assert rising["category"].equals(falling["category"])
    assert (rising["reliable_change"] == "improved").sum() > 0


# --- cut-offs --------------------------------------------------------------------------------------


def test_criterion_b_uses_the_functional_sd():
    # Jacobson & Truax define b = M_func + 2 SD_func; the R package uses SD_clin there
    # (prediction.md section 6, "Pitfalls"). With SD_clin 3.34 and M_func = SD_func = 8, b is 24.
    b = cutoff_from_norms(
        "b",
        direction="lower_is_better",
        clinical_mean=24.85,
        clinical_sd=3.34,
        functional_mean=8,
        functional_sd=8,
    )
    assert b.value == pytest.approx(24.0)
    assert criterion_b(8, 8, direction="higher_is_better") == pytest.approx(-8.0)


@given(
    st.floats(-100, 100),
    st.floats(0.1, 30),
    st.floats(-100, 100),
    st.floats(0.1, 30),
)
def test_criterion_c_lies_between_the_means_and_flips_with_the_scale(m_clin, sd_clin, m_func, sd_func):
    c = criterion_c(m_clin, sd_clin, m_func, sd_func)
    assert min(m_clin, m_func) - 1e-9 <= c <= max(m_clin, m_func) + 1e-9
    assert criterion_c(-m_clin, sd_clin, -m_func, sd_func) == pytest.approx(-c, abs=1e-9)
    assert criterion_a(m_clin, sd_clin, direction="lower_is_better") == pytest.approx(
        -criterion_a(-m_clin, sd_clin, direction="higher_is_better"), abs=1e-9
    )
    if sd_clin == sd_func:
        assert c == pytest.approx((m_clin + m_func) / 2)


def test_instrument_defaults_come_from_the_definition():
    phq9 = get_instrument("phq9")
    case = cutoff_for(phq9)
    assert (case.value, case.rule, case.criterion) == (10, ">=", "caseness")
    assert case.status is Status.SECONDARY and case.tag == "[unverified: secondary]"
    # PHQ-9 norms (NHS England 2024-25, all problems x CBT at start): M 14.2, SD 6.1 -> a = 14.2 - 12.2.
    a = cutoff_for(phq9, "a")
    assert a.value == pytest.approx(2.0) and a.status is Status.VERIFIED
    with pytest.raises(InvalidInputError) as err:
        cutoff_for(phq9, "c")
    assert {p.field for p in err.value.problems} == {"functional_mean", "functional_sd"}


def test_missing_norms_and_bad_sds_are_refused():
    with pytest.raises(InvalidInputError):
        cutoff_from_norms("a", direction="lower_is_better", clinical_mean=20)
    with pytest.raises(InvalidInputError):
        cutoff_from_norms("a", direction="lower_is_better", clinical_mean=20, clinical_sd=0)
    with pytest.raises(InvalidInputError):
        cutoff_from_norms("d", direction="lower_is_better", clinical_mean=20, clinical_sd=5)  # type: ignore[arg-type]
    t = threshold_from_reliability(7.5, 0.8)
    with pytest.raises(InvalidInputError):  # a cut-off for the other direction
        classify_table(
            pd.DataFrame({"pre": [40], "post": [30]}),
            t,
            direction="higher_is_better",
            cutoff=given_cutoff(35, direction="lower_is_better"),
        )
    with pytest.raises(InvalidInputError):
        classify_table(pd.DataFrame({"before": [40], "post": [30]}), t, direction="lower_is_better")


# --- classification ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pre", "post", "category"),
    [
        # PHQ-9 with the NHS TT change of 6 (>=) and caseness >= 10 from the definition.
        (18, 9, "recovered"),  # reliable fall, 18 is a case and 9 is not
        (18, 12, "improved"),  # reliable fall, still a case
        (9, 3, "improved"),  # reliable fall, never a case
        (12, 8, "unchanged"),  # crossed the line, but a change of 4 is not reliable
        (12, 18, "deteriorated"),  # reliable rise within the clinical range
        (4, 10, "harmed"),  # reliable rise from the functional into the clinical range
        (9, 10, "unchanged"),
    ],
)
def test_combined_categories_for_one_client(pre, post, category):
    phq9 = get_instrument("phq9")
    result = assess_change(pre, post, threshold_for(phq9), direction=phq9.direction, cutoff=cutoff_for(phq9))
    assert result.category == category
    assert classify_combined(pre, post, threshold_for(phq9), cutoff_for(phq9)) == category


def test_one_client_assessment_carries_the_numbers():
    t = threshold_from_reliability(7.5, 0.8)
    result = assess_change(47.5, 32.5, t, direction="lower_is_better")
    assert result.change == -15 and result.improvement == 15
    assert result.rci == pytest.approx(-3.16, abs=5e-3) and result.reliable_change == "improved"
    assert result.category is None
    with pytest.raises(InvalidInputError):
        assess_change(47.5, None, t, direction="lower_is_better")  # type: ignore[arg-type]


def test_missing_scores_get_no_category():
    t = threshold_from_reliability(7.5, 0.8)
    cut = given_cutoff(35, direction="lower_is_better")
    table = pd.DataFrame({"pre": [47.5, np.nan, 40.0], "post": [32.5, 20.0, np.nan]}, index=[7, 8, 9])
    out = classify_table(table, t, direction="lower_is_better", cutoff=cut)
    assert list(out.index) == [7, 8, 9]
    assert out["category"].isna().tolist() == [False, True, True]
    assert out["reliable_change"].isna().tolist() == [False, True, True]
    assert out.loc[7, "category"] == "recovered"
    assert classify_reliable_change(None, 3, t, direction="lower_is_better") is None


def test_a_score_on_a_computed_cutoff_counts_as_functional():
    cut = given_cutoff(20, direction="lower_is_better")
    assert cut.is_clinical(20) is False and cut.is_clinical(20.5) is True
    inclusive = given_cutoff(20, direction="lower_is_better", clinical_at_cutoff=True)
    assert inclusive.is_clinical(20) is True
    up = given_cutoff(20, direction="higher_is_better")
    assert up.is_clinical(19.5) is True and up.is_clinical(20) is False


scores = st.floats(min_value=0, max_value=60, allow_nan=False)
directions = st.sampled_from(["lower_is_better", "higher_is_better"])


@given(
    st.lists(st.tuples(scores, scores), min_size=1, max_size=25),
    st.floats(1, 15),
    st.floats(0.3, 0.95),
    st.floats(0, 60),
    directions,
)
def test_categories_are_exhaustive_exclusive_and_agree_with_reliable_change(
    pairs_, sd, r, cut_value, direction
):
    t = threshold_from_reliability(sd, r)
    cut = given_cutoff(cut_value, direction=direction)
    table = pd.DataFrame(pairs_, columns=["pre", "post"])
    out = classify_table(table, t, direction=direction, cutoff=cut)
    assert out["category"].notna().all() and out["category"].isin(COMBINED_CATEGORIES).all()
    assert out["reliable_change"].isin(RELIABLE_CHANGE_CATEGORIES).all()
    # Each row is in exactly one category of each scheme; recovered / harmed refine improved /
    # deteriorated, so collapsing them gives back the reliable-change classification.
    collapsed = out["category"].astype(str).replace({"recovered": "improved", "harmed": "deteriorated"})
    assert (collapsed == out["reliable_change"].astype(str)).all()
    assert not (out["reliable_improvement"] & out["reliable_deterioration"]).any()
    for i, (pre, post) in enumerate(pairs_):  # the table equals the one-client answer, row by row
        assert out["category"][i] == classify_combined(pre, post, t, cut)
        assert out["reliable_change"][i] == classify_reliable_change(pre, post, t, direction=direction)
        assert out["cutoff_crossing"][i] == classify_cutoff_crossing(pre, post, cut)

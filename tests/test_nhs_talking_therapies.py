"""NHS Talking Therapies paired outcomes (instruments.md section 4) and the national rate
denominators, checked against the published national counts and percentages."""

from __future__ import annotations

from pathlib import Path

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import given

import attunement.change.nhs_talking_therapies as nhstt
from attunement.change.nhs_talking_therapies import (
    paired_measures,
    paired_outcomes,
    service_rates,
)
from attunement.errors import InvalidInputError
from attunement.instruments import get_instrument
from attunement.instruments.definition import Status

NATIONAL = Path(__file__).resolve().parents[2] / "shared" / "external" / "nhstt" / "national_annual.csv"


def course(phq9_first, phq9_last, gad7_first, gad7_last) -> dict:
    return {
        "phq9_first": phq9_first,
        "phq9_last": phq9_last,
        "gad7_first": gad7_first,
        "gad7_last": gad7_last,
    }


def one(row: dict) -> pd.Series:
    return paired_outcomes(pd.DataFrame([row])).table.iloc[0]


# Thresholds (instruments.md section 4, [unverified: secondary], Saunders et al. 2021 Table 1):
# caseness PHQ-9 >= 10, GAD-7 >= 8; reliable change PHQ-9 >= 6, GAD-7 >= 4 points.
@pytest.mark.parametrize(
    ("scores", "column", "expected"),
    [
        (course(16, 10, 5, 5), "depression_reliable_improvement", True),  # PHQ-9 fall of exactly 6
        (course(16, 11, 5, 5), "depression_reliable_improvement", False),  # fall of 5
        (course(10, 16, 5, 5), "depression_reliable_deterioration", True),  # rise of exactly 6
        (course(10, 15, 5, 5), "depression_reliable_deterioration", False),
        (course(5, 5, 12, 8), "anxiety_reliable_improvement", True),  # GAD-7 fall of exactly 4
        (course(5, 5, 12, 9), "anxiety_reliable_improvement", False),  # fall of 3
        (course(5, 5, 8, 12), "anxiety_reliable_deterioration", True),
        (course(5, 5, 9, 12), "anxiety_reliable_deterioration", False),
        (course(10, 3, 0, 0), "depression_caseness_first", True),  # PHQ-9 exactly 10
        (course(9, 3, 0, 0), "depression_caseness_first", False),
        (course(0, 0, 8, 3), "anxiety_caseness_first", True),  # GAD-7 exactly 8
        (course(0, 0, 7, 3), "anxiety_caseness_first", False),
        (course(9, 3, 7, 3), "caseness_first", False),
        (course(9, 3, 8, 3), "caseness_first", True),  # caseness on either measure
        (course(10, 9, 8, 7), "recovery", True),  # below the cut-off on both at the end
        (course(10, 10, 8, 7), "recovery", False),  # still a case on PHQ-9
        (course(12, 4, 9, 8), "recovery", False),  # still a case on GAD-7
        (course(9, 3, 7, 3), "recovery", False),  # not a case at the start
    ],
)
def test_boundaries(scores, column, expected):
    assert bool(one(scores)[column]) is expected


@pytest.mark.parametrize(
    ("scores", "reliable_recovery", "why"),
    [
        (course(16, 8, 12, 6), True, "all five conditions"),
        (course(16, 8, 2, 6), False, "reliable deterioration on GAD-7 (2 -> 6), though recovered"),
        (course(14, 9, 9, 7), False, "recovered, but no reliable improvement on either measure"),
        (course(14, 8, 9, 7), True, "reliable improvement on PHQ-9 alone is enough"),
        (course(9, 2, 7, 1), False, "not at caseness at the start"),
        (course(20, 12, 12, 7), False, "still a case on PHQ-9 at the end"),
    ],
)
def test_reliable_recovery_is_the_official_five_condition_construction(scores, reliable_recovery, why):
    row = one(scores)
    assert bool(row["reliable_recovery"]) is reliable_recovery, why
    # The simplified "recovery plus reliable improvement on either measure" differs on the second row.
    simplified = bool(row["recovery"]) and bool(
        row["depression_reliable_improvement"] or row["anxiety_reliable_improvement"]
    )
    if scores == course(16, 8, 2, 6):
        assert simplified and not row["reliable_recovery"]


@pytest.mark.parametrize(
    ("scores", "outcome"),
    [
        (course(16, 10, 12, 12), "reliable_improvement"),
        (course(16, 10, 4, 8), "reliable_deterioration"),  # improved on one, deteriorated on the other
        (course(10, 16, 8, 8), "reliable_deterioration"),
        (course(16, 11, 12, 9), "no_reliable_change"),
    ],
)
def test_combined_reliable_change_of_a_course(scores, outcome):
    row = one(scores)
    flags = {
        k: bool(row[k]) for k in ("reliable_improvement", "reliable_deterioration", "no_reliable_change")
    }
    assert [k for k, v in flags.items() if v] == [outcome]


def test_unpaired_courses_have_no_outcome_but_keep_known_caseness():
    table = pd.DataFrame([course(16, None, 12, 6), course(None, None, 9, 4)], index=["x", "y"])
    out = paired_outcomes(table).table
    assert out["paired"].tolist() == [False, False]
    assert out["reliable_recovery"].isna().all() and out["reliable_improvement"].isna().all()
    assert out["caseness_first"].tolist() == [True, True]  # caseness on either measure is known


def test_results_carry_the_thresholds_with_their_unverified_status():
    result = paired_outcomes(pd.DataFrame([course(16, 8, 12, 6)]))
    found = {(t.instrument, t.kind): (t.value, t.rule, t.status) for t in result.thresholds}
    assert found == {
        ("phq9", "caseness"): (10, ">=", Status.SECONDARY),
        ("phq9", "reliable_change"): (6, ">=", Status.SECONDARY),
        ("gad7", "caseness"): (8, ">=", Status.SECONDARY),
        ("gad7", "reliable_change"): (4, ">=", Status.SECONDARY),
    }
    assert all(t.tag == "[unverified: secondary]" for t in result.thresholds)
    assert result.definitions["reliable_improvement"].status is Status.PROJECT_CHOICE
    assert result.definitions["reliable_recovery"].status is Status.VERIFIED
    assert "gad7 caseness >= 8 [unverified: secondary]" in result.unverified
    assert "reliable_improvement [project choice]" in result.unverified


def test_thresholds_are_read_from_the_instrument_definitions(monkeypatch):
    phq9 = get_instrument("phq9")
    stricter = phq9.model_copy(
        update={
            "scoring": phq9.scoring.model_copy(
                update={"caseness": phq9.scoring.caseness.model_copy(update={"value": 12.0})}
            )
        }
    )
    monkeypatch.setattr(nhstt, "get_instrument", lambda i: stricter if i == "phq9" else get_instrument(i))
    assert paired_measures().depression_caseness.value == 12
    assert bool(one(course(11, 3, 0, 0))["caseness_first"]) is False


def test_bad_input_is_refused():
    with pytest.raises(InvalidInputError) as err:
        paired_outcomes(pd.DataFrame({"phq9_first": [10], "phq9_last": [5]}))
    assert "gad7_first" in str(err.value)
    with pytest.raises(InvalidInputError):
        paired_outcomes(pd.DataFrame([course(16, 8, 12, 6)]), set_id="kroenke2001_retest")  # not on GAD-7
    with pytest.raises(InvalidInputError) as err:
        service_rates({"finished_course_treatment": 10})
    assert "not_at_caseness" in str(err.value)
    with pytest.raises(InvalidInputError):
        service_rates({k: -1 for k in nhstt.COUNTS})


def test_service_rate_denominators():
    # Recovery and reliable recovery over finished minus not at caseness; the rest over finished
    # (nhstt README and NHS metadata): 30 / (100 - 20) = 37.5%, 60 / 100 = 60%.
    counts = {
        "finished_course_treatment": 100,
        "not_at_caseness": 20,
        "recovery": 30,
        "reliable_recovery": 28,
        "improvement": 60,
        "no_reliable_change": 33,
        "deterioration": 5,
    }
    rates = service_rates(counts)
    assert rates["recovery"] == pytest.approx(37.5) and rates["reliable_recovery"] == pytest.approx(35.0)
    assert rates["improvement"] == pytest.approx(60.0) and rates["deterioration"] == pytest.approx(5.0)


def test_counts_from_a_course_table_use_the_national_denominators():
    table = pd.DataFrame(
        [
            course(16, 8, 12, 6),
            course(9, 3, 7, 3),
            course(16, 10, 4, 8),
            course(14, 13, 10, 9),
            course(16, None, 12, 6),
        ]
    )
    result = paired_outcomes(table)
    counts = result.counts()
    assert counts["finished_course_treatment"] == 5 and counts["not_at_caseness"] == 1
    assert counts["improvement"] + counts["no_reliable_change"] + counts["deterioration"] == 4  # one unpaired
    assert result.rates()["recovery"] == pytest.approx(100 * counts["recovery"] / 4)


@pytest.mark.external
def test_service_rates_reproduce_the_published_national_percentages():
    # NHS England, NHS Talking Therapies annual reports 2017-18 to 2024-25 (national_annual.csv from
    # bennettoxford/nhstt): the published percentages, to 1 decimal, for every year.
    if not NATIONAL.is_file():
        pytest.skip(
            f"NHS Talking Therapies national data not found at {NATIONAL} (it sits beside the repository)"
        )
    data = pd.read_csv(NATIONAL)
    measures = data[data["dataset"] == "measures_annual"]
    wide = measures.pivot_table(
        index="reporting_period",
        columns=["measure_name", "measure_statistic"],
        values="value",
        aggfunc="first",
    )
    counts = wide.xs("count", axis=1, level="measure_statistic")
    published = wide.xs("percentage", axis=1, level="measure_statistic")
    rates = service_rates(counts)
    assert len(rates) == 8
    for name in ("recovery", "reliable_recovery", "improvement", "no_reliable_change", "deterioration"):
        for year in rates.index:
            assert abs(rates.loc[year, name] - published.loc[year, name]) <= 0.05 + 1e-9, (year, name)
    # the dict form gives the same answer as the table form
    first = rates.index[0]
    assert service_rates(counts.loc[first].to_dict()) == pytest.approx(rates.loc[first].to_dict())


phq = st.integers(0, 27)
gad = st.integers(0, 21)


@given(st.lists(st.tuples(phq, phq, gad, gad), min_size=1, max_size=30))
def test_every_paired_course_has_exactly_one_change_outcome(rows):
    out = paired_outcomes(pd.DataFrame([course(*r) for r in rows])).table
    three = out[["reliable_improvement", "reliable_deterioration", "no_reliable_change"]].astype(int)
    assert (three.sum(axis=1) == 1).all()
    # reliable recovery implies recovery and reliable improvement
    assert not (out["reliable_recovery"] & ~out["recovery"]).any()
    assert not (out["reliable_recovery"] & ~out["reliable_improvement"]).any()
    assert not (out["recovery"] & ~out["caseness_first"]).any()

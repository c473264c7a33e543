"""Scoring of single forms: published boundaries, hand-worked examples, errors and properties.

Expected values come from the published bands and cut-offs (cited per table) or are worked by hand
in the comments; none is read back from the code under test.
"""

from __future__ import annotations

import math

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from attunement.errors import InvalidInputError
from attunement.instruments import TooManyMissingError, get_instrument, load_instruments, score
from attunement.instruments.scoring import answers_from_sequence, keyed

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def filled(instrument_id: str, total: int, *, skip: tuple[str, ...] = ()) -> dict[str, int]:
    """Answers to a sum-scored form, with no reversed items, that add up to ``total``.

    Items are filled in form order up to their maximum; items in ``skip`` stay at their minimum.
    """
    instrument = get_instrument(instrument_id)
    assert not instrument.scoring.reverse
    answers: dict[str, int] = {}
    left = total
    for link_id in instrument.scoring.items:
        spec = instrument.items[link_id]
        value = int(spec.low) if link_id in skip else int(min(spec.high, spec.low + left))
        left -= value - int(spec.low)
        answers[link_id] = value
    assert left == 0, "total not reachable"
    return answers


# --------------------------------------------------------------------------- published bands and cut-offs


# PHQ-9 bands 0-4 / 5-9 / 10-14 / 15-19 / 20-27 (Kroenke, Spitzer & Williams 2001; instruments.md 3.1).
@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately severe"),
        (19, "moderately severe"),
        (20, "severe"),
        (27, "severe"),
    ],
)
def test_phq9_bands_at_their_boundaries(total, band):
    result = score(get_instrument("phq9"), filled("phq9", total))
    assert (result.total, result.band) == (total, band)


# GAD-7 cut points 5 / 10 / 15 (Spitzer et al. 2006; instruments.md 3.1).
@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
)
def test_gad7_bands_at_their_boundaries(total, band):
    result = score(get_instrument("gad7"), filled("gad7", total))
    assert (result.total, result.band) == (total, band)


# Caseness: PHQ-9 >= 10 and GAD-7 >= 8 (NHS Talking Therapies, instruments.md 4); PHQ-2 >= 3 (Kroenke 2003);
# GAD-2 >= 3 (recalled); AUDIT-C >= 3 women / >= 4 men (Bush 1998; Bradley 2003); CORE-10 >= 11 (secondary).
@pytest.mark.parametrize(
    ("instrument_id", "below", "at"),
    [("phq9", 9, 10), ("gad7", 7, 8), ("phq2", 2, 3), ("gad2", 2, 3), ("auditc", 2, 3)],
)
def test_caseness_switches_at_the_published_cut_off(instrument_id, below, at):
    instrument = get_instrument(instrument_id)
    assert score(instrument, filled(instrument_id, below)).caseness is False
    assert score(instrument, filled(instrument_id, at)).caseness is True


@pytest.mark.parametrize(
    ("answers", "total", "band"),
    [
        ((1, 1, 0), 2, "negative screen"),
        ((1, 1, 1), 3, "positive screen for women (men: below the cut-off of 4)"),
        ((2, 1, 1), 4, "positive screen"),
        ((4, 4, 4), 12, "positive screen"),
    ],
)
def test_auditc_bands_keep_the_sex_specific_cut_offs_apart(answers, total, band):
    instrument = get_instrument("auditc")
    result = score(instrument, dict(zip(instrument.scoring.items, answers, strict=True)))
    assert (result.total, result.band) == (total, band)


def test_phq4_numbers_its_items_as_the_published_form_anxiety_pair_first():
    """Answers entered in form order (as the CLI and tables take them) land in the right pair."""
    instrument = get_instrument("phq4")
    texts = [instrument.item_text(i) for i in instrument.scoring.items]
    assert "nervous" in texts[0] and "worrying" in texts[1]
    assert "interest" in texts[2] and "down" in texts[3]
    result = score(instrument, answers_from_sequence(instrument, [3, 1, 0, 2]))
    assert result.total == 6
    assert result.subscales == {"anxiety": 4, "depression": 2}


@pytest.mark.parametrize(
    ("answers", "band", "screens"),
    [
        ((0, 0, 1, 1), "normal", {"anxiety": False, "depression": False}),
        ((1, 1, 1, 0), "mild", {"anxiety": False, "depression": False}),
        ((2, 1, 0, 0), "mild", {"anxiety": True, "depression": False}),
        ((2, 2, 1, 1), "moderate", {"anxiety": True, "depression": False}),
        ((0, 0, 3, 3), "moderate", {"anxiety": False, "depression": True}),
        ((3, 3, 3, 0), "severe", {"anxiety": True, "depression": True}),
        ((3, 3, 3, 3), "severe", {"anxiety": True, "depression": True}),
    ],
)
def test_phq4_total_bands_and_a_screen_for_each_pair(answers, band, screens):
    """Kroenke et al. 2009: distress 0-2 normal, 3-5 mild, 6-8 moderate, 9-12 severe; each pair
    positive at 3 or more."""
    instrument = get_instrument("phq4")
    result = score(instrument, answers_from_sequence(instrument, list(answers)))
    assert (result.band, result.screens) == (band, screens)


def test_core_om_non_risk_score_allows_at_most_10_percent_of_its_items_missing():
    instrument = get_instrument("core_om")
    non_risk = next(s for s in instrument.scoring.subscales if s.id == "non_risk")
    answers = {f"core_om_{i}": 1 for i in range(1, 35)}
    two, three = dict(answers), dict(answers)
    for item in non_risk.items[:2]:
        two[item] = None
    for item in non_risk.items[:3]:
        three[item] = None
    assert score(instrument, two).subscales["non_risk"] is not None
    assert score(instrument, three).subscales["non_risk"] is None


# SRS: flagged below 36, not at 36 (OpenFIT KA-01028 and dashboard alert rules; instruments.md 3.5).
@pytest.mark.parametrize(
    ("lines", "flagged"),
    [
        ((9, 9, 9, 8.9), True),
        ((9, 9, 9, 9), False),
        ((9.5, 9, 9, 9), False),
        ((0, 0, 0, 0), True),
        ((10, 10, 10, 10), False),
    ],
)
def test_srs_flags_scores_below_36_only(lines, flagged):
    instrument = get_instrument("srs")
    result = score(instrument, dict(zip(instrument.scoring.items, lines, strict=True)))
    assert result.total == pytest.approx(sum(lines))
    assert result.caseness is flagged


# ORS: adult clinical cut-off 25, the clinical range lying below it (OpenFIT; instruments.md 3.5).
@pytest.mark.parametrize(
    ("lines", "clinical"), [((6, 6, 6, 6.9), True), ((6, 6, 6, 7), False), ((10, 10, 10, 10), False)]
)
def test_ors_clinical_range_lies_below_25(lines, clinical):
    instrument = get_instrument("ors")
    result = score(instrument, dict(zip(instrument.scoring.items, lines, strict=True)))
    assert result.caseness is clinical


# --------------------------------------------------------------------------- hand-worked examples


def test_urica_readiness_is_c_plus_a_plus_m_minus_pc_on_subscale_means():
    instrument = get_instrument("urica")
    pc = {1: 1, 5: 1, 11: 2, 13: 2, 23: 1, 26: 1, 29: 2, 31: 2}  # mean 12/8 = 1.5
    c = {2: 4, 4: 4, 8: 4, 12: 4, 15: 4, 19: 4, 21: 4, 24: 4}  # mean 4
    a = {3: 3, 7: 3, 10: 3, 14: 3, 17: 4, 20: 4, 25: 4, 30: 4}  # mean 28/8 = 3.5
    m = {6: 2, 9: 2, 16: 2, 18: 2, 22: 2, 27: 2, 28: 2, 32: 2}  # mean 2
    answers = {f"urica_{i}": v for part in (pc, c, a, m) for i, v in part.items()}
    result = score(instrument, answers)
    assert result.subscales == {"precontemplation": 1.5, "contemplation": 4, "action": 3.5, "maintenance": 2}
    assert result.composites["readiness"] == pytest.approx(4 + 3.5 + 2 - 1.5)  # = 8.0
    assert result.total is None


def test_urica_subscale_with_one_missing_item_uses_the_other_seven():
    instrument = get_instrument("urica")
    answers = {f"urica_{i}": 3 for i in range(1, 33)}
    answers["urica_1"] = None  # precontemplation: seven 3s remain
    answers["urica_2"] = None  # contemplation
    answers["urica_4"] = None  # contemplation again: two missing, so no score
    result = score(instrument, answers)
    assert result.subscales["precontemplation"] == 3
    assert result.subscales["contemplation"] is None
    assert result.composites["readiness"] is None


@pytest.mark.parametrize(
    ("answer", "clinical_score"),
    [
        # All items 0: the 8 positively worded items reverse to 4, so the mean is 32/34 and x10 = 9.41.
        (0, 320 / 34),
        # All items 1: 26 items score 1 and 8 reversed items score 3: (26 + 24)/34 x 10 = 14.71.
        (1, 500 / 34),
        # All items 4: 26 x 4 = 104, reversed items score 0: 104/34 x 10 = 30.59.
        (4, 1040 / 34),
    ],
)
def test_core_om_clinical_score_is_mean_x10_after_reversal(answer, clinical_score):
    instrument = get_instrument("core_om")
    answers = {f"core_om_{i}": answer for i in range(1, 35)}
    result = score(instrument, answers)
    assert result.total == pytest.approx(clinical_score)
    # Connell et al. 2007: clinical above 9.9.
    assert result.caseness is (clinical_score > 9.9)


def test_core_om_domains_reverse_only_their_positive_items():
    instrument = get_instrument("core_om")
    result = score(instrument, {f"core_om_{i}": 0 for i in range(1, 35)})
    # Well-being 4, 14, 17, 31: items 4 and 31 reverse to 4 -> (4 + 0 + 0 + 4)/4 x 10 = 20.
    # Functioning has 6 reversed of 12 -> 24/12 x 10 = 20; problems and risk have none -> 0.
    assert result.subscales["wellbeing"] == pytest.approx(20)
    assert result.subscales["functioning"] == pytest.approx(20)
    assert result.subscales["problems"] == 0
    assert result.subscales["risk"] == 0


@pytest.mark.parametrize(
    ("answers", "total", "band", "case"),
    [
        # All 0: items 2 and 3 reverse to 4 -> 8.
        ((0,) * 10, 8, "healthy/low", False),
        # Reversed items 2 and 3 answered 4 score 0; the rest add up to 10, 11, 14 and 15
        # (bands <= 10 / 11-14 / 15-19).
        ((1, 4, 4, 1, 1, 0, 1, 2, 2, 2), 10, "healthy/low", False),
        ((1, 4, 4, 1, 1, 0, 2, 2, 2, 2), 11, "mild", True),
        ((2, 4, 4, 2, 2, 0, 2, 2, 2, 2), 14, "mild", True),
        ((2, 4, 4, 2, 2, 0, 2, 2, 2, 3), 15, "moderate", True),
        # Seven items at 4, the risk item at 0, reversed items answered 0 score 4 each: 28 + 8 = 36.
        ((4, 0, 0, 4, 4, 0, 4, 4, 4, 4), 36, "severe", True),
    ],
)
def test_core10_sums_after_reversing_items_2_and_3(answers, total, band, case):
    instrument = get_instrument("core10")
    result = score(instrument, dict(zip(instrument.scoring.items, answers, strict=True)))
    assert (result.total, result.band, result.caseness) == (total, band, case)


@pytest.mark.parametrize("prefix", ["checkin", "checkin_therapist"])
@pytest.mark.parametrize(
    ("judged", "total"),
    # Five items at 10 plus the reverse-keyed item:
    # judged 0 scores 10 -> 60/6 = 10; judged 10 scores 0 -> 50/6; judged 4 scores 6 -> 56/6.
    [(0, 10.0), (10, 50 / 6), (4, 56 / 6)],
)
def test_check_in_reverses_the_judged_item(prefix, judged, total):
    instrument = get_instrument(prefix)
    answers = {f"{prefix}_{s}": 10 for s in ("heard", "topics", "goals", "respected", "fit")}
    answers[f"{prefix}_judged"] = judged
    assert score(instrument, answers).total == pytest.approx(total)


def test_check_in_keeps_the_free_text_answer_apart_from_the_score():
    instrument = get_instrument("checkin")
    answers = {f"checkin_{s}": 5 for s in ("heard", "topics", "goals", "respected", "fit", "judged")}
    answers["checkin_different"] = "Slow down a little when we talk about work."
    result = score(instrument, answers)
    assert result.total == 5
    assert result.texts == {"checkin_different": "Slow down a little when we talk about work."}


@pytest.mark.parametrize(
    ("answers", "total"),
    [
        # heard, topics, goals, together, respected, safe, judged (reversed: 10 - answer).
        # All 8 and judged 2 (scores 8): 56 / 7 = 8.
        ((8, 8, 8, 8, 8, 8, 2), 8.0),
        # A partner who feels pushed: judged 9 scores 1; (10+10+10+4+10+6+1) / 7 = 51 / 7.
        ((10, 10, 10, 4, 10, 6, 9), 51 / 7),
    ],
)
def test_family_check_in_averages_seven_items_with_judged_reversed(answers, total):
    instrument = get_instrument("checkin_family")
    result = score(instrument, dict(zip(instrument.scoring.items, answers, strict=True)))
    assert result.total == pytest.approx(total)


@pytest.mark.parametrize(
    ("answers", "total"),
    [
        # belong, care, open, leader_understood, leader_goals, left_out (reversed: 10 - answer).
        # Left out 0 scores 10: (7+7+7+7+7+10) / 6 = 45 / 6 = 7.5.
        ((7, 7, 7, 7, 7, 0), 7.5),
        # Left out 10 scores 0: (9+8+7+6+5+0) / 6 = 35 / 6.
        ((9, 8, 7, 6, 5, 10), 35 / 6),
    ],
)
def test_group_check_in_averages_six_items_with_left_out_reversed(answers, total):
    instrument = get_instrument("checkin_group")
    result = score(instrument, dict(zip(instrument.scoring.items, answers, strict=True)))
    assert result.total == pytest.approx(total)


def test_youth_check_in_reverses_telling_off_and_keeps_the_comment_apart():
    instrument = get_instrument("checkin_youth")
    # heard, topics, goals, respected, safe, fit at 6; told off 10 scores 0: 36 / 7.
    answers = dict(zip(instrument.scoring.items, (6, 6, 6, 6, 6, 6, 10), strict=True))
    answers["checkin_youth_different"] = "Less talking about school please"
    result = score(instrument, answers)
    assert result.total == pytest.approx(36 / 7)
    assert result.texts == {"checkin_youth_different": "Less talking about school please"}


@pytest.mark.parametrize("instrument_id", ["checkin_family", "checkin_group", "checkin_youth"])
def test_room_check_ins_allow_one_missing_rating_and_refuse_two(instrument_id):
    instrument = get_instrument(instrument_id)
    items = instrument.scoring.items
    reversed_item = instrument.scoring.reverse[0]
    # Every rating 4 (the reversed one answered 6, so it scores 4 too), the first left blank:
    # the mean of the others is 4 whatever their number.
    answers: dict[str, int | None] = {i: 6 if i == reversed_item else 4 for i in items}
    answers[items[0]] = None
    result = score(instrument, answers)
    assert (result.total, result.prorated, result.missing) == (4, True, [items[0]])
    answers[items[1]] = None
    with pytest.raises(TooManyMissingError):
        score(instrument, answers)


def test_wai_sr_subscales_follow_the_secondary_key():
    instrument = get_instrument("wai_sr")
    # Item i answered (i mod 5) + 1:
    # 1->2, 2->3, 3->4, 4->5, 5->1, 6->2, 7->3, 8->4, 9->5, 10->1, 11->2, 12->3.
    answers = {f"wai_sr_{i}": (i % 5) + 1 for i in range(1, 13)}
    result = score(instrument, answers)
    assert result.subscales == {
        "task": 2 + 3 + 1 + 3,  # items 1, 2, 10, 12
        "bond": 4 + 1 + 3 + 5,  # items 3, 5, 7, 9
        "goal": 5 + 2 + 4 + 2,  # items 4, 6, 8, 11
    }
    assert result.total == 35  # 2+3+4+5+1 + 2+3+4+5+1 + 2+3


def test_sai_composite_is_the_item_mean():
    instrument = get_instrument("sai")
    result = score(instrument, {f"sai_{i}": v for i, v in enumerate([5, 4, 4, 3, 5, 3], start=1)})
    assert result.total == pytest.approx(24 / 6)


def test_cnip_gives_four_preference_scales_and_no_total():
    instrument = get_instrument("cnip")
    answers = {f"cnip_{i}": 0 for i in range(1, 19)}
    answers |= {f"cnip_{i}": 3 for i in range(1, 6)}  # directiveness: 5 x 3 = 15
    answers |= {f"cnip_{i}": -2 for i in range(11, 14)}  # past vs present: 3 x -2 = -6
    answers["cnip_14"] = -1  # warm support vs challenge: -1
    result = score(instrument, answers)
    assert result.total is None
    assert result.subscales == {
        "directiveness": 15,
        "emotional_intensity": 0,
        "orientation": -6,
        "challenge": -1,
    }


def test_readiness_rulers_are_read_one_by_one():
    instrument = get_instrument("readiness_ruler")
    result = score(instrument, {"importance": 8, "confidence": 3})
    assert result.total is None
    assert result.subscales == {"importance": 8, "confidence": 3}
    assert score(instrument, {"importance": 8}).subscales == {"importance": 8, "confidence": None}


# --------------------------------------------------------------------------- errors


def only_problem(exc: InvalidInputError):
    assert len(exc.problems) == 1
    return exc.problems[0]


def test_an_unknown_item_is_named():
    with pytest.raises(InvalidInputError) as caught:
        score(get_instrument("phq9"), {"phq9_10": 1})
    problem = only_problem(caught.value)
    assert (problem.field, problem.value) == ("phq9_10", 1)
    assert problem.expected.startswith("an item of PHQ-9") and "phq9_9" in problem.expected


@pytest.mark.parametrize(
    ("instrument_id", "item", "value", "expected"),
    [
        ("phq9", "phq9_1", 4, "one of 0, 1, 2, 3"),
        ("phq9", "phq9_1", "often", "one of 0, 1, 2, 3"),
        ("phq9", "phq9_1", True, "one of 0, 1, 2, 3"),
        ("gad7", "gad7_3", -1, "one of 0, 1, 2, 3"),
        ("auditc", "auditc_2", 5, "one of 0, 1, 2, 3, 4"),
        ("core10", "core10_1", 2.5, "one of 0, 1, 2, 3, 4"),
        ("cnip", "cnip_1", 4, "one of -3, -2, -1, 0, 1, 2, 3"),
        ("checkin", "checkin_heard", 7.5, "a whole number from 0 to 10"),
        ("checkin", "checkin_heard", 11, "a whole number from 0 to 10"),
        ("readiness_ruler", "importance", "ten", "a whole number from 0 to 10"),
        ("srs", "srs_goals", 10.5, "a number from 0 to 10"),
        ("ors", "ors_social", float("nan"), "a number from 0 to 10"),
    ],
)
def test_a_bad_value_names_item_value_and_expectation(instrument_id, item, value, expected):
    with pytest.raises(InvalidInputError) as caught:
        score(get_instrument(instrument_id), {item: value})
    problem = only_problem(caught.value)
    assert problem.field == item
    assert problem.value is value or problem.value == value
    assert problem.expected == expected
    assert item in str(caught.value) and expected in str(caught.value)


def test_every_bad_answer_is_reported_at_once():
    with pytest.raises(InvalidInputError) as caught:
        score(get_instrument("phq9"), {"phq9_1": 9, "phq9_2": "x", "phq9_x": 1})
    assert [p.field for p in caught.value.problems] == ["phq9_1", "phq9_2", "phq9_x"]


def test_too_many_missing_items_is_an_error_that_keeps_the_self_harm_flag():
    answers = {f"phq9_{i}": None for i in range(1, 9)} | {"phq9_1": 1, "phq9_9": 2}
    with pytest.raises(TooManyMissingError) as caught:
        score(get_instrument("phq9"), answers)
    error = caught.value
    problem = only_problem(error)
    assert problem.field == "missing items"
    assert problem.expected == "at most 1 of 9 items missing"
    assert "phq9_2" in problem.value
    assert [f.kind for f in error.partial.flags] == ["self_harm"]
    assert error.partial.flags[0].value == 2
    assert "Safety flags still stand" in str(error)


def test_allow_incomplete_returns_no_total_but_keeps_flags():
    answers = {f"core_om_{i}": 0 for i in range(1, 31)} | {"core_om_16": 1}
    result = score(get_instrument("core_om"), answers, allow_incomplete=True)
    assert result.valid is False and result.total is None
    assert result.missing == ["core_om_31", "core_om_32", "core_om_33", "core_om_34"]
    kinds = {(f.kind, f.item) for f in result.flags}
    assert ("self_harm", "core_om_16") in kinds
    assert ("critical_item_unanswered", "core_om_34") in kinds


def test_one_missing_item_is_prorated_where_allowed():
    # Eight answered PHQ-9 items summing to 13: prorated to 13 / 8 x 9 = 14.625.
    answers = dict(zip(get_instrument("phq9").scoring.items, [None, 3, 3, 3, 3, 1, 0, 0, 0], strict=True))
    result = score(get_instrument("phq9"), answers)
    assert result.prorated and result.valid
    assert result.total == pytest.approx(14.625)
    assert result.band == "moderate"


def test_forms_that_cannot_be_prorated_refuse_a_missing_item():
    with pytest.raises(TooManyMissingError):
        score(get_instrument("srs"), {"srs_relationship": 9, "srs_goals": 9, "srs_approach": 9})
    with pytest.raises(TooManyMissingError):
        score(get_instrument("auditc"), {"auditc_1": 2, "auditc_2": 1})


# --------------------------------------------------------------------------- properties


def answer_strategy(instrument, link_id):
    spec = instrument.items[link_id]
    if spec.allowed is not None:
        return st.sampled_from(spec.allowed)
    if spec.type == "integer":
        return st.integers(int(spec.min), int(spec.max))
    return st.floats(spec.min, spec.max, allow_nan=False)


TOTALLED = [i for i, ins in sorted(load_instruments().items()) if ins.scoring.method and ins.scoring.range]
PRORATABLE = [i for i in TOTALLED if load_instruments()[i].scoring.max_missing.value >= 1]
REVERSED = [(i, item) for i, ins in sorted(load_instruments().items()) for item in ins.scoring.reverse]
CRITICAL = [(i, c.item) for i, ins in sorted(load_instruments().items()) for c in ins.scoring.critical_items]


def in_range(value, bounds):
    return bounds[0] - 1e-9 <= value <= bounds[1] + 1e-9


@pytest.mark.parametrize("instrument_id", TOTALLED)
@FAST
@given(data=st.data())
def test_every_total_lies_in_the_instrument_range(instrument_id, data):
    instrument = get_instrument(instrument_id)
    answers = {i: data.draw(answer_strategy(instrument, i), label=i) for i in instrument.scoring.items}
    result = score(instrument, answers)
    assert in_range(result.total, instrument.scoring.range)
    if instrument.scoring.bands:
        assert result.band is not None


@pytest.mark.parametrize("instrument_id", PRORATABLE)
@FAST
@given(data=st.data())
def test_prorating_one_missing_item_stays_in_range(instrument_id, data):
    instrument = get_instrument(instrument_id)
    answers = {i: data.draw(answer_strategy(instrument, i), label=i) for i in instrument.scoring.items}
    answers[data.draw(st.sampled_from(instrument.scoring.items), label="missing")] = None
    result = score(instrument, answers)
    assert result.prorated
    assert in_range(result.total, instrument.scoring.range)


@FAST
@given(
    item9=st.sampled_from([1, 2, 3]),
    others=st.lists(st.sampled_from([None, 0, 1, 2, 3]), min_size=8, max_size=8),
)
def test_phq9_item_9_above_zero_always_raises_the_self_harm_flag(item9, others):
    instrument = get_instrument("phq9")
    answers = {f"phq9_{i}": v for i, v in enumerate(others, start=1)} | {"phq9_9": item9}
    try:
        flags = score(instrument, answers).flags
    except TooManyMissingError as error:
        flags = error.partial.flags
    assert [(f.kind, f.value) for f in flags] == [("self_harm", item9)]


@pytest.mark.parametrize(("instrument_id", "item"), CRITICAL)
@FAST
@given(data=st.data())
def test_an_endorsed_critical_item_always_flags(instrument_id, item, data):
    instrument = get_instrument(instrument_id)
    critical = next(c for c in instrument.scoring.critical_items if c.item == item)
    answers = {
        i: data.draw(st.one_of(st.none(), answer_strategy(instrument, i)), label=i)
        for i in instrument.scoring.items
    }
    spec = instrument.items[item]
    endorsed = [v for v in spec.allowed if v >= critical.min_value]
    answers[item] = data.draw(st.sampled_from(endorsed), label="endorsed")
    result = score(instrument, answers, allow_incomplete=True)
    assert any(f.item == item and f.kind == critical.flag for f in result.flags)


@pytest.mark.parametrize(("instrument_id", "item"), REVERSED)
@FAST
@given(data=st.data())
def test_reverse_keying_is_an_involution_within_the_range(instrument_id, item, data):
    instrument = get_instrument(instrument_id)
    spec = instrument.items[item]
    value = data.draw(answer_strategy(instrument, item))
    once = keyed(instrument, item, value)
    assert spec.accepts(once)
    assert math.isclose(keyed(instrument, item, once), value)
    assert math.isclose(value + once, spec.low + spec.high)


@pytest.mark.parametrize("instrument_id", TOTALLED)
@FAST
@given(data=st.data())
def test_raising_an_answer_never_moves_the_total_the_wrong_way(instrument_id, data):
    instrument = get_instrument(instrument_id)
    items = instrument.scoring.items
    answers = {i: data.draw(answer_strategy(instrument, i), label=i) for i in items}
    item = data.draw(st.sampled_from(items), label="raised")
    spec = instrument.items[item]
    answers_up = dict(answers)
    answers_up[item] = spec.high
    before, after = score(instrument, answers).total, score(instrument, answers_up).total
    if item in instrument.scoring.reverse:
        assert after <= before + 1e-9
    else:
        assert after >= before - 1e-9

"""The intake questions in parts: every question in exactly one part, and the part a client's
next link carries."""

from __future__ import annotations

from attunement.instruments import get_instrument
from attunement.profile import build_profile
from attunement.profile.parts import answered_parts, intake_parts, merge_answers, next_part


def test_every_intake_question_is_in_exactly_one_part():
    parts = intake_parts()
    placed = [link for part in parts for link in part.items]
    assert sorted(placed) == sorted(get_instrument("intake_profile").items)
    assert [p.number for p in parts] == list(range(1, len(parts) + 1))
    assert all(p.of == len(parts) and p.title for p in parts)


def test_no_part_is_much_longer_than_another():
    """The reason for parts: the first link's form is not the whole intake."""
    sizes = [len(p.items) for p in intake_parts()]
    assert max(sizes) < sum(sizes) * 0.6


def test_the_next_part_skips_those_asked_and_those_waiting():
    first, second, third = intake_parts()
    assert next_part([]) == first
    assert next_part([1]) == second
    assert next_part([1], waiting=[2]) == third
    assert next_part([2, 3]) == first  # an expired first link's part comes back
    assert next_part([1, 2, 3]) is None


def test_a_part_counts_as_answered_when_any_of_its_questions_is():
    first, _, third = intake_parts()
    one = sorted(first.items)[0]
    three = sorted(third.items)[0]
    assert answered_parts([{one: 1.0}, {three: 2.0}]) == {1, 3}
    assert answered_parts([{}]) == set()


def test_answers_given_across_parts_make_one_profile_with_the_latest_answer_counting():
    reactance = {"ip_react_1": 5.0, "ip_react_2": 4.0, "ip_react_3": 5.0}
    merged = merge_answers([{**reactance, "ip_stage": 2.0}, {"ip_rs_include": 1.0}, {"ip_stage": 4.0}])
    assert merged == {**reactance, "ip_stage": 4.0, "ip_rs_include": 1.0}
    profile = build_profile(merged)
    assert profile.stage is not None and profile.rs_inclusion is not None and profile.reactance is not None

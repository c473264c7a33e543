"""Tailoring by the kind of case: couples, families, groups and young people get the practice the
task forces' relationship evidence calls for, each recommendation tied to its registry entry and
estimate, while a single adult client's recommendations stay exactly as they were."""

from __future__ import annotations

import pytest

from attunement.errors import InvalidInputError
from attunement.evidence import load_registry
from attunement.instruments.roles import formats
from attunement.profile import Profile, build_profile
from attunement.tailoring import CaseContext, Recommendation, format_recommendations, tailor
from attunement.tailoring.case import case_context
from attunement.tailoring.rules import load_rules

COUPLE_FAMILY = ["couple_family_shared_purpose", "couple_family_safety", "couple_family_split"]
GROUP = ["group_cohesion_early", "group_member_interaction"]
PROFILE = build_profile({"ip_react_1": 5, "ip_react_2": 4, "ip_react_3": 5, "ip_stage": 2}, client_id="c1")


def ids(recommendations: list[Recommendation]) -> list[str]:
    return [r.id for r in recommendations]


@pytest.mark.parametrize(
    ("case_format", "role", "expected"),
    [
        ("couple", "partner", COUPLE_FAMILY),
        ("family", None, COUPLE_FAMILY),
        ("family", "parent", [*COUPLE_FAMILY, "youth_carers"]),
        ("family", "young_person", [*COUPLE_FAMILY, "youth_engagement"]),
        ("group", "group_member", GROUP),
        ("group", None, GROUP),
        ("individual", "young_person", ["youth_engagement"]),
        ("family", "caregiver", [*COUPLE_FAMILY, "youth_carers"]),
        ("individual", "client", []),
        ("individual", None, []),
    ],
)
def test_each_kind_of_case_gets_its_own_recommendations_ranked(case_format, role, expected):
    found = format_recommendations(case_format, role)
    assert ids(found) == expected
    assert [r.rank for r in found] == list(range(1, len(expected) + 1))
    assert all(r.source == "case" and r.actions and r.explanation for r in found)


@pytest.mark.parametrize(
    ("rule_id", "entry", "figure"),
    [
        # Registry figures (Friedlander et al. 2018; Burlingame et al. 2018; Karver et al. 2018).
        ("couple_family_shared_purpose", "alliance_couple_family", "r = 0.297"),
        ("couple_family_safety", "alliance_couple_family", "r = 0.297"),
        ("couple_family_split", "alliance_couple_family", "r = 0.316"),
        ("group_cohesion_early", "cohesion_group", "r = 0.26"),
        ("group_member_interaction", "cohesion_group", "r = 0.26"),
        ("youth_engagement", "alliance_youth", "r = 0.19"),
        ("youth_carers", "alliance_youth", "r = 0.19"),
    ],
)
def test_each_case_recommendation_shows_the_estimate_it_rests_on(rule_id, entry, figure):
    found = {
        r.id: r
        for f, role in (("family", "parent"), ("group", None), ("individual", "young_person"))
        for r in format_recommendations(f, role)
    }
    rec = found[rule_id]
    assert rec.entry == entry and rec.entry_name == load_registry().by_id()[entry].name
    assert figure in rec.evidence and "2018" in rec.evidence
    assert rec.citations and rec.strength_label.startswith("demonstrably effective")


def test_the_split_alliance_recommendation_cites_the_split_estimate_not_the_pooled_one():
    split = next(r for r in format_recommendations("couple") if r.id == "couple_family_split")
    assert "split alliance" in split.evidence and "0.297" not in split.evidence


def test_a_single_adult_clients_recommendations_are_unchanged_by_the_case_rules():
    default = tailor(PROFILE)
    assert tailor(PROFILE, case=CaseContext()) == default
    assert not {r.id for r in default.recommendations} & {
        r.id for r in load_rules().recommendations if r.setting is not None
    }
    assert tailor(Profile()).recommendations == []


def test_a_participant_gets_their_own_and_their_cases_recommendations_together():
    own = ids(tailor(PROFILE).recommendations)
    together = ids(tailor(PROFILE, case=case_context("couple", "partner")).recommendations)
    assert set(together) == set(own) | set(COUPLE_FAMILY)
    # One ranked list; the profile's own recommendations keep their order within it.
    assert [i for i in together if i in own] == own


@pytest.mark.parametrize(
    ("case_format", "role", "field"),
    [
        ("crowd", None, "format"),
        ("", "partner", "format"),
        ("couple", "uncle", "role"),
        ("couple", "group_member", "role"),  # instruments/roles.json: a couple's participants are partners
    ],
)
def test_an_unknown_format_or_role_is_refused_with_the_field_named(case_format, role, field):
    with pytest.raises(InvalidInputError) as caught:
        format_recommendations(case_format, role)
    assert [p.field for p in caught.value.problems] == [field]
    assert "one of" in caught.value.problems[0].expected


def test_every_format_and_role_of_the_roles_file_can_be_asked_about():
    for case_format in formats():
        for role in (None, *case_format.roles):
            found = format_recommendations(case_format.id, role)
            assert (found == []) == (case_format.id == "individual" and role != "young_person")

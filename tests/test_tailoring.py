"""Intake profile and tailoring engine: answers become a profile, profiles become ranked,
explained recommendations tied to the evidence registry, with cautions from what does not work."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attunement.errors import DefinitionError, InvalidInputError
from attunement.evidence import load_registry
from attunement.evidence.registry import REGISTRY_FILE, parse_registry
from attunement.instruments import Status, get_instrument, score
from attunement.profile import CATEGORIES, Observation, Profile, build_profile, load_mapping, parse_profile
from attunement.profile.intake import pick_band
from attunement.profile.model import STATED
from attunement.tailoring.engine import tailor
from attunement.tailoring.rules import (
    PLACEHOLDER,
    RULES_FILE,
    all_hold,
    load_rules,
    parse_rules,
    same_language,
)

REGISTRY = load_registry()
RULES = load_rules()
RAW_RULES = json.loads(RULES_FILE.read_text(encoding="utf-8"))


def ids(result):
    return [r.id for r in result.recommendations]


# ---------------------------------------------------------------- the rules cite real evidence


def test_every_rule_cites_an_existing_registry_entry():
    entries = REGISTRY.by_id()
    for rule in RULES.recommendations:
        assert rule.entry in entries and entries[rule.entry].kind != "ineffective", rule.id
        assert all(s in entries for s in rule.see_also)
    for caution in RULES.cautions:
        assert entries[caution.entry].kind == "ineffective", caution.id
        assert caution.support is None or caution.support in entries


def test_every_adaptation_the_task_forces_rated_demonstrably_or_probably_effective_has_a_rule():
    # Reactance, preferences, culture, R/S (demonstrably) and stages of change, coping style
    # (probably effective): Norcross & Wampold 2011b, evidence.md section 2.
    cited = {r.entry for r in RULES.recommendations}
    assert {
        "reactance",
        "preferences",
        "culture",
        "religion_spirituality",
        "stages_of_change",
        "coping_style",
    } <= cited


def broken(change) -> dict:
    data = copy.deepcopy(RAW_RULES)
    change(data)
    return data


def rule_of(data: dict, rule_id: str) -> dict:
    return next(r for r in data["recommendations"] + data["cautions"] if r["id"] == rule_id)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: rule_of(d, "reactance_high_client_led").update(entry="telepathy"), "does not exist"),
        (lambda d: rule_of(d, "reactance_high_client_led").update(entry="confrontation"), "does not work"),
        (
            lambda d: rule_of(d, "caution_one_approach").update(entry="empathy"),
            "not a registry entry for a practice",
        ),
        (
            lambda d: rule_of(d, "stage_action").update(because="At intake {reactance.evidence}."),
            "quotes reactance",
        ),
        (
            lambda d: rule_of(d, "stage_action")["when"].append({"dimension": "stage", "one_of": ["bored"]}),
            "bored",
        ),
        (
            lambda d: rule_of(d, "stage_action")["when"].append({"dimension": "mood", "one_of": ["low"]}),
            "mood",
        ),
        (lambda d: d["recommendations"].append(copy.deepcopy(rule_of(d, "stage_action"))), "duplicate"),
        (lambda d: rule_of(d, "couple_family_split").update(estimates=["tf2099"]), "no estimate 'tf2099'"),
        (lambda d: rule_of(d, "couple_family_split").pop("setting"), "needs profile conditions"),
        (lambda d: rule_of(d, "couple_family_split").update(setting={"formats": ["crowd"]}), "crowd"),
        (lambda d: rule_of(d, "youth_engagement").update(setting={"roles": ["uncle"]}), "uncle"),
        (lambda d: rule_of(d, "youth_engagement").update(setting={}), "at least one format or role"),
    ],
    ids=[
        "unknown-entry",
        "recommends-what-does-not-work",
        "caution-on-an-element",
        "unguarded-placeholder",
        "unknown-category",
        "unknown-dimension",
        "duplicate-id",
        "unknown-estimate",
        "no-conditions-and-no-setting",
        "unknown-format",
        "unknown-role",
        "empty-setting",
    ],
)
def test_broken_rules_are_refused(change, message):
    with pytest.raises(DefinitionError, match=message):
        parse_rules(broken(change))


# ---------------------------------------------------------------- intake answers -> profile

G1_ANSWERS = {  # highly reactant, wants to lead, not considering change, religious and wants it included
    "ip_react_1": 5,
    "ip_react_2": 4,
    "ip_react_3": 4,
    "ip_pref_direction": 5,
    "ip_stage": 1,
    "ip_rs_importance": 4,
    "ip_rs_include": 1,
}
G2_ANSWERS = {  # welcomes direction, acting, externalising, doubtful, anxious in relationships
    "ip_react_1": 1,
    "ip_react_2": 2,
    "ip_react_3": 2,
    "ip_pref_direction": 2,
    "ip_stage": 4,
    "ip_coping_stress": 3,
    "ip_coping_others": 3,
    "ip_expect": 1,
    "ip_attach_anxiety": 4,
}


def test_intake_answers_become_a_profile_quoting_the_client():
    profile = build_profile(G1_ANSWERS, client_id="g1")
    assert profile.reactance.value == "high" and "4.33" in profile.reactance.evidence
    assert profile.directiveness.value == "client_led" and profile.directiveness.strength == "strong"
    assert "I take the lead" in profile.directiveness.evidence
    assert profile.stage.value == "precontemplation"
    assert profile.rs_inclusion.value == "yes" and profile.rs_importance.value == "very"
    assert profile.reactance.status.value == "project choice"


def test_no_preference_records_nothing_and_free_text_is_kept():
    profile = build_profile({"ip_pref_direction": 3, "ip_life_events": "  my father died in March "})
    assert profile.directiveness is None
    assert profile.life_events.value == "my father died in March"


def test_out_of_range_intake_answers_are_refused_by_the_form():
    with pytest.raises(InvalidInputError, match="ip_stage"):
        build_profile({"ip_stage": 9})


def urica_answers(means: dict[str, int]) -> dict[str, int]:
    """URICA answers giving each subscale the stated mean, using the shipped scoring key."""
    urica = get_instrument("urica")
    answers = {}
    for sub in urica.scoring.subscales:
        for item in sub.items:
            answers[item] = means[sub.id]
    return answers


def test_urica_sets_the_stage_over_the_intake_question_and_the_disagreement_is_noted():
    urica = urica_answers({"precontemplation": 2, "contemplation": 4, "action": 3, "maintenance": 2})
    profile = build_profile({"ip_stage": 1}, urica=urica)
    assert profile.stage.value == "contemplation" and profile.stage.source == "urica"
    assert "readiness (C + A + M - PC) 7" in profile.stage.evidence  # 4 + 3 + 2 - 2
    assert any("precontemplation" in n for n in profile.notes)


def test_a_urica_tie_goes_to_the_earlier_stage():
    urica = urica_answers({"precontemplation": 2, "contemplation": 4, "action": 4, "maintenance": 1})
    assert build_profile(urica=urica).stage.value == "contemplation"


def test_urica_accepts_a_ready_score_result():
    result = score(
        get_instrument("urica"),
        urica_answers({"precontemplation": 1, "contemplation": 2, "action": 5, "maintenance": 3}),
    )
    assert build_profile(urica=result).stage.value == "action"


def test_rulers_band_importance_and_confidence_without_setting_a_stage():
    profile = build_profile(ruler={"importance": 9, "confidence": 2})
    assert (profile.importance.value, profile.confidence.value, profile.stage) == ("high", "low", None)
    assert "9 of 10" in profile.importance.evidence


def cnip_answers(value: int) -> dict[str, int]:
    return {f"cnip_{i}": value for i in range(1, 19)}


def test_cnip_does_not_set_preferences_while_its_pole_key_is_unverified():
    profile = build_profile({"ip_pref_direction": 5}, cnip=cnip_answers(2))
    assert profile.directiveness.value == "client_led"  # from the intake question
    assert any("unverified: secondary" in n for n in profile.notes)


def test_cnip_sets_preferences_once_its_pole_key_is_verified():
    mapping = load_mapping()
    verified = mapping.model_copy(
        update={
            "cnip": mapping.cnip.model_copy(
                update={"pole_key": mapping.cnip.pole_key.model_copy(update={"status": Status.VERIFIED})}
            )
        }
    )
    profile = build_profile({"ip_pref_direction": 5}, cnip=cnip_answers(2), mapping=verified)
    assert profile.directiveness.value == "therapist_led" and profile.directiveness.source == "cnip"
    assert any("directiveness" in n for n in profile.notes)
    # A mean of 0 per item is no preference at all.
    assert build_profile(cnip=cnip_answers(0), mapping=verified).directiveness is None


@given(st.floats(min_value=1, max_value=5))
def test_every_reactance_mean_falls_in_exactly_one_band(mean):
    bands = load_mapping().intake.bands["reactance"].bands
    assert sum(b.holds(mean) for b in bands) == 1
    assert pick_band(bands, mean) in CATEGORIES["reactance"]


@given(st.floats(min_value=1, max_value=3))
def test_every_coping_mean_falls_in_exactly_one_band(mean):
    assert sum(b.holds(mean) for b in load_mapping().intake.bands["coping"].bands) == 1


@given(st.integers(min_value=0, max_value=10))
def test_every_ruler_value_falls_in_exactly_one_band(value):
    assert sum(b.holds(value) for b in load_mapping().readiness_ruler.bands) == 1


def test_a_profile_file_may_give_bare_values_and_bad_ones_are_named():
    assert parse_profile({"reactance": "high"}).reactance.value == "high"
    with pytest.raises(InvalidInputError, match="reactance"):
        parse_profile({"reactance": "sky-high"})
    with pytest.raises(InvalidInputError, match="mood"):
        parse_profile({"mood": "low"})


# ---------------------------------------------------------------- golden profiles -> ranking

GOLDEN = [
    (
        "g1",
        G1_ANSWERS,
        # stated wishes first (R/S inclusion fit 3, client-led fit 2), then inferred traits: reactance
        # (demonstrably effective), then stage (probably effective)
        [
            "spirituality_integrate",
            "preference_client_led",
            "reactance_high_client_led",
            "stage_precontemplation",
        ],
        [
            "caution_reactance_rigidity",
            "caution_stage_confrontation",
            "caution_negative_processes",
            "caution_therapist_centricity",
            "caution_one_approach",
        ],
    ),
    (
        "g2",
        G2_ANSWERS,
        [
            "preference_therapist_led",
            "reactance_low_structure",
            "stage_action",
            "coping_externalising",
            "attachment_anxiety_care",
            "expectations_low",
        ],
        ["caution_negative_processes", "caution_therapist_centricity", "caution_one_approach"],
    ),
    (
        "g3",  # highly reactant but asks for a therapist-led style: the wish is followed, the conflict named
        {
            "ip_react_1": 5,
            "ip_react_2": 5,
            "ip_react_3": 4,
            "ip_pref_direction": 1,
            "ip_culture_wish": 1,
            "ip_culture_background": "Somali",
            "ip_language": "Somali",
            "ip_coping_stress": 1,
            "ip_coping_others": 1,
        },
        # stated: culture fits best (asked for, background given), then the lead they asked for, then
        # the language check; inferred: coping. "Client-led" is not listed: it is in the named conflict.
        ["culture_adapt", "preference_therapist_led", "culture_language", "coping_internalising"],
        [
            "caution_reactance_rigidity",
            "caution_culture_assumptions",
            "caution_negative_processes",
            "caution_therapist_centricity",
            "caution_one_approach",
        ],
    ),
]


@pytest.mark.parametrize(("client", "answers", "expected", "cautions"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_golden_profiles_give_the_expected_ranked_recommendations(client, answers, expected, cautions):
    result = tailor(build_profile(answers, client_id=client))
    assert ids(result) == expected
    assert [c.id for c in result.cautions] == cautions
    assert [r.rank for r in result.recommendations] == list(range(1, len(expected) + 1))


def test_recommendations_explain_themselves_with_the_clients_own_answers():
    top = next(r for r in tailor(build_profile(G1_ANSWERS)).recommendations if r.entry == "reactance")
    assert "4.33" in top.explanation and "high reactance" in top.explanation
    assert "I take the lead and decide what we focus on" in top.explanation  # the fit detail
    assert top.strength_label.startswith("demonstrably effective") and "2011 task force" in top.strength_label
    assert "d = 0.82" in top.evidence and "[unverified: recalled]" in top.ratings
    assert any("Beutler" in c for c in top.citations)


def test_an_empty_profile_gives_no_recommendations_and_lists_what_to_ask():
    result = tailor(Profile())
    assert result.recommendations == [] and result.notes
    assert result.not_recorded == list(CATEGORIES)
    assert [c.id for c in result.cautions] == ["caution_therapist_centricity", "caution_one_approach"]


def registry_with(entry_id: str, level: str, status: str):
    data = json.loads(REGISTRY_FILE.read_text(encoding="utf-8"))
    entry = next(e for e in data["entries"] if e["id"] == entry_id)
    rating = next(r for r in entry["ratings"] if r["task_force"] == "2018")
    rating.update(level=level, status=status)
    return parse_registry(data)


def test_an_unverified_rating_does_not_move_a_recommendation_but_a_verified_one_does():
    profile = build_profile({"ip_react_1": 1, "ip_react_2": 1, "ip_react_3": 1, "ip_stage": 4})
    baseline = ids(tailor(profile))
    assert baseline == ["reactance_low_structure", "stage_action"]  # both inferred
    # Claim, unverified, that stages of change became "demonstrably effective" in 2018: no change.
    unverified = registry_with("stages_of_change", "demonstrably effective", "unverified: recalled")
    assert ids(tailor(profile, registry=unverified)) == baseline
    # Once someone verifies it, it ranks with the other demonstrably effective entries (by fit, then order).
    verified = registry_with("stages_of_change", "demonstrably effective", "verified")
    assert [r.strength for r in tailor(profile, registry=verified).recommendations] == [3, 3]


observations = {
    name: st.one_of(
        st.none(),
        st.builds(
            Observation,
            value=st.sampled_from(sorted(values)),
            strength=st.sampled_from([None, "some", "strong"]),
        ),
    )
    for name, values in CATEGORIES.items()
}
texts = {
    name: st.one_of(
        st.none(), st.builds(Observation, value=st.sampled_from(["Kurdish", "Polish", "lost my job"]))
    )
    for name in ("cultural_background", "language", "life_events", "therapist_wishes", "therapy_type_other")
}


@settings(max_examples=60, deadline=None)
@given(st.fixed_dictionaries({**observations, **texts}))
def test_any_profile_gives_a_consistent_ranking(fields):
    profile = Profile(**fields)
    result = tailor(profile)
    keys = [(r.source != "stated", -r.strength, -r.fit) for r in result.recommendations]
    assert keys == sorted(keys)
    entries = REGISTRY.by_id()
    for rec in result.recommendations:
        assert rec.strength == entries[rec.entry].strength
        assert not PLACEHOLDER.search(rec.explanation) and "{" not in rec.explanation
        assert "not recorded]" not in rec.explanation + " ".join(rec.actions)
        assert all(profile.get(d) is not None for d in rec.based_on)
    assert {"caution_therapist_centricity", "caution_one_approach"} <= {c.id for c in result.cautions}
    listed = {r.id for r in result.recommendations}
    for conflict in load_rules().conflicts:  # never a contradictory pair
        if all_hold(conflict.when, profile):
            assert not (conflict.trait in listed and listed & set(conflict.wishes))
    dropped = {c.trait.id for c in result.conflicts}
    assert not dropped & listed and all(r.source == "inferred" for r in (c.trait for c in result.conflicts))
    assert [w.dimension for w in result.wishes] == [d for d in STATED if profile.get(d) is not None]


# ---------------------------------------------------------------- the client's stated wishes first

ANSWERS_HIGH_REACTANCE = {"ip_react_1": 5, "ip_react_2": 5, "ip_react_3": 5}
ANSWERS_LOW_REACTANCE = {"ip_react_1": 1, "ip_react_2": 1, "ip_react_3": 2}
INWARD = {"ip_coping_stress": 1, "ip_coping_others": 1}

# (case, intake answers, service language, wishes shown, listed, not listed, conflicts)
CONTRASTS = [
    (
        "high reactance, wants the therapist to lead",
        {**ANSWERS_HIGH_REACTANCE, "ip_pref_direction": 1},
        "English",
        ["directiveness"],
        ["preference_therapist_led"],
        ["reactance_high_client_led"],
        ["lead_high_reactance"],
    ),
    (
        "low reactance, wants to lead and no homework",
        {**ANSWERS_LOW_REACTANCE, "ip_pref_direction": 5, "ip_pref_tasks": 5},
        "English",
        ["directiveness", "between_session_tasks"],
        ["preference_client_led", "preference_in_session"],
        ["reactance_low_structure"],
        ["lead_and_homework_low_reactance"],
    ),
    (
        "asks for skills therapy, copes inwards",
        {**INWARD, "ip_pref_therapy": 1},
        "English",
        ["therapy_type"],
        ["preference_therapy_type"],
        ["coping_internalising"],
        ["skills_wish_insight_traits"],
    ),
    (
        "a wish about the therapist and no therapy type",
        {"ip_pref_therapist": "a woman, please"},
        "English",
        ["therapist_wishes"],
        ["preference_therapist"],
        ["preference_therapy_type"],
        [],
    ),
    (
        "English with an English service",
        {"ip_language": "English (UK)"},
        "English",
        ["language"],
        [],
        ["culture_language"],
        [],
    ),
    (
        "Polish with an English service",
        {"ip_language": "Polish"},
        "English",
        ["language"],
        ["culture_language"],
        [],
        [],
    ),
    (
        "Polish with a Polish service",
        {"ip_language": "polish"},
        "Polish",
        ["language"],
        [],
        ["culture_language"],
        [],
    ),
    (
        "text codes as the form stores them",
        {
            "ip_react_1": "strongly-agree",
            "ip_react_2": "agree",
            "ip_react_3": "strongly-agree",
            "ip_pref_direction": "strongly-a",
        },
        "English",
        ["directiveness"],
        ["preference_therapist_led"],
        ["reactance_high_client_led"],
        ["lead_high_reactance"],
    ),
]


@pytest.mark.parametrize(
    ("answers", "language", "wishes", "listed", "absent", "conflicts"),
    [c[1:] for c in CONTRASTS],
    ids=[c[0] for c in CONTRASTS],
)
def test_stated_wishes_are_never_dropped_and_contradictions_never_listed(
    answers, language, wishes, listed, absent, conflicts
):
    result = tailor(build_profile(answers), service_language=language)
    shown = ids(result)
    assert [w.dimension for w in result.wishes] == wishes  # every wish shown, whatever else was answered
    assert set(listed) <= set(shown) and not set(absent) & set(shown)
    assert [c.id for c in result.conflicts] == conflicts
    for conflict in result.conflicts:  # named, not silently dropped, and the wish ranks first
        assert conflict.trait.source == "inferred" and conflict.talk
        assert all(w.source == "stated" and w.id in shown for w in conflict.wishes)
    sources = [r.source for r in result.recommendations]
    assert sources == sorted(sources, key=lambda s: s != "stated")


@pytest.mark.parametrize(
    ("client", "service", "same"),
    [
        ("English", "English", True),
        ("english", "English", True),
        ("English (UK)", "English", True),
        ("British English", "english (uk)", True),
        ("Polish or English", "English", True),
        ("Polish", "English", False),
        ("Polski", "Polish", False),  # the endonym is not matched: the check then asks, which is safe
        ("Kurdish", "Polish", False),
    ],
)
def test_languages_are_compared_without_case_or_region(client, service, same):
    assert same_language(client, service) is same


def test_an_intake_answer_that_is_neither_a_number_nor_a_code_is_named():
    with pytest.raises(InvalidInputError, match="ip_pref_direction.*strongly-a") as exc:
        build_profile({"ip_pref_direction": "maybe"})
    assert "numbers 1, 2, 3, 4, 5" in str(exc.value)


def test_a_conflict_must_set_a_stated_wish_against_an_inferred_trait():
    data = json.loads(RULES_FILE.read_text(encoding="utf-8"))
    data["conflicts"][0]["trait"] = "preference_client_led"
    with pytest.raises(DefinitionError, match="answers a stated wish"):
        parse_rules(data, REGISTRY)
    data = json.loads(RULES_FILE.read_text(encoding="utf-8"))
    data["conflicts"][0]["wishes"] = ["coping_internalising"]
    with pytest.raises(DefinitionError, match="rests on inferred traits"):
        parse_rules(data, REGISTRY)


def test_cautions_for_criticism_and_therapist_centricity_quote_the_client_and_name_the_entry():
    result = tailor(build_profile({"ip_attach_anxiety": 5}))
    caution = next(c for c in result.cautions if c.id == "caution_negative_processes")
    assert caution.entry_name == "Hostile, critical or blaming responses" and caution.based_on == [
        "attachment_anxiety"
    ]
    assert "Strongly agree" in caution.explanation
    assert [c.id for c in result.cautions][-2:] == ["caution_therapist_centricity", "caution_one_approach"]
    assert (
        next(c for c in result.cautions if c.id == "caution_one_approach").entry_name
        == "One approach for everyone"
    )


def test_a_caution_quotes_only_conditions_that_need_the_answer_recorded():
    # A when_any condition met by an unrecorded answer ("not_in") left nothing to quote, and
    # tailoring a profile without that answer failed; such a rule is refused when read.
    data = json.loads(RULES_FILE.read_text(encoding="utf-8"))
    caution = next(c for c in data["cautions"] if c.get("when_any"))
    caution["when_any"] = [{"dimension": "reactance", "not_in": ["high"]}]
    with pytest.raises(DefinitionError, match="when_any conditions must need the answer recorded"):
        parse_rules(data, REGISTRY)

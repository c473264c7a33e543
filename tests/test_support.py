"""Clinical support checklist: the right sections for each alert, filled with the client's own
data, safety never hidden, and items the interface can record as used."""

from __future__ import annotations

import pytest

from attunement.errors import InvalidInputError
from attunement.evidence import load_registry
from attunement.profile import Profile, build_profile
from attunement.tailoring.engine import tailor
from attunement.tailoring.support import (
    ALERT_KINDS,
    SupportContext,
    checklist_problems,
    load_checklist,
    record_use,
    support_checklist,
)

SPEC = load_checklist()
PROFILE = build_profile(
    {
        "ip_react_1": 5,
        "ip_react_2": 4,
        "ip_react_3": 5,
        "ip_stage": 2,
        "ip_support": 3,
        "ip_life_events": "lost my job in May",
        "ip_pref_direction": 4,
        "ip_expect": 2,
    },
    client_id="c7",
)
REASON = "PHQ-9 rose from 12 to 19 between sessions 2 and 4"


def ids(checklist):
    return [item.id for item in checklist.items()]


def test_the_checklist_data_cites_only_real_registry_entries():
    assert checklist_problems(SPEC, load_registry()) == []


@pytest.mark.parametrize("kind", ALERT_KINDS)
def test_each_alert_kind_gets_its_sections_in_order(kind):
    checklist = support_checklist(kind, PROFILE, SupportContext(reason=REASON))
    wanted = SPEC.alert_kinds[kind].sections
    shown = [s.id for s in checklist.sections]
    assert shown == [s for s in wanted if s in shown]
    assert checklist.alert_label == SPEC.alert_kinds[kind].label
    assert all(not item.used for item in checklist.items())


def test_not_on_track_covers_the_clinical_support_domains():
    # The OQ clinical support tool covers alliance, motivation, social support and stressful life
    # events (prediction.md section 3.4, [verified]); the checklist adds adaptations and safety.
    checklist = support_checklist("not_on_track", PROFILE, SupportContext(reason=REASON))
    assert [s.id for s in checklist.sections] == [
        "relationship",
        "motivation",
        "social_support",
        "life_events",
        "adaptations",
        "safety",
    ]
    # Lambert & Shimokawa 2011: feedback with clinical support tools for not-on-track clients, r = .33.
    assert "r = 0.33" in checklist.evidence and "Lambert & Shimokawa 2011" in checklist.evidence


def test_the_relationship_items_ask_invite_criticism_and_own_your_part():
    checklist = support_checklist("rupture", PROFILE, SupportContext(reason="alliance fell by 6 points"))
    relationship = checklist.sections[0]
    assert relationship.id == "relationship"
    assert [i.id for i in relationship.items][:3] == ["rel_ask", "rel_invite_criticism", "rel_own_part"]
    assert "alliance fell by 6 points" in relationship.items[0].text


def test_items_are_filled_with_the_clients_own_data():
    checklist = support_checklist("not_on_track", PROFILE, SupportContext(reason=REASON))
    text = {item.id: item.text for item in checklist.items()}
    assert "mean agreement" in text["rel_reactance"]  # high reactance recorded at intake
    assert "client-led" in text["rel_directiveness"]
    assert '"lost my job in May"' in text["life_intake"]
    assert "no one to turn to" in text["sup_intake"] and "sup_none" in text
    assert "I am thinking about making changes" in text["mot_stage"]
    assert "I am unsure" in text["mot_expectations"]
    titles = [r.title for r in tailor(PROFILE).recommendations]
    assert all(title in text["ad_review"] for title in titles)
    assert checklist.recommendations == [r.id for r in tailor(PROFILE).recommendations]
    assert checklist.client_id == "c7"


def test_without_a_profile_the_checklist_asks_for_the_missing_information():
    checklist = support_checklist("not_on_track", None, SupportContext(reason=REASON, client_id="c8"))
    shown = ids(checklist)
    assert {"mot_stage_unknown", "ad_no_profile", "sup_now", "life_ask"} <= set(shown)
    assert not {"rel_reactance", "mot_stage", "ad_review", "life_intake"} & set(shown)
    assert checklist.client_id == "c8"


def test_a_safety_alert_puts_safety_first_and_required():
    checklist = support_checklist("safety", Profile(), SupportContext(reason="PHQ-9 item 9 answered 2 of 3"))
    first = checklist.sections[0]
    assert first.id == "safety"
    assert first.items[0].id == "safe_reason" and first.items[0].required
    assert "PHQ-9 item 9 answered 2 of 3" in first.items[0].text
    assert {"safe_ask", "safe_plan"} <= {i.id for i in first.items if i.required}


@pytest.mark.parametrize("kind", ["not_on_track", "dropout_risk", "safety"])
def test_the_direct_question_about_self_harm_is_never_left_out(kind):
    checklist = support_checklist(kind, Profile(), SupportContext(reason="any"))
    item = next(i for i in checklist.items() if i.id == "safe_ask")
    assert item.required


def test_dropout_risk_asks_about_practical_obstacles():
    assert "mot_obstacles" in ids(
        support_checklist("dropout_risk", PROFILE, SupportContext(reason="two missed sessions"))
    )
    assert "mot_obstacles" not in ids(
        support_checklist("not_on_track", PROFILE, SupportContext(reason=REASON))
    )


def test_given_recommendations_are_used_instead_of_recomputed():
    only_first = tailor(PROFILE).recommendations[:1]
    checklist = support_checklist(
        "not_on_track", PROFILE, SupportContext(reason=REASON, recommendations=only_first)
    )
    assert checklist.recommendations == [only_first[0].id]


def test_items_can_be_recorded_as_used_without_changing_the_original():
    checklist = support_checklist("rupture", PROFILE, SupportContext(reason="alliance dropped"))
    done = record_use(checklist, ["rel_ask", "rel_own_part"])
    assert done.used() == ["rel_ask", "rel_own_part"]
    assert checklist.used() == []
    assert record_use(done, ["rel_invite_criticism"]).used() == [
        "rel_ask",
        "rel_invite_criticism",
        "rel_own_part",
    ]
    with pytest.raises(InvalidInputError, match="safe_plan"):
        record_use(checklist, ["safe_plan"])  # not part of a rupture checklist


@pytest.mark.parametrize(
    ("kind", "reason", "field"),
    [("off_track", REASON, "alert_kind"), ("rupture", "  ", "reason")],
)
def test_bad_input_is_refused_with_the_field_named(kind, reason, field):
    with pytest.raises(InvalidInputError, match=field):
        support_checklist(kind, PROFILE, SupportContext(reason=reason))


#: What each kind's rationale must be about: its own kind of alert, never another's evidence.
RATIONALE_ABOUT = {
    "not_on_track": ("clients not on track", ("dropout", "Rupture", "Safety")),
    "rupture": ("Rupture repair", ("feedback", "Safety")),
    "dropout_risk": ("dropout", ("not on track", "Rupture", "Safety")),
    "safety": ("Safety guidance (not an effect-size estimate)", ("feedback", "r = ", "OR = ")),
    "negative_process": ("Therapist confrontation", ("feedback", "Safety", "dropout")),
    "split_alliance": ("Degree of split alliance", ("feedback", "Safety", "Rupture", "dropout", "Cohesion")),
    "cohesion": ("Cohesion and outcome", ("feedback", "Safety", "Rupture", "dropout", "split")),
}


@pytest.mark.parametrize("kind", ALERT_KINDS)
def test_each_checklist_cites_evidence_about_its_own_kind_of_alert(kind):
    about, never = RATIONALE_ABOUT[kind]
    evidence = support_checklist(kind, PROFILE, SupportContext(reason=REASON)).evidence
    assert about in evidence
    assert not [word for word in never if word in evidence], evidence


def test_a_checklist_without_evidence_or_with_half_a_reference_is_refused():
    from pydantic import ValidationError

    from attunement.tailoring.support import EvidenceRef, KindSpec

    with pytest.raises(ValidationError):
        KindSpec(label="x", sections=["safety"])  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="either a registry entry"):
        EvidenceRef(entry="client_feedback")
    with pytest.raises(ValidationError, match="either a registry entry"):
        EvidenceRef(entry="client_feedback", estimate="tf2011_pcoms", guidance="also this")


def test_alert_support_steps_check_the_language_only_when_it_differs_from_the_clinics():
    from attunement.alerts.support import support_steps

    polish = build_profile({"ip_language": "Polish", "ip_stage": 2})
    in_english = support_steps("not_on_track", REASON, polish, "English")
    in_polish = support_steps("not_on_track", REASON, polish, "Polish")
    assert any("preferred language" in step for step in in_english)
    assert not any("preferred language" in step for step in in_polish)


def test_a_split_alliance_names_who_moved_and_rebuilds_the_shared_purpose():
    reason = "Sam (partner): check-in fell from 8.5 to 5.0 while the others held"
    checklist = support_checklist("split_alliance", PROFILE, SupportContext(reason=reason))
    relationship = checklist.sections[0]
    assert relationship.id == "relationship"
    assert [i.id for i in relationship.items][:4] == [
        "rel_split_who",
        "rel_split_meet",
        "rel_split_purpose",
        "rel_split_safe",
    ]
    assert reason in relationship.items[0].text and relationship.items[0].required
    assert "side" in relationship.items[1].text and "safe" in relationship.items[3].text
    # Friedlander et al. 2018: the degree of split alliance and outcome, r = .316.
    assert "r = 0.316" in checklist.evidence and "Friedlander" in checklist.evidence
    assert not {"rel_ask", "rel_cohesion_check", "safe_ask"} & set(ids(checklist))


def test_falling_cohesion_checks_in_links_the_member_and_asks_about_obstacles():
    reason = "Alex (group member): 3.1 points below their own level; missed 2 of the last 3 sessions"
    checklist = support_checklist("cohesion", None, SupportContext(reason=reason))
    shown = ids(checklist)
    assert shown[:3] == ["rel_cohesion_check", "rel_cohesion_link", "rel_cohesion_leader"]
    assert reason in checklist.items()[0].text
    assert "mot_obstacles" in shown  # a member at risk of leaving the group
    assert "early" in checklist.items()[2].text
    # Burlingame, McClendon & Yang 2018: cohesion and outcome, r = .26.
    assert "r = 0.26" in checklist.evidence and "Burlingame" in checklist.evidence
    assert not {"rel_split_who", "rel_ask"} & set(shown)

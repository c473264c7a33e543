"""The measure sets: what may be offered to a client, the defaults by service type (as data), and
what a link before the first session leaves out."""

from __future__ import annotations

import json

from attunement.instruments import get_instrument
from attunement.instruments.measure_sets import (
    DATA_FILE,
    about_the_session,
    for_session,
    not_offered,
    offerable_measures,
    service_defaults,
    service_types,
)


def test_only_measures_whose_wording_ships_can_be_offered_and_phq9_comes_first():
    offered = offerable_measures()
    assert offered[0] == "phq9"
    for i in offered:
        instrument = get_instrument(i)
        assert instrument.rater == "client" and instrument.licence.item_text_shipped, i
    assert "core10" not in offered and "intake_profile" not in offered and "checkin_therapist" not in offered
    reasons = {n.id: n.reason for n in not_offered()}
    assert "licence" in reasons["core10"] and "wording" in reasons["urica"]


def test_every_default_names_installed_measures_and_the_data_file_says_why():
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    assert data["note"] and data["about_the_session_note"]
    for kind in service_types():
        for i in kind.measures:
            get_instrument(i)  # raises for an unknown id
    assert data["default_service_type"] in {k.key for k in service_types()}


def test_defaults_keep_to_the_clinic_offer_and_always_carry_phq9():
    enabled = ["phq9", "gad7", "checkin"]
    assert service_defaults("adult_psychological_therapy", enabled) == ["phq9", "gad7", "checkin"]
    # CORE-10's wording cannot be shown: it is skipped, PHQ-9 and the check-in remain.
    assert service_defaults("general_counselling", enabled) == ["phq9", "checkin"]
    assert service_defaults("no such service", enabled) == ["phq9", "gad7", "checkin"]


def test_a_first_session_link_leaves_out_the_measures_about_the_session_only():
    chosen = ["phq9", "gad7", "checkin"]
    assert "checkin" in about_the_session()
    assert for_session(chosen, 1) == ["phq9", "gad7"]
    assert for_session(chosen, 2) == chosen


def test_every_roles_check_in_is_installed_and_read_as_a_relationship_measure_about_the_session():
    from attunement.instruments.measure_sets import offerable_measures, relationship_measures
    from attunement.instruments.roles import room_checkins

    for checkin in room_checkins():
        instrument = get_instrument(checkin)
        assert instrument.rater == "client" and not instrument.validated
        assert checkin in relationship_measures() and checkin in about_the_session()
        assert checkin in offerable_measures()

"""Measures per episode, on SQLite and PostgreSQL: the clinician's choice from the clinic's offer,
kept with its history and audited; links issued after a change carry the new set, links already
issued keep theirs; a wrong request stores nothing and says which field was wrong."""

from __future__ import annotations

import re

from sqlalchemy import select
from web_clinic import csrf, issue_link

from attunement.store.models import AuditEvent, EpisodeMeasures, LinkToken, Setting


def _choose(clinic, measures: list[str], episode: str = "1", who: str = "clin_a"):
    browser = clinic.login(who)
    public_id = clinic.clients["of_a"]
    token = csrf(browser, f"/clients/{public_id}")
    data = {"csrf_token": token, "episode": episode, "measure": measures}
    return browser.post(f"/clients/{public_id}/measures", data=data, follow_redirects=False)


def _links(clinic) -> list[tuple[int, str]]:
    with clinic.db.session() as db:
        return [(r.session, r.instruments) for r in db.scalars(select(LinkToken).order_by(LinkToken.id))]


def _offer(clinic, offer: list[str], service_type: str = ""):
    browser = clinic.login("admin")
    token = csrf(browser, "/admin/instruments")
    data = {
        "csrf_token": token,
        "link_valid_days": "7",
        "timezone": "UTC",
        "service_type": service_type,
        "offer": offer,
    }
    return browser.post("/admin/instruments", data=data, follow_redirects=False)


def test_the_page_shows_the_clinic_default_and_what_cannot_be_offered(clinic):
    page = clinic.login("clin_a").get(f"/clients/{clinic.clients['of_a']}").text
    section = page.split('id="measures"')[1].split("</section>")[0]
    assert "PHQ-9, GAD-7, Check-in" in section
    assert re.search(r"CORE-10[^:]*: the licence does not let attunement ship the wording", section)
    assert 'name="measure" value="phq9" checked disabled' in section
    supervisor = clinic.login("super_a").get(f"/clients/{clinic.clients['of_a']}").text
    assert "PHQ-9, GAD-7, Check-in" in supervisor and "Use these measures" not in supervisor


def test_a_change_applies_to_later_links_only_and_keeps_every_earlier_choice(clinic):
    assert _offer(clinic, ["gad7", "checkin", "auditc"]).status_code == 303
    issue_link(clinic, 1)
    issue_link(clinic, 2)
    assert _choose(clinic, ["auditc", "checkin"]).status_code == 303
    issue_link(clinic, 3)
    assert _choose(clinic, ["gad7"]).status_code == 303
    issue_link(clinic, 4)
    assert _links(clinic) == [
        (1, "phq9,gad7,intake_profile:1"),  # no check-in before the first session; intake part 1
        (2, "phq9,gad7,checkin,intake_profile:2"),  # each waiting link holds its own part
        (3, "phq9,auditc,checkin,intake_profile:3"),
        (4, "phq9,gad7"),
    ]
    with clinic.db.session() as db:
        rows = db.scalars(select(EpisodeMeasures).order_by(EpisodeMeasures.id)).all()
        assert [r.instruments for r in rows] == ["phq9,auditc,checkin", "phq9,gad7"]
        audited = db.scalars(select(AuditEvent.detail).where(AuditEvent.action == "set_measures")).all()
        assert audited == ["episode 1: phq9,auditc,checkin", "episode 1: phq9,gad7"]
    page = clinic.login("clin_a").get(f"/clients/{clinic.clients['of_a']}").text
    assert "Earlier choices of this episode" in page and "PHQ-9, AUDIT-C, Check-in" in page


def test_a_measure_the_clinic_does_not_offer_is_refused_by_name_and_nothing_is_stored(clinic):
    refused = _choose(clinic, ["core10", "checkin"])
    assert refused.status_code == 400
    assert "measures" in refused.text and "one of the measures your clinic offers" in refused.text
    odd = _choose(clinic, ["\x00" * 3, "x" * 5000])
    assert odd.status_code == 400
    stale = _choose(clinic, ["checkin"], episode="7")
    assert stale.status_code == 400 and "current episode" in stale.text
    with clinic.db.session() as db:
        assert db.scalars(select(EpisodeMeasures)).all() == []
        assert db.scalars(select(AuditEvent).where(AuditEvent.action == "set_measures")).all() == []


def test_the_administrator_sets_the_service_type_and_a_wrong_one_is_named(clinic):
    refused = _offer(clinic, ["gad7"], service_type="astrology")
    assert (
        refused.status_code == 400
        and '<a href="#service-type">The service your clinic offers</a>: “astrology”' in refused.text
    )
    with clinic.db.session() as db:
        assert db.get(Setting, "service_type") is None
    assert _offer(clinic, ["checkin"], service_type="general_counselling").status_code == 303
    page = clinic.login("clin_a").get(f"/clients/{clinic.clients['of_a']}").text
    assert re.search(r"<strong>PHQ-9, Check-in</strong>", page), "CORE-10 skipped: its wording is not shipped"
    admin = clinic.login("admin").get("/admin/instruments").text
    assert "General counselling: CORE-10, Check-in" in admin
    assert "Installed measures that cannot be offered to clients" in admin

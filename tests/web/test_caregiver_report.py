"""A caregiver's report on a young person, on SQLite and PostgreSQL: made from the young person's
page, answered through its own link, stored on the young person's record under the rater
"caregiver" and kept apart from the young person's own answers; a risk answer in it raises the
young person's safety alert and tells their therapist."""

from __future__ import annotations

import re

from room_clinic import answer, open_case
from sqlalchemy import select
from test_client_link import submit
from web_clinic import csrf

from attunement.store.models import Client, KeptAlert, Notification, Submission
from attunement.store.summary_store import summaries_for

CALM = {f"caregiver_report_{n}": "1" for n in range(1, 6)} | {"caregiver_report_6": "0"}
RISK = {**CALM, "caregiver_report_6": "2"}


def _family(clinic) -> dict[str, str]:
    return open_case(clinic, "Family R", "family", [("Mum", "parent"), ("Jo", "young_person")])


def _caregiver_link(clinic, public_id: str) -> str:
    browser = clinic.login("clin_a")
    page = f"/clients/{public_id}"
    made = browser.post(
        f"{page}/caregiver-link",
        data={"episode": "1", "csrf_token": csrf(browser, page)},
        follow_redirects=False,
    )
    assert made.status_code == 200, made.text
    return re.search(r'value="https?://[^/"]+(/c/[^"]+)"', made.text).group(1)


def _young(clinic, ids) -> Client:
    with clinic.db.session() as db:
        return db.scalar(select(Client).where(Client.public_id == ids["Jo"]))


def test_a_caregivers_report_is_kept_apart_from_the_young_persons_own_answers(clinic):
    ids = _family(clinic)
    answer(
        clinic,
        ids["Jo"],
        "young_person",
        1,
        8,
        {"phq9": {f"phq9_{i}": 1 for i in range(1, 10)} | {"phq9_9": 0}},
    )
    path = _caregiver_link(clinic, ids["Jo"])
    form = clinic.client().get(path).text
    assert (
        "About the young person" in form and "Caregiver report" in form or "young person you care for" in form
    )
    _, sent = submit(clinic, path, CALM)
    assert sent.status_code == 303
    thanks = clinic.client().get(path).text
    assert "progress" not in thanks.lower() or "chart" not in thanks.lower()
    with clinic.db.session() as db:
        jo = db.scalar(select(Client).where(Client.public_id == ids["Jo"]))
        raters = sorted(db.scalars(select(Submission.rater).where(Submission.client_id == jo.id)))
        summary = summaries_for(db, [jo])[jo.id]
    assert raters == ["caregiver", "client"]
    assert summary.phq9 == [8.0] and not summary.has_open_safety, "the young person's own scores only"
    page = clinic.login("clin_a").get(f"/clients/{ids['Jo']}").text
    section = page[page.find('id="caregiver-h"') : page.find('id="sessions-h"')]
    assert "Session 1" in section and "total 5 of 18" in section and "badge safety" not in section


def test_a_risk_answer_in_a_caregivers_report_raises_the_young_persons_safety_alert(clinic):
    ids = _family(clinic)
    answer(clinic, ids["Jo"], "young_person", 1, 8)
    _, sent = submit(clinic, _caregiver_link(clinic, ids["Jo"]), RISK)
    assert sent.status_code == 303
    with clinic.db.session() as db:
        jo = db.scalar(select(Client).where(Client.public_id == ids["Jo"]))
        (safety,) = db.scalars(
            select(KeptAlert).where(KeptAlert.client_id == jo.id, KeptAlert.kind == "safety")
        )
        assert safety.status == "open" and safety.requires_action
        assert "caregiver" in safety.reason
        assert db.scalar(select(Notification.id).where(Notification.client_id == jo.id)) is not None
    page = clinic.login("clin_a").get(f"/clients/{ids['Jo']}").text
    assert "badge safety" in page[page.find('id="caregiver-h"') : page.find('id="sessions-h"')]


def test_only_a_young_persons_page_offers_a_caregivers_link(clinic):
    ids = _family(clinic)
    browser = clinic.login("clin_a")
    assert "caregiver-link" not in browser.get(f"/clients/{ids['Mum']}").text
    page = f"/clients/{ids['Mum']}"
    refused = browser.post(f"{page}/caregiver-link", data={"episode": "1", "csrf_token": csrf(browser, page)})
    assert refused.status_code == 400 and "a young person taking part" in refused.text

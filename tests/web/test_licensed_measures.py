"""A licensed measure end to end, on SQLite and PostgreSQL: the administrator uploads the clinic's
wording (made up for the tests: "Stand-in item 1" ..., never a licensed text), a mismatching or
broken file is refused with every problem and stores nothing, then the clinic offers CORE-10, a
clinician chooses it for an episode and a client answers it from a link: the answers are scored
with the shipped scoring, and the risk item raises a safety alert."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select
from web_clinic import csrf, issue_link

from attunement.instruments import get_instrument, score
from attunement.instruments.licensed import stand_in
from attunement.store.models import AuditEvent, KeptAlert, LicensedWordingRow, Measure

LICENCE = "Made-up licence statement for the tests. (c) Test Holder: https://example.org/licence"
PHQ9 = {f"phq9_{i}": "0" for i in range(1, 10)}
GAD7 = {f"gad7_{i}": "1" for i in range(1, 8)}
#: Item 6 is CORE-10's risk item.
CORE10 = {**{f"core10_{i}": "2" for i in range(1, 11)}, "core10_6": "3"}


def _upload(browser, content, instrument="", licence=LICENCE, supplied_by="Dr Test", token=None):
    token = token or csrf(browser, "/admin/instruments")
    body = content if isinstance(content, (bytes, str)) else json.dumps(content)
    return browser.post(
        "/admin/instruments/wording",
        data={
            "csrf_token": token,
            "instrument": instrument,
            "licence_statement": licence,
            "supplied_by": supplied_by,
        },
        files={"questionnaire": ("wording.json", body, "application/json")},
        follow_redirects=False,
    )


def _rows(clinic) -> list[LicensedWordingRow]:
    with clinic.db.session() as db:
        rows = db.scalars(select(LicensedWordingRow).order_by(LicensedWordingRow.id)).all()
        db.expunge_all()
        return rows


def _offer(browser, offer):
    token = csrf(browser, "/admin/instruments")
    data = {
        "csrf_token": token,
        "link_valid_days": "7",
        "timezone": "UTC",
        "service_type": "",
        "offer": offer,
    }
    return browser.post("/admin/instruments", data=data, follow_redirects=False)


def test_a_mismatching_file_is_refused_on_the_page_with_every_difference(clinic):
    admin = clinic.login("admin")
    data = stand_in("core10")
    del data["item"][2]  # core10_2
    data["item"][3]["answerOption"] = data["item"][3]["answerOption"][1:]  # core10_4 without 0
    response = _upload(admin, data)
    assert response.status_code == 400
    page = " ".join(response.text.split())
    assert "The wording was not stored: 2 problems" in page
    assert "core10_2" in page and "the file lacks it" in page
    assert "core10_4" in page and "answer values 1, 2, 3, 4" in page
    assert LICENCE in page, "what the administrator typed is kept on the page"
    assert _rows(clinic) == []


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"\xff\xfe not json", "not JSON"),
        ("{}", "ResourceType</strong>: please enter"),
        (json.dumps({"resourceType": "Questionnaire", "status": "active", "id": "zzz"}), "names a measure"),
        (
            json.dumps({"resourceType": "Questionnaire", "id": "core10", "status": "active", "item": "x"}),
            "Questionnaire item",
        ),
        ("x" * 210_000, "at most 200 KiB"),
    ],
)
def test_a_broken_upload_is_refused_in_plain_words_never_a_server_error(clinic, content, expected):
    response = _upload(clinic.login("admin"), content)
    assert response.status_code == 400, response.text[:300]
    assert expected in " ".join(response.text.split())
    assert _rows(clinic) == []


def test_an_upload_over_the_body_limit_is_refused_and_an_unknown_instrument_named(clinic):
    admin = clinic.login("admin")
    huge = _upload(admin, "x" * (300 * 1024))
    assert huge.status_code == 413
    unknown = _upload(admin, stand_in("core10"), instrument="nope")
    assert unknown.status_code == 400 and "one of the measures" in unknown.text
    blank = _upload(admin, stand_in("core10"), licence=" ", supplied_by="")
    assert (
        blank.status_code == 400
        and ">Licence statement</a>" in blank.text
        and ">Supplied by</a>" in blank.text
    )
    assert _rows(clinic) == []


def test_an_upload_needs_the_csrf_token_and_an_administrator(clinic):
    admin = clinic.login("admin")
    csrf(admin, "/admin/instruments")
    refused = admin.post(
        "/admin/instruments/wording",
        data={"licence_statement": LICENCE, "supplied_by": "x"},
        files={"questionnaire": ("w.json", json.dumps(stand_in("core10")), "application/json")},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    clinician = clinic.login("clin_a")
    assert _upload(clinician, stand_in("core10"), token=csrf(clinician, "/caseload")).status_code == 403
    assert _rows(clinic) == []


def test_the_uploaded_wording_is_offered_chosen_answered_scored_and_alerted(clinic):
    admin = clinic.login("admin")
    before = admin.get("/admin/instruments").text
    assert 'name="offer" value="core10"' not in before
    first = _upload(admin, stand_in("core10"), instrument="core10", supplied_by="Dr First")
    assert first.status_code == 303, first.text[:500]
    newer = stand_in("core10")
    for item in newer["item"][1:]:
        item["text"] = item["text"].replace("Stand-in item", "Test item")
    assert _upload(admin, newer, supplied_by="Dr Second").status_code == 303
    rows = _rows(clinic)
    assert [(r.instrument, r.supplied_by, r.uploaded_by is not None) for r in rows] == [
        ("core10", "Dr First", True),
        ("core10", "Dr Second", True),
    ]
    page = admin.get("/admin/instruments").text
    assert "Dr First" in page and "no: a newer upload is used" in page
    assert 'name="offer" value="core10"' in page
    assert _offer(admin, ["gad7", "core10"]).status_code == 303
    with clinic.db.session() as db:
        assert db.scalar(select(AuditEvent.detail).where(AuditEvent.action == "import_wording")).startswith(
            "core10: upload"
        )

    # The clinician chooses CORE-10 for the episode; the client answers it from a link.
    clinician = clinic.login("clin_a")
    public_id = clinic.clients["of_a"]
    token = csrf(clinician, f"/clients/{public_id}")
    chosen = clinician.post(
        f"/clients/{public_id}/measures",
        data={"csrf_token": token, "episode": "1", "measure": ["core10", "gad7"]},
        follow_redirects=False,
    )
    assert chosen.status_code == 303, chosen.text[:500]
    path = issue_link(clinic, 1)
    client = clinic.client()
    form = client.get(path).text
    assert "Test item 6" in form and "Stand-in answer 4" in form and "Stand-in item" not in form
    assert LICENCE in form, "the licence statement is under the form"
    assert "licensed wording not installed" not in form
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    missing = client.post(path, data={**PHQ9, **GAD7, "csrf_token": token}, follow_redirects=False)
    assert missing.status_code == 400 and "CORE-10 question 6 (Test item 6)" in missing.text
    sent = client.post(path, data={**PHQ9, **GAD7, **CORE10, "csrf_token": token}, follow_redirects=False)
    assert sent.status_code == 303
    with clinic.db.session() as db:
        values = {m.item: m.value for m in db.scalars(select(Measure).where(Measure.instrument == "core10"))}
        assert len(values) == 10
        result = score(get_instrument("core10"), values)
        assert result.total == 21  # 2 x 9 (items 2 and 3 reversed: 4 - 2) + 3
        alert = db.scalar(select(KeptAlert).where(KeptAlert.kind == "safety"))
        assert alert is not None and "CORE-10 item 6" in alert.reason
    client_page = " ".join(clinician.get(f"/clients/{public_id}").text.split())
    assert "CORE-10 item 6 (the risk item: plans to end one&#39;s life) answered 3 of 4" in client_page

"""End to end in headless Chromium: an administrator uploads a clinic's licensed wording of
CORE-10 (made up for the test: "Test item 1" ..., never the licensed text) and offers it; a
clinician chooses it for an episode; the client answers it on a phone, with the licence notice
under the form, and the risk item reaches the crisis information."""

from __future__ import annotations

import json
import re

import pytest
from browser import DESKTOP, PHONE
from test_client_journey import instruments_on, sign_in

from attunement.instruments.licensed import stand_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NOTICE = (
    "Made-up statement for the test. © CORE System Trust: https://www.coresystemtrust.org.uk/copyright.pdf"
)


def _test_wording(tmp_path) -> str:
    data = stand_in("core10")
    for item in data["item"][1:]:
        item["text"] = item["text"].replace("Stand-in item", "Test item")
    path = tmp_path / "core10-test-wording.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_an_administrator_uploads_wording_and_a_client_answers_it(server, open_browser, artifacts, tmp_path):
    admin = open_browser(**DESKTOP).new_page()
    sign_in(admin, server, "admin")
    admin.goto(f"{server.base_url}/admin/instruments")
    section = admin.locator("#wording")
    section.get_by_label("Measure").select_option("core10")
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"resourceType": "Questionnaire", "id": "core10", "status": "active"}))
    section.get_by_label("Questionnaire file (FHIR R4 JSON)").set_input_files(str(broken))
    section.get_by_label("Licence statement").fill(NOTICE)
    section.get_by_label("Supplied by").fill("Dr Test")
    section.get_by_role("button", name="Check and upload").click()
    problems = admin.locator("#wording-problems")
    assert "The wording was not stored: 10 problems" in problems.inner_text()
    admin.screenshot(path=artifacts / "licensed-01-refused.png", full_page=True)
    section = admin.locator("#wording")
    section.get_by_label("Questionnaire file (FHIR R4 JSON)").set_input_files(_test_wording(tmp_path))
    assert section.get_by_label("Licence statement").input_value() == NOTICE, "kept after a refusal"
    section.get_by_role("button", name="Check and upload").click()
    admin.wait_for_url(re.compile(r"#wording$"))
    assert "Dr Test" in admin.locator("#wording table").inner_text()
    admin.get_by_label("CORE-10").check()
    admin.get_by_role("button", name="Save").click()
    admin.wait_for_url(re.compile(r"/admin/instruments$"))
    assert admin.get_by_label("CORE-10").is_checked()
    admin.screenshot(path=artifacts / "licensed-02-uploaded.png", full_page=True)

    clinician = open_browser(**DESKTOP).new_page()
    sign_in(clinician, server)
    clinician.goto(f"{server.base_url}/clients/new")
    clinician.get_by_label("Reference").fill("E2E licensed 01")
    clinician.get_by_role("button", name="Create client").click()
    clinician.wait_for_url(re.compile(r"/clients/[^/]+$"))
    measures = clinician.locator("#measures")
    measures.get_by_label("CORE-10").check()
    measures.get_by_role("button", name="Use these measures").click()
    clinician.wait_for_url(re.compile(r"#measures-h$"))
    clinician.get_by_role("button", name="Create a link").click()
    link = clinician.get_by_label("Client link").input_value()
    link = link if link.startswith("http") else server.base_url + link

    phone = open_browser(**PHONE).new_page()
    phone.goto(link)
    assert "core10" in instruments_on(phone)
    form = phone.locator("section.questionnaire", has=phone.locator("#title-core10"))
    assert "Test item 6" in form.inner_text() and "Stand-in answer 4" in form.inner_text()
    assert "© CORE System Trust: https://www.coresystemtrust.org.uk/copyright.pdf" in form.inner_text()
    assert "licensed wording not installed" not in phone.content()
    phone.screenshot(path=artifacts / "licensed-03-client-form-phone.png", full_page=True)
    for fieldset in phone.locator("fieldset.question").all():
        name = fieldset.locator("input[type=radio]").first.get_attribute("name")
        value = "3" if name == "core10_6" else "1"
        fieldset.locator(f'input[type=radio][value="{value}"]').check()
    phone.get_by_role("button", name=re.compile("Send")).click()
    phone.wait_for_load_state()
    assert "If you need help now" in phone.content()
    phone.screenshot(path=artifacts / "licensed-04-thanks-phone.png", full_page=True)

"""End to end in headless Chromium: a clinician chooses an episode's measures, and the client's
next link carries them; a link before the first session has no check-in, and keeps PHQ-9's
safety question."""

from __future__ import annotations

import re

import pytest
from browser import DESKTOP, PHONE
from test_client_journey import instruments_on, sign_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_a_clinician_adds_audit_c_and_the_next_link_carries_it_without_a_check_in(
    server, open_browser, artifacts
):
    clinician = open_browser(**DESKTOP).new_page()
    sign_in(clinician, server)
    clinician.goto(f"{server.base_url}/clients/new")
    clinician.get_by_label("Reference").fill("E2E measures 01")
    clinician.get_by_role("button", name="Create client").click()
    clinician.wait_for_url(re.compile(r"/clients/[^/]+$"))
    section = clinician.locator("#measures")
    assert "PHQ-9, GAD-7, Check-in" in section.inner_text()
    section.get_by_label("AUDIT-C").check()
    section.get_by_label("GAD-7").uncheck()
    section.get_by_role("button", name="Use these measures").click()
    clinician.wait_for_url(re.compile(r"#measures-h$"))
    section = clinician.locator("#measures")
    assert "PHQ-9, AUDIT-C, Check-in" in section.locator("p").first.inner_text()
    section.locator("summary", has_text="Earlier choices").click()
    assert "(in use)" in section.inner_text()
    clinician.screenshot(path=artifacts / "measures-01-client-page.png", full_page=True)
    clinician.get_by_role("button", name="Create a link").click()
    link = clinician.get_by_label("Client link").input_value()
    link = link if link.startswith("http") else server.base_url + link

    phone = open_browser(**PHONE).new_page()
    phone.goto(link)
    instruments = instruments_on(phone)
    assert "auditc" in instruments and "phq9" in instruments
    assert "gad7" not in instruments
    assert "checkin" not in instruments, "a link before the first session asks nothing about a session"
    assert phone.locator("fieldset#q-phq9_9 legend").inner_text().strip(), "the safety question is there"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=artifacts / "measures-02-first-link.png", full_page=True)

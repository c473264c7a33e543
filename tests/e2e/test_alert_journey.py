"""End to end in headless Chromium on the demo clinic: a clinician sees the safety notice on every
page, opens the client from it, records one action for all of the client's open alerts with one
form, and the caseload then shows them as done. Phone size, with screenshots."""

from __future__ import annotations

import re

import pytest
from browser import DESKTOP, PHONE
from test_client_journey import PageWatch, sign_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_safety_notice_leads_to_one_record_for_several_alerts(server, open_browser, artifacts, size):
    page = open_browser(**(PHONE if size == "phone" else DESKTOP)).new_page()
    watch = PageWatch(page, server.base_url)
    sign_in(page, server)
    notice = page.locator(".notices")
    assert notice.count() == 1, "the demo clinic has unopened safety notices"
    page.goto(f"{server.base_url}/clients/new")
    assert page.locator(".notices").count() == 1, "the notice shows on every page"
    page.screenshot(path=artifacts / f"alerts-{size}-01-notice.png", full_page=False)

    links = page.locator(".notices a")
    # A client with more than one open alert, so that one record covers several.
    names = [t.strip() for t in links.all_inner_texts()]
    chosen = None
    for name in names:
        page.locator(".notices a", has_text=re.compile(rf"^{re.escape(name)}$")).first.click()
        page.wait_for_url(re.compile(r"/clients/[^/]+#alerts$"))
        if page.locator("#alerts input[name=alert]:checked").count() >= 2:
            chosen = name
            break
        page.go_back()
    assert chosen, "a notified client with two or more open alerts"
    ticked = page.locator("#alerts input[name=alert]:checked").count()
    if size == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_label("What was done").fill("Called the client; agreed a safety plan and an earlier session")
    page.get_by_role("button", name="Save what was done").click()
    page.wait_for_url(re.compile(r"#alerts$"))
    assert page.locator(".problems").count() == 0
    # The safety alert is done (in the history); any other alert stays, marked done.
    assert page.locator("#alerts article.alert.safety").count() == 0
    history = page.locator("#alert-log").text_content()
    assert len(re.findall(r"what was done \(session \d+\): Called the client", history)) == ticked
    page.screenshot(path=artifacts / f"alerts-{size}-02-recorded.png", full_page=True)

    page.goto(f"{server.base_url}/caseload")
    card = page.locator("ul.cards > li").filter(has=page.get_by_role("link", name=chosen, exact=True))
    assert "safety" not in (card.get_attribute("class") or "")
    text = card.inner_text()
    if ticked > 1:
        assert "(done)" in text, text
    assert chosen not in [t.strip() for t in page.locator(".notices a").all_inner_texts()]
    page.screenshot(path=artifacts / f"alerts-{size}-03-caseload.png", full_page=False)
    watch.check()

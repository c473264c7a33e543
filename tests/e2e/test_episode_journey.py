"""End to end in headless Chromium on the demo clinic: a clinician ends an episode from the client
page and the client leaves the working list for the ended section; a clinician plans the next
session for today and finds the client under "Today". Desktop and phone sizes, with screenshots.
"""

from __future__ import annotations

import re

import pytest
from browser import DESKTOP, PHONE
from test_client_journey import PageWatch, sign_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _sections(page) -> tuple[list[str], list[str]]:
    working = page.locator("section[aria-labelledby=working-h] ul.cards > li h3 a").all_inner_texts()
    ended = page.locator("section[aria-labelledby=ended-h] ul.cards > li h3 a").all_inner_texts()
    return [t.strip() for t in working], [t.strip() for t in ended]


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_ending_an_episode_moves_the_client_out_of_the_working_list(server, open_browser, artifacts, size):
    page = open_browser(**(DESKTOP if size == "desktop" else PHONE)).new_page()
    watch = PageWatch(page, server.base_url)
    sign_in(page, server)
    page.goto(f"{server.base_url}/caseload?status=active")
    # A client with an open alert but no open safety alert (those stay until actioned).
    cards = page.locator("section[aria-labelledby=working-h] ul.cards > li:not(.safety)")
    candidates = [c for c in cards.all() if c.locator(".badge").count() > 0]
    assert candidates, "the demo clinic should have active clients with open course alerts"
    chosen = candidates[0 if size == "desktop" else -1].locator("h3 a")
    name = chosen.inner_text().strip()
    chosen.click()  # the card's own link (a safety notice at the top may name the client too)
    page.wait_for_url(re.compile(r"/clients/[^/]+$"))
    if size == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

    form = page.locator("form[action$='/episode/end']")
    form.get_by_label("Reason").select_option(label="Dropped out")
    form.get_by_role("button", name="End episode").click()
    page.wait_for_url(re.compile(r"/clients/[^/]+#episode-h$"))
    assert "This episode has ended" in page.locator("body").inner_text()
    assert page.locator("#alerts article.alert:not(.safety)").count() == 0, "no course alerts after the end"
    page.screenshot(path=artifacts / f"episode-{size}-01-ended.png", full_page=True)

    page.goto(f"{server.base_url}/caseload")
    working, ended = _sections(page)
    assert name not in working and name in ended
    card = page.locator("section[aria-labelledby=ended-h] ul.cards > li").filter(has_text=name)
    assert "dropped out" in card.inner_text()
    page.screenshot(path=artifacts / f"episode-{size}-02-caseload.png", full_page=True)
    watch.check()


def test_planning_a_session_for_today_puts_the_client_under_today(server, open_browser, artifacts):
    page = open_browser(**PHONE).new_page()
    watch = PageWatch(page, server.base_url)
    sign_in(page, server)
    page.goto(f"{server.base_url}/caseload?today=yes")
    today_before, _ = _sections(page)
    page.goto(f"{server.base_url}/caseload?status=active")
    working, _ = _sections(page)
    name = next(n for n in working if n not in today_before)
    page.locator("ul.cards h3 a").filter(has_text=re.compile(f"^{re.escape(name)}$")).first.click()

    form = page.locator("form[action$='/sessions']")
    today = page.locator("#plan-date").get_attribute("min")
    form.get_by_label("Date").fill(today)
    form.get_by_label("Time").fill("16:45")
    form.get_by_role("button", name="Plan session").click()
    page.wait_for_url(re.compile(r"#sessions-h$"))
    assert "16:45" in page.locator("#next").inner_text() and "(today)" in page.locator("#next").inner_text()
    page.screenshot(path=artifacts / "plan-phone-01-client.png", full_page=False)

    page.goto(f"{server.base_url}/caseload")
    page.get_by_role("link", name=re.compile(r"^Today")).click()
    page.wait_for_url(re.compile(r"today=yes"))
    working, _ = _sections(page)
    assert name in working
    card = page.locator("ul.cards > li").filter(has_text=name)
    assert "16:45 (today)" in card.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=artifacts / "plan-phone-02-today.png", full_page=True)
    watch.check()

"""End to end in headless Chromium on the demo clinic: a supervisor goes from a figure on the
team page to the clients behind it, opens a client, leaves a note and flags the client; the
client's therapist signs in and finds the note (who wrote it, when) and the flag. Phone and
desktop sizes, with screenshots."""

from __future__ import annotations

import re

import pytest
from browser import DESKTOP, PHONE
from test_client_journey import PageWatch, sign_in

from attunement.store.demo import DEMO_LOGINS

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
THERAPISTS = {"Dr Alex Demo": "clinician", "Sam Example": "clinician2", "Robin Sample": "clinician3"}


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_supervisor_acts_from_a_team_figure_and_the_therapist_sees_it(
    server, open_browser, artifacts, size
):
    options = DESKTOP if size == "desktop" else PHONE
    page = open_browser(**options).new_page()
    watch = PageWatch(page, server.base_url)
    sign_in(page, server, "supervisor")
    # A therapist's "open alerts" figure leads to the clients behind it.
    figures = page.locator("section[aria-labelledby=fig-h] tbody tr")
    row = figures.nth(0 if size == "desktop" else 1)
    therapist = row.locator("th").inner_text().strip()
    row.locator("a[href*='kind=any']").click()
    page.wait_for_url(re.compile(r"/team\?therapist=\d+&kind=any#open-h$"))
    listed = page.locator("section[aria-labelledby=clients-h] tbody tr")
    assert listed.count() > 0
    for line in listed.all():
        assert therapist in line.inner_text(), "only that therapist's clients"
    if size == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=artifacts / f"supervision-{size}-01-figure.png", full_page=False)

    name = listed.first.locator("th a").inner_text().strip()
    listed.first.locator("th a").click()
    page.wait_for_url(re.compile(r"/clients/[^/#?]+$"))
    note = f"Please bring {name} to supervision ({size}): the last check-ins dropped."
    form = page.locator("form[action$='/notes']").last
    form.get_by_label("Note", exact=True).fill(note)
    form.get_by_role("button", name="Save note").click()
    page.wait_for_url(re.compile(r"#supervision-h$"))
    flag = page.locator("form[action$='/flag']")
    if flag.get_by_role("button", name="Flag for supervision").count():
        flag.get_by_label("What to talk about").fill("Check-ins dropping")
        flag.get_by_role("button", name="Flag for supervision").click()
        page.wait_for_url(re.compile(r"#supervision-h$"))
    section = page.locator("#supervision")
    assert note in section.inner_text() and "Flagged for supervision" in section.inner_text()
    if size == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    section.screenshot(path=artifacts / f"supervision-{size}-02-note.png")
    watch.check()

    # The therapist signs in and finds the note and the flag on the client's page.
    page = open_browser(**options).new_page()
    watch = PageWatch(page, server.base_url)
    login = next(login for login in DEMO_LOGINS if login.username == THERAPISTS[therapist])
    assert f"{login.username} / {login.password}" in server.output()
    username, password = login.username, login.password
    page.goto(f"{server.base_url}/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/caseload$"))
    card = page.locator("ul.cards > li").filter(has=page.get_by_role("link", name=name, exact=True))
    assert "for supervision" in card.first.inner_text()
    card.first.get_by_role("link", name=name, exact=True).click()
    page.wait_for_url(re.compile(r"/clients/[^/#?]+$"))
    assert "Flagged for supervision by Jo Supervisor" in page.locator("main").inner_text()
    notes = page.locator("#supervision")
    assert note in notes.inner_text() and "Jo Supervisor" in notes.inner_text()
    assert page.locator("form[action$='/notes']").count() == 0, "the therapist reads; the supervisor writes"
    notes.screenshot(path=artifacts / f"supervision-{size}-03-therapist.png")
    watch.check()

"""End to end in headless Chromium on the demo clinic: a family of three answers on three phones
and the therapist sees the young person's split alliance on the case page; a group leader makes
every member's link at once, the members answer, and the leader sees all eight on the group
session page (a risk answer first, who has not answered). Screenshots at phone and desktop size
go to /tmp/rooms-shots/ as well as the test artifacts.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser import DESKTOP, PHONE
from test_client_journey import PageWatch, instruments_on, sign_in

from attunement.instruments import get_instrument

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SHOTS = Path("/tmp/rooms-shots")


def _shots(artifacts: Path, name: str, page) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for folder in (artifacts, SHOTS):
        page.screenshot(path=folder / f"{name}.png", full_page=True)


def _answer(page, link: str, checkin: float, *, risk: bool = False) -> list[str]:
    """Open the link on ``page`` and answer every form: the outcome questions mildly (the safety
    question endorsed when ``risk``), the check-in so that its total is ``checkin``."""
    page.goto(link)
    shown = instruments_on(page)
    for name in shown:
        if name == "intake_profile":
            continue  # every intake question is optional
        inst = get_instrument(name)
        reverse = set(inst.scoring.reverse)
        for item in inst.scoring.items:
            if name.startswith("checkin"):
                value = 10 - checkin if item in reverse else checkin
            else:
                value = 1 if (item != "phq9_9" or risk) else 0
            page.check(f'input[name="{item}"][value="{value:g}"]')
    with page.expect_navigation():
        page.get_by_role("button", name="Send my answers").click()
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Thank you"
    return shown


def _links(page) -> dict[str, str]:
    """The links page: each person's reference -> their link."""
    out = {}
    for card in page.locator("ul.links > li").all():
        name = card.locator("strong").inner_text().strip()
        out[name] = card.locator("input.copy").input_value()
    return out


def _make_links(page, base: str, case_path: str) -> dict[str, str]:
    page.goto(base + case_path)
    page.get_by_role("button", name="Make the links").click()
    page.wait_for_url(re.compile(r"/links$"))
    return _links(page)


def test_a_family_answers_on_three_phones_and_the_therapist_sees_the_split(server, open_browser, artifacts):
    therapist = open_browser(**DESKTOP).new_page()
    watch = PageWatch(therapist, server.base_url)
    sign_in(therapist, server)
    people = [("E-Mum", "Parent"), ("E-Dad", "Parent"), ("E-Jo", "Young person")]
    case_path = _new_case(therapist, server.base_url, "Family", "E2E family", people)
    phones = {name: open_browser(**PHONE).new_page() for name in ("E-Mum", "E-Dad", "E-Jo")}
    plan = {"E-Mum": [8, 8, 8, 8], "E-Dad": [7, 8, 8, 8], "E-Jo": [8, 8, 8, 2]}
    for round_ in range(4):
        links = _make_links(therapist, server.base_url, case_path)
        assert set(links) == set(phones), links
        for name, phone in phones.items():
            if name == "E-Jo" and round_ == 1:  # the young person's form, at their level, on a phone
                phone.goto(links[name])
                assert "There are no right or wrong answers" in phone.locator("main").inner_text()
                _shots(artifacts, "young-person-form-phone", phone)
            forms = _answer(phone, links[name], plan[name][round_])
            if round_ == 1:
                expected = "checkin_youth" if name == "E-Jo" else "checkin_family"
                assert expected in forms, (name, forms)
                assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    therapist.goto(server.base_url + case_path)
    room = therapist.locator("#room")
    assert "Split alliance" in room.inner_text()
    assert room.get_by_role("link", name=re.compile("E-Jo")).count() >= 1
    assert "Support steps" in room.inner_text()
    chart = therapist.locator("svg#case-relationship")
    assert chart.get_attribute("role") == "img"
    described = chart.locator("desc").text_content() or ""
    assert re.search(r"E-Jo \(young person\): [^.]*session 4: 2\b", described), described
    _shots(artifacts, "case-family-desktop", therapist)
    phone_view = open_browser(**PHONE).new_page()
    sign_in(phone_view, server)
    phone_view.goto(server.base_url + case_path)
    assert phone_view.evaluate("document.documentElement.scrollWidth") <= 390
    _shots(artifacts, "case-family-phone", phone_view)
    watch.check()


def _new_case(page, base: str, format_label: str, reference: str, people: list[tuple[str, str]]) -> str:
    """A case made through the pages, with its participants; returns its path."""
    page.goto(f"{base}/caseload")
    page.get_by_role("link", name="New couple, family or group").click()
    page.get_by_label(format_label).check()
    page.get_by_label("Reference").fill(reference)
    page.get_by_role("button", name="Create").click()
    page.wait_for_url(re.compile(r"/cases/[^/]+$"))
    path = page.url.removeprefix(base)
    for name, role in people:
        form = page.locator("form[action$='/participants']")
        form.get_by_label("Role").select_option(label=role)
        form.get_by_label("Reference for a new client").fill(name)
        form.get_by_role("button", name="Add").click()
        page.wait_for_url(re.compile(r"#people-h$"))
    return path


MEMBERS = ("G-Ash", "G-Bo", "G-Cal", "G-Dee", "G-Eli", "G-Fay", "G-Gus", "G-Hal")


def test_a_group_leader_sees_eight_members_after_a_session(server, open_browser, artifacts):
    leader = open_browser(**DESKTOP).new_page()
    watch = PageWatch(leader, server.base_url)
    sign_in(leader, server)
    case_path = _new_case(
        leader, server.base_url, "Group", "E2E group", [(m, "Group member") for m in MEMBERS]
    )
    phone = open_browser(**PHONE).new_page()
    links = _make_links(leader, server.base_url, case_path)
    assert set(links) == set(MEMBERS)
    for link in links.values():
        _answer(phone, link, 8)
    # The second session's links, made with the keyboard only: to the button, and Enter.
    leader.goto(server.base_url + case_path)
    for _ in range(200):
        leader.keyboard.press("Tab")
        if leader.evaluate("document.activeElement.textContent.trim()") == "Make the links":
            break
    else:
        pytest.fail("the links button cannot be reached with the keyboard")
    leader.keyboard.press("Enter")
    leader.wait_for_url(re.compile(r"/links$"))
    links = _links(leader)
    assert len(links) == 8, links
    for name, link in links.items():
        if name == "G-Hal":
            continue  # has not answered yet
        forms = _answer(phone, link, 2 if name == "G-Dee" else 8, risk=name == "G-Cal")
        assert "checkin_group" in forms, forms
    leader.goto(f"{server.base_url}{case_path}/session")
    assert leader.get_by_role("heading", level=1).inner_text().strip() == "E2E group: session 2"
    rows = leader.locator("table.group-session tbody tr")
    assert rows.count() == 8
    first = rows.nth(0)
    assert "G-Cal" in first.inner_text() and "risk" in (first.get_attribute("class") or "")
    dee = rows.filter(has_text="G-Dee")
    assert "2.0" in dee.inner_text(), "G-Dee's group check-in"
    assert "7 of 8 answered" in leader.locator("p.summary").inner_text()
    assert "Not answered yet: G-Hal." in leader.locator("body").inner_text()
    _shots(artifacts, "group-session-desktop", leader)
    leader.goto(server.base_url + case_path)
    _shots(artifacts, "case-group-desktop", leader)
    small = open_browser(**PHONE).new_page()
    sign_in(small, server)
    small.goto(f"{server.base_url}{case_path}/session")
    assert small.evaluate("document.documentElement.scrollWidth") <= 390
    _shots(artifacts, "group-session-phone", small)
    small.goto(server.base_url + case_path)
    assert small.evaluate("document.documentElement.scrollWidth") <= 390
    _shots(artifacts, "case-group-phone", small)
    # The demo's group, eight sessions in, as the leader finds it.
    leader.goto(f"{server.base_url}/caseload")
    leader.get_by_role("link", name="Tuesday group").click()
    leader.wait_for_url(re.compile(r"/cases/[^/]+$"))
    assert leader.locator("#cohesion-trend").count() == 1
    _shots(artifacts, "case-demo-group-desktop", leader)
    watch.check()

"""End to end in headless Chromium: a client answers on a phone, the clinician sees the result.

The client's answers are chosen here, their scores are worked out with attunement's own scoring
engine, and the clinician's pages must show those numbers and the safety alert that an endorsed
PHQ-9 item 9 raises. A second test fills the client form with the keyboard alone.
"""

from __future__ import annotations

import random
import re

import pytest
from app_server import AppServer
from browser import DESKTOP, PHONE

from attunement.instruments import get_instrument, score
from attunement.profile import build_profile
from attunement.profile.parts import intake_parts
from attunement.store.demo import DEMO_LOGINS
from attunement.tailoring import tailor

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SAFETY_ITEM = "phq9_9"


class PageWatch:
    """Everything a page asked for and complained about: requests off the server, console errors."""

    def __init__(self, page, base_url: str):
        self.foreign: list[str] = []
        self.errors: list[str] = []
        page.on("request", self._request)
        page.on("response", self._response)
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.base = base_url

    def _request(self, request) -> None:
        url = request.url
        if not (url.startswith(self.base) or url.startswith(("data:", "about:"))):
            self.foreign.append(url)

    def _response(self, response) -> None:
        # A failed page or form post is checked by the test itself; a missing sub-resource is not.
        if response.status >= 400 and response.request.resource_type not in ("document",):
            self.errors.append(f"{response.status} {response.url}")

    def _console(self, message) -> None:
        # Chromium's own note on a failed load repeats what _response recorded, without the URL.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    def check(self) -> None:
        assert self.foreign == [], f"requests to other hosts: {self.foreign}"
        assert self.errors == [], f"console errors: {self.errors}"


def demo_login(server: AppServer, role: str = "clinician") -> tuple[str, str]:
    """The first demo log-in for ``role``, which ``attunement serve --demo`` must also print."""
    login = next(login for login in DEMO_LOGINS if login.role == role)
    assert f"{login.username} / {login.password}" in server.output()
    return login.username, login.password


def sign_in(page, server: AppServer, role: str = "clinician") -> None:
    username, password = demo_login(server, role)
    page.goto(f"{server.base_url}/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/(caseload|team|admin)$"))


def new_client_link(page, server: AppServer, reference: str, intake: str = "next") -> str:
    """Create a client through the clinician's pages and return the copyable client link
    (``intake``: the next part of the intake questions, or ``all`` of them)."""
    page.goto(f"{server.base_url}/clients/new")
    page.get_by_label("Reference").fill(reference)
    page.get_by_role("button", name="Create client").click()
    page.wait_for_url(re.compile(r"/clients/[^/]+$"))
    page.get_by_label("Intake questions").select_option(intake)
    page.get_by_role("button", name="Create a link").click()
    link = page.get_by_label("Client link").input_value()
    assert re.search(r"/c/[A-Za-z0-9_-]{32,}$", link), link
    return link if link.startswith("http") else server.base_url + link


def instruments_on(page) -> list[str]:
    ids = page.locator("section.questionnaire h2").evaluate_all("hs => hs.map(h => h.id)")
    return [i.removeprefix("title-") for i in ids]


def planned_answers(
    instruments: list[str], seed: int, every_intake_question: bool = False
) -> dict[str, dict[str, float]]:
    """A valid answer to every scored item, with the PHQ-9 safety item endorsed."""
    rng = random.Random(seed)
    plan: dict[str, dict[str, float]] = {}
    for name in instruments:
        inst = get_instrument(name)
        values = {}
        for link_id in inst.scoring.items:
            spec = inst.items[link_id]
            options = spec.allowed if spec.allowed is not None else range(int(spec.low), int(spec.high) + 1)
            values[link_id] = float(rng.choice(list(options)))
        plan[name] = values
    if "intake_profile" in plan and not every_intake_question:  # the first link asks part 1
        plan["intake_profile"] = {
            k: v for k, v in plan["intake_profile"].items() if k in intake_parts()[0].items
        }
    critical = get_instrument("phq9").scoring.critical_items[0]
    plan["phq9"][SAFETY_ITEM] = max(critical.min_value, 2.0)
    return plan


def shown(value: float, decimals: int = 0) -> str:
    return f"{value:.{decimals}f}"


def test_client_answers_on_a_phone_and_the_clinician_sees_scores_and_safety_alert(
    server, open_browser, artifacts
):
    clinician = open_browser(**DESKTOP).new_page()
    clinician_watch = PageWatch(clinician, server.base_url)
    sign_in(clinician, server)
    link = new_client_link(clinician, server, "E2E phone 01")

    phone = open_browser(**PHONE).new_page()
    watch = PageWatch(phone, server.base_url)
    phone.goto(link)
    assert phone.get_by_role("heading", level=1).inner_text().strip()
    instruments = instruments_on(phone)
    assert "phq9" in instruments
    assert "checkin" not in instruments, "before the first session there is no session to ask about"
    assert "intake_profile" in instruments, "a client's first link asks the intake questions"
    # Fits the phone: nothing scrolls sideways.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=artifacts / "phone-01-form.png", full_page=True)

    plan = planned_answers(instruments, seed=5)
    for values in plan.values():
        for link_id, value in values.items():
            group = phone.locator(f"fieldset#q-{link_id}")
            assert group.locator("legend").inner_text().strip(), f"{link_id} has no visible question"
            option = group.locator("label.option").filter(has=phone.locator(f'input[value="{value:g}"]'))
            box = option.bounding_box()
            assert box is not None and box["height"] >= 44, f"touch target of {link_id}={value:g}: {box}"
            option.tap()
            assert phone.locator(f'input[name="{link_id}"][value="{value:g}"]').is_checked()
    with phone.expect_navigation():
        phone.get_by_role("button", name="Send my answers").tap()
    assert phone.get_by_role("alert").count() == 0, phone.get_by_role("alert").all_inner_texts()
    assert phone.get_by_role("heading", level=1).inner_text().strip() == "Thank you"
    assert "received" in phone.get_by_role("status").inner_text()
    phone.screenshot(path=artifacts / "phone-02-thank-you.png", full_page=True)
    watch.check()

    totals = {name: score(get_instrument(name), values).total for name, values in plan.items()}
    clinician.goto(f"{server.base_url}/caseload")
    cards = clinician.locator("ul.cards > li")
    names = [t.strip() for t in cards.locator("h3 a").all_inner_texts()]
    position = names.index("E2E phone 01")
    classes = [c or "" for c in cards.evaluate_all("cs => cs.map(c => c.className)")]
    assert all("safety" in c for c in classes[: position + 1]), "open safety alerts come first"
    first_card = cards.nth(position)
    assert "Safety" in first_card.inner_text()
    assert f"PHQ-9\n{shown(totals['phq9'])}" in first_card.locator("dl.scores").inner_text()
    clinician.screenshot(path=artifacts / "clinician-01-caseload.png", full_page=True)

    first_card.get_by_role("link", name="E2E phone 01").click()
    alerts = clinician.locator("#alerts")
    assert alerts.locator("article.alert.safety").count() == 1
    row = clinician.locator("table.sessions tbody tr").first
    cells = [c.strip() for c in row.locator("th, td").all_inner_texts()]
    assert cells[0] == "1"
    assert re.match(r"\d{1,2} [A-Z][a-z]{2}( \d{4})?, \d{2}:\d{2}$", cells[2]), f"answered when: {cells[2]}"
    assert cells[3] == shown(totals["phq9"])
    if "gad7" in totals:
        assert cells[4] == shown(totals["gad7"])
    assert not re.search(r"\d", cells[5]), f"no check-in before the first session: {cells[5]}"
    # The intake answers become a profile and ranked recommendations, as the engine ranks them.
    expected = tailor(build_profile(plan["intake_profile"]))
    section = clinician.locator("#profile")
    if expected.recommendations:
        first = section.locator("li.recommendation").first.inner_text()
        assert expected.recommendations[0].title in first
        assert expected.recommendations[0].entry_name in first
    else:
        assert expected.notes[0] in section.inner_text()
    clinician.screenshot(path=artifacts / "clinician-02-client.png", full_page=True)
    clinician_watch.check()


def focused(page) -> dict:
    return page.evaluate(
        """() => {
        const e = document.activeElement;
        const label = e.closest('label');
        const styled = el => { const s = getComputedStyle(el);
            return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0 || s.boxShadow !== 'none'; };
        return {tag: e.tagName.toLowerCase(), type: e.type || '', name: e.name || '',
                value: e.value || '', text: (e.innerText || '').trim(),
                visible: e.matches(':focus-visible') && (styled(e) || (label !== null && styled(label)))};
    }"""
    )


def fill_with_keyboard(page, plan: dict[str, float], skip: set[str], comment: str | None) -> list[dict]:
    """Tab through the form, answering each radio group with Space / arrow keys; returns the stops."""
    stops = []
    for _ in range(400):
        page.keyboard.press("Tab")
        f = focused(page)
        stops.append(f)
        if f["type"] == "radio" and f["name"] in plan and f["name"] not in skip:
            wanted = f"{plan[f['name']]:g}"
            values = page.locator(f'input[name="{f["name"]}"]').evaluate_all("xs => xs.map(x => x.value)")
            if page.locator(f'input[name="{f["name"]}"]:checked').count() == 0:
                page.keyboard.press("Space")
            current = values.index(focused(page)["value"])
            for _ in range((values.index(wanted) - current) % len(values)):
                page.keyboard.press("ArrowRight")
            assert page.locator(f'input[name="{f["name"]}"][value="{wanted}"]').is_checked()
        elif f["tag"] == "textarea" and comment:
            page.keyboard.type(comment)
        elif f["tag"] == "button" and "Send" in f["text"]:
            with page.expect_navigation():
                page.keyboard.press("Enter")
            return stops
    raise AssertionError("never reached the send button with the Tab key")


def test_client_form_works_with_the_keyboard_alone(server, open_browser, artifacts):
    clinician = open_browser(**DESKTOP).new_page()
    sign_in(clinician, server)
    link = new_client_link(clinician, server, "E2E keyboard 01")

    page = open_browser(**DESKTOP).new_page()
    watch = PageWatch(page, server.base_url)
    page.goto(link)
    instruments = instruments_on(page)
    plan = {k: v for values in planned_answers(instruments, seed=11).values() for k, v in values.items()}
    skipped = "gad7_3" if "gad7" in instruments else "phq9_3"

    # First pass leaves one question out: the form comes back with a clear message and the
    # answers already given are kept.
    stops = fill_with_keyboard(page, plan, {skipped}, comment=None)
    radios = [s for s in stops if s["type"] == "radio"]
    assert radios and all(s["visible"] for s in radios), "every focused answer must show a focus ring"
    problems = page.get_by_role("alert")
    assert problems.count() == 1
    assert re.search(r"question 3\b", problems.inner_text())
    page.screenshot(path=artifacts / "keyboard-01-problem.png", full_page=True)
    for name, value in plan.items():
        if name != skipped:
            assert page.locator(f'input[name="{name}"][value="{value:g}"]').is_checked(), name

    # Second pass answers the missing question; everything else is already filled in.
    fill_with_keyboard(page, plan, set(), comment="Typed with the keyboard")
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Thank you"
    page.screenshot(path=artifacts / "keyboard-02-thank-you.png", full_page=True)
    watch.check()

    clinician.get_by_role("link", name="Back to E2E keyboard 01").click()
    assert "Typed with the keyboard" in clinician.locator("body").inner_text()

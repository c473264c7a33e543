"""End to end in headless Chromium: a client with a rich, conflicting intake profile, and the
clinician's client page at phone and desktop sizes.

The page must show the client's wishes, name each wish-versus-trait conflict, and show only a
handful of recommendations and cautions, with the rest one click away behind a <details>. The
expected lists come from attunement's own profile builder and tailoring engine.
"""

from __future__ import annotations

import pytest
from browser import DESKTOP, PHONE
from test_client_journey import PageWatch, instruments_on, new_client_link, planned_answers, sign_in

from attunement.profile import build_profile
from attunement.tailoring import tailor
from attunement.web.intake import SHOWN_CAUTIONS, SHOWN_RECOMMENDATIONS

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# Highly reactant but wants the therapist to lead; asks for skills work but copes inwards; a wish
# about the therapist, another language, culture and faith to be included, attachment anxiety.
RICH = {
    "ip_react_1": 5,
    "ip_react_2": 5,
    "ip_react_3": 4,
    "ip_pref_direction": 1,
    "ip_pref_emotion": 4,
    "ip_pref_time": 5,
    "ip_pref_support": 1,
    "ip_pref_tasks": 5,
    "ip_pref_therapy": 1,
    "ip_culture_wish": 1,
    "ip_rs_importance": 4,
    "ip_rs_include": 1,
    "ip_stage": 2,
    "ip_coping_stress": 1,
    "ip_coping_others": 1,
    "ip_attach_anxiety": 5,
    "ip_attach_avoidance": 4,
    "ip_support": 2,
    "ip_expect": 2,
}
TEXTS = {
    "ip_pref_therapist": "I would like a woman therapist",
    "ip_culture_background": "Polish, Catholic family",
    "ip_language": "Polish",
}


def _client_with_rich_profile(server, open_browser) -> str:
    clinician = open_browser(**DESKTOP).new_page()
    sign_in(clinician, server)
    link = new_client_link(clinician, server, "E2E rich profile", intake="all")
    client_url = clinician.url.removesuffix("/links")
    form = open_browser(**DESKTOP).new_page()
    form.goto(link)
    plan = planned_answers([i for i in instruments_on(form) if i != "intake_profile"], seed=11)
    plan["phq9"]["phq9_9"] = 0.0  # this test is about tailoring, not the safety alert
    for values in [*plan.values(), RICH]:
        for link_id, value in values.items():
            form.locator(f'input[name="{link_id}"][value="{value:g}"]').check()
    for link_id, text in TEXTS.items():
        form.locator(f'[name="{link_id}"]').fill(text)
    with form.expect_navigation():
        form.get_by_role("button", name="Send my answers").click()
    assert form.get_by_role("heading", level=1).inner_text().strip() == "Thank you"
    return client_url


def test_the_client_page_shows_the_wishes_and_a_handful_with_the_rest_one_click_away(
    server, open_browser, artifacts
):
    expected = tailor(build_profile({**RICH, **TEXTS}))
    assert len(expected.recommendations) > SHOWN_RECOMMENDATIONS and len(expected.cautions) > SHOWN_CAUTIONS
    assert {c.id for c in expected.conflicts} == {"lead_high_reactance", "skills_wish_insight_traits"}
    client_url = _client_with_rich_profile(server, open_browser)

    for size, options in (("phone", PHONE), ("desktop", DESKTOP)):
        page = open_browser(**options).new_page()
        watch = PageWatch(page, server.base_url)
        sign_in(page, server)
        page.goto(client_url)
        section = page.locator("#profile")
        visible_recs = section.locator("li.recommendation:visible")
        visible_cautions = section.locator("li.caution:visible")
        assert visible_recs.count() == SHOWN_RECOMMENDATIONS, size
        assert visible_cautions.count() == SHOWN_CAUTIONS, size
        titles = [t.split("\n")[0] for t in visible_recs.locator("h4").all_inner_texts()]
        assert all(r.title in t for r, t in zip(expected.recommendations, titles, strict=False)), titles
        # Every wish is shown, and each conflict is named rather than dropped.
        wishes = section.locator("ul.wishes").inner_text()
        for text in ("a woman therapist", "Polish", "therapist-led", "skills-focused therapy"):
            assert text in wishes, (size, text)
        assert section.locator("div.conflict").count() == 2
        assert "[unverified" not in section.inner_text() and "procrustean_bed" not in section.inner_text()
        if size == "phone":
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, "scrolls sideways"
        section.screenshot(path=artifacts / f"tailoring-{size}-closed.png")
        # One click opens all the rest.
        summary = section.locator("#more-recommendations summary")
        assert summary.inner_text().startswith(f"All {len(expected.recommendations)} recommendations")
        summary.click()
        assert visible_recs.count() == len(expected.recommendations)
        section.locator("#more-cautions summary").click()
        assert visible_cautions.count() == len(expected.cautions)
        section.screenshot(path=artifacts / f"tailoring-{size}-open.png")
        watch.check()

"""The intake profile on the web: asked at intake, stored with the submission, shown to the
clinician as a profile with ranked recommendations, and used to fill the alerts' support steps.

Expected recommendations and support steps are computed here with attunement's own profile
builder, tailoring engine and checklist, from the answers the test sends.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from markupsafe import escape
from sqlalchemy import select
from test_client_link import ANSWERS, submit
from web_clinic import issue_link

from attunement.alerts.support import support_steps
from attunement.instruments import get_instrument
from attunement.profile import build_profile
from attunement.profile.parts import intake_parts
from attunement.store.intake import current_intake
from attunement.store.models import Client, IntakeAnswers, LinkToken
from attunement.store.submissions import token_hash
from attunement.store.summary_store import summaries_for
from attunement.tailoring import tailor

# Strongly agrees with the reactance statements, wants to lead, no one to turn to, a life event.
INTAKE = {
    "ip_react_1": "5",
    "ip_react_2": "4",
    "ip_react_3": "5",
    "ip_pref_direction": "5",
    "ip_stage": "2",
    "ip_support": "3",
    "ip_life_events": "I lost my job in the spring",
}


def _profile(answers: dict[str, str]):
    values = {k: (v if k == "ip_life_events" else float(v)) for k, v in answers.items()}
    return build_profile(values)


def _all(clinic, session: int | str = "new") -> str:
    """A link asking every intake question at once, as a clinician may choose."""
    return issue_link(clinic, session, intake="all")


def _questions_on(page: str) -> set[str]:
    return set(re.findall(r'<fieldset class="question [a-z]+" id="q-([a-z0-9_]+)"', page)) | set(
        re.findall(r'<textarea id="([a-z0-9_]+)"', page)
    )


def _stated_count(page: str) -> int:
    return int(re.search(r"There are (\d+) questions on this page", page).group(1))


def test_the_intake_questions_come_a_part_at_a_time_with_the_first_links(clinic):
    parts = intake_parts()
    seen: list[set[str]] = []
    for number, part in enumerate(parts, start=1):
        path = issue_link(clinic, number)
        page = clinic.client().get(path).text
        intake = {q for q in _questions_on(page) if q.startswith("ip_")}
        assert intake == set(part.items), f"part {number}"
        assert f"{part.name}: {part.title}" in page
        # The page says how long it truly is: every question on it counted.
        assert _stated_count(page) == len(_questions_on(page))
        seen.append(intake)
        # Skipping every intake question still counts the part as asked.
        _, sent = submit(clinic, path, ANSWERS)
        assert sent.status_code == 303
    assert set().union(*seen) == set(get_instrument("intake_profile").items)
    # Once every part has been asked, a link asks none unless the clinician asks for them all.
    later = clinic.client().get(issue_link(clinic, len(parts) + 1)).text
    assert not any(q.startswith("ip_") for q in _questions_on(later))
    again = clinic.client().get(_all(clinic, len(parts) + 2)).text
    assert {q for q in _questions_on(again) if q.startswith("ip_")} == set(
        get_instrument("intake_profile").items
    )


def test_a_part_waiting_on_an_open_link_is_not_asked_twice_and_an_expired_one_is_asked_again(clinic):
    first = issue_link(clinic, 1)
    part_1, part_2 = intake_parts()[0], intake_parts()[1]
    second = clinic.client().get(issue_link(clinic, 2)).text
    assert {q for q in _questions_on(second) if q.startswith("ip_")} == set(part_2.items)
    # The first link expires unanswered: its part goes with the next link.
    with clinic.db.session() as db:
        link = db.scalar(
            select(LinkToken).where(LinkToken.token_hash == token_hash(first.removeprefix("/c/")))
        )
        link.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    third = clinic.client().get(issue_link(clinic, 3)).text
    assert {q for q in _questions_on(third) if q.startswith("ip_")} == set(part_1.items)
    # The clinician may leave the questions off a later link.
    none = clinic.client().get(issue_link(clinic, 4, intake="none")).text
    assert not any(q.startswith("ip_") for q in _questions_on(none))
    browser = clinic.login("clin_a")
    page = browser.get(f"/clients/{clinic.clients['of_a']}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    refused = browser.post(
        f"/clients/{clinic.clients['of_a']}/links",
        data={"episode": "1", "session": "new", "intake": "some", "csrf_token": token},
    )
    assert refused.status_code == 400 and "Intake questions" in refused.text


def test_answers_from_every_part_make_one_profile_and_a_later_answer_counts(clinic):
    reactance = {"ip_react_1": "5", "ip_react_2": "4", "ip_react_3": "5"}
    submit(clinic, issue_link(clinic, 1), {**ANSWERS, **reactance})
    submit(clinic, issue_link(clinic, 2), {**ANSWERS, "ip_rs_include": "3"})
    page = clinic.login("clin_a").get(f"/clients/{clinic.clients['of_a']}").text
    profile = _profile({**reactance, "ip_rs_include": "3"})
    for recommendation in tailor(profile).recommendations:
        assert str(escape(recommendation.title)) in page
    assert clinic.count("intake_answers") == 2  # each part's answers kept as sent
    # Asked again, a new answer to a question counts; a question left blank keeps the earlier one.
    submit(clinic, _all(clinic, 3), {**ANSWERS, "ip_rs_include": "1"})
    with clinic.db.session() as db:
        client = db.scalar(select(Client).where(Client.public_id == clinic.clients["of_a"]))
        merged = current_intake(db, [client.id])[client.id]
    assert merged["ip_rs_include"] == 1.0 and merged["ip_react_1"] == 5.0
    assert clinic.count("intake_answers") == 3


def test_intake_answers_are_stored_and_the_clinician_sees_the_derived_recommendations(clinic):
    _, response = submit(clinic, _all(clinic), {**ANSWERS, **INTAKE})
    assert response.status_code == 303
    assert clinic.count("intake_answers") == 1

    expected = tailor(_profile(INTAKE))
    assert expected.recommendations, "the test answers must lead to at least one recommendation"
    top = expected.recommendations[0]
    page = clinic.login("clin_a").get(f"/clients/{clinic.clients['of_a']}").text
    assert "Intake profile and recommendations" in page
    assert str(escape(top.title)) in page
    assert f'href="/evidence/{top.entry}"' in page and str(escape(top.strength_label)) in page
    # Plain names, and a verification status as one small explained mark, not a tag on every line.
    section = page[page.index('id="profile"') : page.index("</section>", page.index('id="profile"'))]
    assert "[unverified: recalled]" not in section and "[project choice]" not in section
    assert 'class="mark"' in section and "Not yet checked against the source" in section
    assert ">procrustean_bed<" not in section and "One approach for everyone" in section
    # The client's own wish is listed first, then at most a handful; the rest behind one click.
    assert section.index("What the client asked for") < section.index("Recommendations")
    assert section.count('class="recommendation"') == len(expected.recommendations)
    visible = section.split('<details class="more"')[0]
    assert visible.count('class="recommendation"') <= 3 and visible.count('class="caution"') <= 2
    # Ranked as the engine ranks them.
    positions = [page.index(str(escape(r.title))) for r in expected.recommendations]
    assert positions == sorted(positions)
    for caution in expected.cautions:
        assert str(escape(caution.title)) in page
    assert "I lost my job in the spring" in page

    # The supervisor of the team sees the same section, without the forms to change anything.
    supervised = clinic.login("super_a").get(f"/clients/{clinic.clients['of_a']}").text
    assert str(escape(top.title)) in supervised
    assert f"/clients/{clinic.clients['of_a']}/links" not in supervised

    # The evidence behind the recommendation opens in full.
    entry = clinic.login("clin_a").get(f"/evidence/{top.entry}")
    assert entry.status_code == 200 and str(escape(top.entry_name)) in entry.text


def test_alert_support_steps_are_filled_from_the_intake_profile(clinic):
    _, response = submit(clinic, _all(clinic), {**ANSWERS, "phq9_9": "2", **INTAKE})
    assert response.status_code == 303
    profile = _profile(INTAKE)
    with clinic.db.session() as db:
        client = db.scalar(select(Client).where(Client.public_id == clinic.clients["of_a"]))
        alert = next(
            a.alert for a in summaries_for(db, [client])[client.id].alerts if a.alert.kind == "safety"
        )
    fitted = support_steps(alert.kind, alert.reason, profile)
    generic = support_steps(alert.kind, alert.reason, None)
    assert tuple(alert.support) == fitted and fitted != generic
    page = clinic.login("clin_a").get(f"/clients/{clinic.clients['of_a']}").text
    for step in set(fitted) - set(generic):
        assert str(escape(step)) in page


def test_an_invalid_intake_answer_is_named_and_nothing_is_stored(clinic):
    path = _all(clinic)
    _, response = submit(clinic, path, {**ANSWERS, **INTAKE, "ip_stage": "9"})
    assert response.status_code == 400
    assert "Intake profile question 16" in response.text
    for table in ("measures", "submissions", "intake_answers"):
        assert clinic.count(table) == 0, table
    # The link still works, and skipping every intake question stores the questionnaires alone.
    _, retry = submit(clinic, path, ANSWERS)
    assert retry.status_code == 303
    assert clinic.count("submissions") == 1 and clinic.count("intake_answers") == 0


def test_sending_the_intake_twice_stores_it_once(clinic):
    path = _all(clinic)
    browser, first = submit(clinic, path, {**ANSWERS, **INTAKE})
    again = browser.post(
        path, data={**ANSWERS, **INTAKE, "csrf_token": browser.cookies.get("attunement_csrf")}
    )
    assert first.status_code == 303 and again.status_code == 200
    with clinic.db.session() as db:
        assert len(db.scalars(select(IntakeAnswers)).all()) == 1


def test_without_a_profile_the_page_says_so_and_offers_the_link_option(clinic):
    page = clinic.login("clin_a").get(f"/clients/{clinic.clients['of_a']}").text
    assert "No intake profile was collected" in page
    assert 'name="intake"' in page and "Part 1 of 3" in page


def test_intake_answers_may_come_as_the_forms_text_codes(clinic):
    coded = {
        **INTAKE,
        "ip_react_1": "strongly-agree",
        "ip_pref_direction": "strongly-b",
        "ip_support": "none",
    }
    _, response = submit(clinic, _all(clinic), {**ANSWERS, **coded})
    assert response.status_code == 303
    with clinic.db.session() as db:
        stored = db.scalars(select(IntakeAnswers)).one()
    assert tailor(build_profile(json.loads(stored.answers))) == tailor(_profile(INTAKE))


def test_the_language_check_follows_the_service_language_the_administrator_sets(clinic):
    submit(clinic, _all(clinic), {**ANSWERS, **INTAKE, "ip_language": "Polish"})
    page = clinic.login("clin_a").get(f"/clients/{clinic.clients['of_a']}").text
    assert "Check that sessions can be held in the client" in page and "Language for sessions" in page
    admin = clinic.login("admin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', admin.get("/admin/instruments").text).group(1)
    form = {"link_valid_days": "7", "timezone": "UTC", "csrf_token": token}
    refused = admin.post("/admin/instruments", data={**form, "service_language": "12345"})
    assert refused.status_code == 400 and "a language name" in refused.text
    saved = admin.post(
        "/admin/instruments", data={**form, "service_language": " polish "}, follow_redirects=False
    )
    assert saved.status_code == 303
    assert 'value="polish"' in admin.get("/admin/instruments").text
    page = clinic.login("clin_a").get(f"/clients/{clinic.clients['of_a']}").text
    section = page[page.index('id="profile"') : page.index("</section>", page.index('id="profile"'))]
    assert "Check that sessions can be held in the client" not in section
    assert "Language for sessions" in section  # the wish itself is still shown

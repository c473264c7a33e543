"""The pages of couples, families and groups, on SQLite and PostgreSQL: a case opened from the
caseload and its participants added, the case page (every participant on shared axes, the split
alliance with its reason and support steps), the group session page (every member's answers at
a glance, risk answers first, who has not answered) and links for every member at once."""

from __future__ import annotations

import re

from room_clinic import answer, open_case
from test_client_link import ANSWERS, submit
from web_clinic import csrf

PHQ9_RISK = {f"phq9_{i}": 1 for i in range(1, 9)} | {"phq9_9": 2}


def _post(browser, path: str, page: str, data: dict):
    token = csrf(browser, page)
    return browser.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def test_a_couple_is_opened_from_the_caseload_and_its_partners_added(clinic):
    clin_a = clinic.login("clin_a")
    assert "New couple, family or group" in clin_a.get("/caseload").text
    made = _post(clin_a, "/cases", "/cases/new", {"format": "couple", "label": "Couple 12"})
    assert made.status_code == 303
    case_path = made.headers["location"]
    for name in ("P-1", "P-2"):
        added = _post(clin_a, f"{case_path}/participants", case_path, {"role": "partner", "label": name})
        assert added.status_code == 303, added.text
    page = clin_a.get(case_path).text
    assert "P-1" in page and "P-2" in page and "No split alliance" in page
    caseload = clin_a.get("/caseload").text
    assert "Couple 12" in caseload and "P-1</a> (partner)" in caseload
    # A role a couple does not have is named in the form's words, nothing stored.
    refused = _post(clin_a, f"{case_path}/participants", case_path, {"role": "group_member", "label": "P-3"})
    assert refused.status_code == 400
    assert '<a href="#role">Role</a>' in refused.text and "P-3" in refused.text
    assert "P-3</a>" not in clin_a.get(case_path).text


def test_the_case_page_shows_both_partners_on_shared_axes_and_the_split(clinic):
    ids = open_case(clinic, "Couple K", "couple", [("Sam", "partner"), ("Alex", "partner")])
    for session, (sam, alex) in enumerate(zip([8, 7, 8, 8, 8, 2], [7, 8, 8, 7, 8, 8], strict=True), 1):
        answer(clinic, ids["Sam"], "partner", session, sam)
        answer(clinic, ids["Alex"], "partner", session, alex)
    page = clinic.login("clin_a").get(f"/cases/{ids['case']}").text
    assert page.count('class="attunement-chart room-chart"') == 1, "the relationship chart (no outcome yet)"
    assert "Sam (partner), session 6: 2" in page and "Alex (partner), session 6: 8" in page
    # Each partner's own page and caseload card show their own (family) check-in.
    clin_a = clinic.login("clin_a")
    assert 'id="relationship"' in clin_a.get(f"/clients/{ids['Sam']}").text
    card = clin_a.get("/caseload").text
    sam_card = card[card.find(f'href="/clients/{ids["Sam"]}"') :][:1500]
    assert re.search(r"<dt>Check-in</dt><dd>2(\.0)?</dd>", sam_card), sam_card
    room = page[page.find('id="room-h"') : page.find('id="charts-h"')]
    assert "Split alliance" in room and f'href="/clients/{ids["Sam"]}"' in room
    assert "Support steps" in room
    working = page[page.find('id="working-h"') : page.find('id="charts-h"')]
    assert "Working with a couple" in working and 'href="/evidence/' in working, (
        "recommendations with evidence"
    )
    # A supervisor of the team reads it; a clinician of another team finds no such page.
    supervisor = clinic.login("super_a")
    assert supervisor.get(f"/cases/{ids['case']}").status_code == 200
    team = supervisor.get("/team").text
    cases = team[team.find('id="cases-h"') :]
    assert f'href="/cases/{ids["case"]}"' in cases and "Therapists: " in cases
    assert "Sam</a> (partner)" in cases
    assert clinic.login("clin_other").get(f"/cases/{ids['case']}").status_code == 404


def test_the_group_session_page_puts_a_risk_answer_first_and_names_who_has_not_answered(clinic):
    people = [(f"M{n}", "group_member") for n in range(1, 5)]
    ids = open_case(clinic, "Group 7", "group", people)
    answer(clinic, ids["M1"], "group_member", 1, 8)
    answer(clinic, ids["M2"], "group_member", 1, 7)
    answer(clinic, ids["M3"], "group_member", 1, 8, {"phq9": PHQ9_RISK})
    page = clinic.login("clin_a").get(f"/cases/{ids['case']}/session").text
    rows = re.findall(r'<tr class="(\w*)">\s*<th scope="row"><a href="/clients/[^"]+">(M\d)</a>', page)
    assert rows[0] == ("risk", "M3"), rows
    assert ("waiting", "M4") in rows
    assert "3 of 4 answered" in page and "Not answered yet: M4." in page


def test_one_click_makes_a_link_for_every_member_for_their_own_form(clinic):
    people = [(f"M{n}", "group_member") for n in range(1, 4)]
    ids = open_case(clinic, "Group 7", "group", people)
    clin_a = clinic.login("clin_a")
    made = _post(clin_a, f"/cases/{ids['case']}/links", f"/cases/{ids['case']}", {"session": "1"})
    assert made.status_code == 200, made.text
    paths = re.findall(r'value="https?://[^/"]+(/c/[^"]+)"', made.text)
    assert len(paths) == 3
    first = clinic.client().get(paths[0])
    assert first.status_code == 200
    answered = submit(clinic, paths[0], {k: v for k, v in ANSWERS.items() if not k.startswith("checkin")})[1]
    assert answered.status_code == 303
    again = _post(clin_a, f"/cases/{ids['case']}/links", f"/cases/{ids['case']}", {"session": "1"})
    assert len(re.findall(r'value="https?://[^/"]+(/c/[^"]+)"', again.text)) == 2
    assert "answered this session already" in again.text
    wrong = _post(clin_a, f"/cases/{ids['case']}/links", f"/cases/{ids['case']}", {"session": "9"})
    assert wrong.status_code == 400 and '<a href="#links-session">For</a>' in wrong.text


def test_a_young_persons_link_carries_their_check_in_and_plain_words(clinic):
    from sqlalchemy import select

    from attunement.instruments.roles import checkin_for
    from attunement.store.models import LinkToken
    from attunement.store.submissions import token_hash

    people = [("Mum", "parent"), ("Dad", "parent"), ("Jo", "young_person")]
    ids = open_case(clinic, "Family R", "family", people)
    answer(clinic, ids["Mum"], "parent", 1, 8)
    clin_a = clinic.login("clin_a")
    made = _post(clin_a, f"/cases/{ids['case']}/links", f"/cases/{ids['case']}", {"session": "2"})
    paths = dict(
        re.findall(
            r"<strong>(\w+)</strong>[^<]*</label>\s*<input[^>]+value=\"https?://[^/\"]+(/c/[^\"]+)\"",
            made.text,
        )
    )
    assert set(paths) == {"Mum", "Dad", "Jo"}, made.text
    with clinic.db.session() as db:
        carried = {
            name: db.scalar(select(LinkToken.instruments).where(LinkToken.token_hash == token_hash(p[3:])))
            for name, p in paths.items()
        }
    assert checkin_for("young_person") in carried["Jo"].split(",")
    assert checkin_for("parent") in carried["Mum"].split(",")
    assert not any(i.startswith("intake") for i in carried["Jo"].split(",")), "adult wording"
    assert any(i.startswith("intake") for i in carried["Mum"].split(","))
    young = clinic.client().get(paths["Jo"]).text
    assert "There are no right or wrong answers" in young and "an adult you" in young
    adult = clinic.client().get(paths["Mum"]).text
    assert "There are no right or wrong answers" not in adult

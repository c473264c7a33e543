"""Every form a person fills in says its problems in plain words: the label the page shows for
the field, linked to that field on the page shown again, with what was entered kept there and
nothing stored. One test per form, and a contract: each field :data:`FORMS` names is on its page."""

from __future__ import annotations

import html
import re

from sqlalchemy import select
from web_clinic import csrf, issue_link

from attunement.store.models import EpisodeEvent, SupervisionNote, User
from attunement.web.plain_errors import FORMS

#: How the core's own message reads, or a field's internal name; a web page never shows them.
DEVELOPER = re.compile(
    r"got ['“\"]|expected (a|an|one|the) |>link_valid_days|link_valid_days<|new therapist</|what to record</"
)
PHQ9 = {f"phq9_{i}": "1" for i in range(1, 10)}
GAD7 = {f"gad7_{i}": "2" for i in range(1, 8)}


def _page(response) -> str:
    return html.unescape(" ".join(response.text.split()))


def said(response, label: str, field_id: str, *kept: str) -> str:
    """The page names the field by ``label``, links to ``field_id`` (which is on the page), says
    no developer words and keeps each of ``kept``; returns the page."""
    assert response.status_code == 400, response.status_code
    page = _page(response)
    assert f'<a href="#{field_id}">{label}</a>: ' in page, page[page.find("problems") :][:600]
    assert f'id="{field_id}"' in page
    assert not DEVELOPER.search(page), DEVELOPER.search(page).group(0)
    for value in kept:
        assert value in page, value
    return page


def _user_id(clinic, name: str) -> int:
    with clinic.db.session() as db:
        return db.scalar(select(User.id).where(User.username == name))


def _client_form(clinic, who: str = "clin_a") -> tuple:
    browser = clinic.login(who)
    public_id = clinic.clients["of_a"]
    return browser, public_id, csrf(browser, f"/clients/{public_id}")


def _safety_alert(clinic) -> None:
    path = issue_link(clinic, "new")
    browser = clinic.client()
    token = csrf(browser, path)
    answered = browser.post(path, data={**PHQ9, **GAD7, "phq9_9": "2", "csrf_token": token})
    assert answered.status_code in (200, 303)


def test_a_role_change_names_the_team_in_that_users_row_and_keeps_the_choice(clinic):
    browser = clinic.login("admin")
    clin_b = _user_id(clinic, "clin_b")
    token = csrf(browser, "/admin")
    response = browser.post(
        f"/admin/users/{clin_b}/role", data={"role": "supervisor", "team_id": "", "csrf_token": token}
    )
    page = said(response, "Team", f"team-{clin_b}")
    assert "a supervisor needs a team. Choose their team." in page
    row = page[page.find(f'id="role-{clin_b}"') :][:400]
    assert '<option value="supervisor" selected>' in row, "the role chosen is kept in that row"
    assert '<details class="user-changes" open>' in page
    with clinic.db.session() as db:
        assert db.get(User, clin_b).role == "clinician"


def test_a_wrong_safety_notice_address_is_kept_in_its_row(clinic):
    browser = clinic.login("admin")
    clin_b = _user_id(clinic, "clin_b")
    token = csrf(browser, "/admin")
    response = browser.post(
        f"/admin/users/{clin_b}/email", data={"email": "not an address", "csrf_token": token}
    )
    said(response, "E-mail for safety notices", f"email-{clin_b}", 'value="not an address"')
    assert 'id="username" name="username" required value=""' in _page(response), "not in the new-user form"


def test_moving_clients_to_no_clinician_names_the_list(clinic):
    browser = clinic.login("admin")
    clin_b = _user_id(clinic, "clin_b")
    token = csrf(browser, "/admin")
    response = browser.post(f"/admin/users/{clin_b}/reassign", data={"to": "999", "csrf_token": token})
    said(response, "Move all their clients to", f"to-{clin_b}", "choose a clinician from the list.")


def test_a_refused_wording_upload_says_which_field_and_keeps_the_licence(clinic):
    browser = clinic.login("admin")
    token = csrf(browser, "/admin/instruments")
    response = browser.post(
        "/admin/instruments/wording",
        data={
            "instrument": "core10",
            "licence_statement": "Licensed to Our Clinic",
            "supplied_by": "Dr A",
            "csrf_token": token,
        },
        files={"questionnaire": ("q.json", b"not json", "application/json")},
    )
    page = said(response, "Questionnaire file", "wording-file", ">Licensed to Our Clinic</textarea>")
    assert "The wording was not stored" in page


def test_an_alert_record_without_what_was_done_keeps_the_ticks_and_the_outcome(clinic):
    _safety_alert(clinic)
    browser, public_id, token = _client_form(clinic)
    page = browser.get(f"/clients/{public_id}").text
    alert = re.search(r'name="alert" value="(\d+)"', page).group(1)
    response = browser.post(
        f"/clients/{public_id}/alerts",
        data={
            "episode": "1",
            "alert": [alert],
            "what": "record",
            "outcome": "Will call back",
            "csrf_token": token,
        },
    )
    said(response, "What was done", "alert-action", ">Will call back</textarea>", f'value="{alert}" checked')


def test_a_measure_not_offered_is_named_and_the_ticks_kept(clinic):
    browser, public_id, token = _client_form(clinic)
    response = browser.post(
        f"/clients/{public_id}/measures", data={"episode": "1", "measure": ["astrology"], "csrf_token": token}
    )
    page = said(response, "Measures on the next links", "measure-list")
    assert 'name="measure" value="gad7" checked' not in page, "the boxes show what was sent"


def test_ending_an_episode_with_a_wrong_date_keeps_the_reason_and_note(clinic):
    browser, public_id, token = _client_form(clinic)
    response = browser.post(
        f"/clients/{public_id}/episode/end",
        data={
            "episode": "1",
            "reason": "completed",
            "date": "2999-01-01",
            "note": "Goals met",
            "csrf_token": token,
        },
    )
    page = said(response, "End date", "end-date", ">Goals met</textarea>", 'value="completed" selected')
    assert 'id="plan-date" name="date" type="date"' in page and 'value="2999-01-01" required' not in page
    with clinic.db.session() as db:
        assert db.scalar(select(EpisodeEvent.action).where(EpisodeEvent.action == "ended")) is None


def test_a_link_for_a_session_not_offered_names_the_choice(clinic):
    browser, public_id, token = _client_form(clinic)
    response = browser.post(
        f"/clients/{public_id}/links", data={"episode": "1", "session": "77", "csrf_token": token}
    )
    said(response, "For", "link-session")
    assert clinic.count("link_tokens") == 0


def test_a_page_left_open_on_another_episode_is_said_plainly(clinic):
    browser, public_id, token = _client_form(clinic)
    response = browser.post(
        f"/clients/{public_id}/sessions", data={"episode": "7", "date": "2030-01-01", "csrf_token": token}
    )
    assert response.status_code == 400
    page = _page(response)
    assert "<strong>Episode</strong>: this page was out of date" in page and not DEVELOPER.search(page)


def test_a_rating_with_an_unknown_way_of_working_keeps_the_answers(clinic):
    browser, public_id, token = _client_form(clinic)
    answers = {
        f"checkin_therapist_{c}": "7" for c in ("heard", "topics", "goals", "respected", "fit", "judged")
    }
    response = browser.post(
        f"/clients/{public_id}/rating",
        data={**answers, "episode": "1", "session": "new", "approach": "astrology", "csrf_token": token},
    )
    page = said(response, "Way of working", "approach")
    assert len(re.findall(r'value="7"[^>]*checked', page)) == 6
    assert clinic.count("submissions") == 0


def test_a_rating_left_unanswered_names_the_question_as_the_form_shows_it(clinic):
    browser, public_id, token = _client_form(clinic)
    response = browser.post(
        f"/clients/{public_id}/rating",
        data={"checkin_therapist_heard": "8", "episode": "1", "session": "new", "csrf_token": token},
    )
    page = _page(response)
    assert response.status_code == 400 and '<a href="#q-checkin_therapist_topics">' in page
    assert 'id="q-checkin_therapist_topics"' in page and re.search(
        r'name="checkin_therapist_heard" value="8"[^>]*checked', page
    )
    assert "please choose an answer." in page and not DEVELOPER.search(page)


def test_supervision_forms_name_their_fields_and_keep_what_was_typed(clinic):
    browser = clinic.login("super_a")
    public_id = clinic.clients["of_a"]
    token = csrf(browser, f"/clients/{public_id}")
    empty = browser.post(
        f"/clients/{public_id}/notes", data={"what": "write", "note": "  ", "csrf_token": token}
    )
    said(empty, "Note", "supervision-note")
    moved = browser.post(
        f"/clients/{public_id}/therapist", data={"to": "999", "why": "Caseload balance", "csrf_token": token}
    )
    said(moved, "New therapist", "move-to", 'value="Caseload balance"')
    long = "x" * 600
    flagged = browser.post(
        f"/clients/{public_id}/flag", data={"flag": "raise", "why": long, "csrf_token": token}
    )
    said(flagged, "Why", "flag-why", f'value="{long}"')
    with clinic.db.session() as db:
        assert db.scalar(select(SupervisionNote.id)) is None


def test_a_correction_of_a_note_is_said_in_that_notes_form(clinic):
    browser = clinic.login("super_a")
    public_id = clinic.clients["of_a"]
    token = csrf(browser, f"/clients/{public_id}")
    browser.post(f"/clients/{public_id}/notes", data={"what": "write", "note": "First", "csrf_token": token})
    with clinic.db.session() as db:
        note = db.scalar(select(SupervisionNote.id))
    response = browser.post(
        f"/clients/{public_id}/notes",
        data={"what": "correct", "note_id": str(note), "note": "First", "csrf_token": token},
    )
    said(response, "Corrected note", f"correct-{note}", "the corrected note is the same as before")


def test_activating_a_model_no_longer_stored_is_said_plainly(clinic):
    browser = clinic.login("admin")
    token = csrf(browser, "/admin/models")
    response = browser.post("/admin/models/999/activate", data={"csrf_token": token})
    said(response, "Model", "models-h", "that model is no longer stored.")


def test_the_client_is_told_which_question_is_unanswered_and_keeps_their_answers(clinic):
    path = issue_link(clinic, "new")
    browser = clinic.client()
    token = csrf(browser, path)
    answers = {**PHQ9, **GAD7}
    del answers["phq9_4"]
    response = browser.post(path, data={**answers, "gad7_3": "3", "csrf_token": token})
    page = _page(response)
    assert response.status_code == 400
    link = re.search(r'<a href="#q-phq9_4">([^<]+)</a>: please choose an answer\.', page)
    assert link and link.group(1).startswith("PHQ-9 question 4 (Feeling tired"), page[:2000]
    assert 'id="q-phq9_4"' in page and 'aria-invalid="true"' in page
    assert re.search(r'name="gad7_3" value="3"[^>]*checked', page), "the answers given are kept"
    assert not DEVELOPER.search(page) and clinic.count("submissions") == 0


def _a_couple(clinic) -> str:
    """The page of a couple of clin_a's with one partner."""
    from attunement.store.cases import add_participant, create_case

    with clinic.db.session() as db:
        clin_a = db.scalar(select(User).where(User.username == "clin_a"))
        case = create_case(db, clin_a, "Couple A", "couple")
        add_participant(db, clin_a, case, "partner", label="K-1")
        return f"/cases/{case.public_id}"


def _a_young_person(clinic) -> str:
    """The public id of a young person in a family of clin_a's."""
    from attunement.store.cases import add_participant, create_case

    with clinic.db.session() as db:
        clin_a = db.scalar(select(User).where(User.username == "clin_a"))
        case = create_case(db, clin_a, "Family A", "family")
        return add_participant(db, clin_a, case, "young_person", label="Y-1").client.public_id


def test_a_new_case_without_a_reference_or_format_names_both_and_keeps_nothing(clinic):
    browser = clinic.login("clin_a")
    token = csrf(browser, "/cases/new")
    response = browser.post("/cases", data={"label": "", "csrf_token": token})
    said(response, "Reference", "label")
    said(response, "Who is seen together?", "format")
    assert clinic.count("cases") == 0


def test_a_co_therapist_who_is_not_a_clinician_is_named_in_the_case_pages_words(clinic):
    browser = clinic.login("clin_a")
    path = _a_couple(clinic)
    token = csrf(browser, path)
    response = browser.post(f"{path}/therapists", data={"username": "super_a", "csrf_token": token})
    said(response, "Add a co-therapist (their user name)", "username", "super_a")
    assert clinic.count("case_therapists") == 1


def _ids(page: str) -> set[str]:
    return set(re.findall(r'id="([^"]+)"', page))


def test_every_field_named_in_forms_is_on_the_page_that_shows_the_form(clinic):
    _safety_alert(clinic)
    public_id = clinic.clients["of_a"]
    clinician = clinic.login("clin_a")
    client_page = clinician.get(f"/clients/{public_id}").text
    supervisor = clinic.login("super_a")
    token = csrf(supervisor, f"/clients/{public_id}")
    supervisor.post(
        f"/clients/{public_id}/notes", data={"what": "write", "note": "A note", "csrf_token": token}
    )
    with clinic.db.session() as db:
        note = db.scalar(select(SupervisionNote.id))
    supervised = supervisor.get(f"/clients/{public_id}").text
    admin = clinic.login("admin")
    clin_b = _user_id(clinic, "clin_b")
    case_page = clinician.get(_a_couple(clinic)).text
    young_page = clinician.get(f"/clients/{_a_young_person(clinic)}").text
    pages = {
        "new_client": (clinician.get("/clients/new").text, ""),
        "new_case": (clinician.get("/cases/new").text, ""),
        **{key: (case_page, "") for key in ("people-h", "leave-h", "therapists-h", "links-h")},
        "caregiver-h": (young_page, ""),
        "admin": (admin.get("/admin").text, ""),
        "admin_export": (admin.get("/admin").text, ""),
        "admin_user": (admin.get("/admin").text, clin_b),
        "settings": (admin.get("/admin/instruments").text, ""),
        "wording": (admin.get("/admin/instruments").text, ""),
        "models": (admin.get("/admin/models").text, ""),
        "account": (clinician.get("/account").text, ""),
        "note-h": (supervised, ""),
        "correct-note": (supervised, note),
        "flag-h": (supervised, ""),
        "move-h": (supervised, ""),
    }
    for key in (
        "sessions-h",
        "plan-h",
        "alerts",
        "measures-h",
        "messages-h",
        "link-h",
        "contact-h",
        "schedule-h",
    ):
        pages[key] = (client_page, "")
    # The episode's forms: ending while active, a new episode once ended.
    ended = clinician.post(
        f"/clients/{public_id}/episode/end",
        data={"episode": "1", "reason": "completed", "csrf_token": csrf(clinician, f"/clients/{public_id}")},
    )
    assert ended.status_code == 200
    pages["episode-h"] = (client_page + clinician.get(f"/clients/{public_id}").text, "")
    missing = []
    for key, fields in FORMS.items():
        if key == "set_password":  # shown only from a one-time link; checked in test_accounts
            continue
        page, row = pages[key]
        for name, field in fields.items():
            if field.id and field.id.replace("{}", str(row)) not in _ids(page):
                missing.append(f"{key}: {name} -> #{field.id}")
    assert not missing, missing
    assert set(FORMS) - {"set_password"} == set(pages)

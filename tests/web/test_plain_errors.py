"""What a person sees when a form is wrong: a sentence with the form's own label for the field,
linked to it, the field marked for screen readers, and the form filled with what was entered;
nothing stored."""

from __future__ import annotations

import html
import re

from sqlalchemy import select
from web_clinic import csrf

from attunement.errors import FieldProblem
from attunement.store.models import Team
from attunement.store.settings import get_setting
from attunement.web.form_values import entered
from attunement.web.plain_errors import FORMS, say

#: How the core's own message reads; a web page never shows it.
DEVELOPER = re.compile(r"got ['“\"][^<]*['”\"], expected|</strong>: got |</a>: got ")


def _text(response) -> str:
    return html.unescape(" ".join(response.text.split()))


def test_a_problem_reads_as_a_sentence_with_the_forms_label():
    said = say(
        FieldProblem("label", "Client 31", "a reference not already in your caseload"), FORMS["new_client"]
    )
    assert (said.id, said.label) == ("label", "Reference")
    assert said.message == "you already have a client called “Client 31”. Choose another reference."
    generic = say(FieldProblem("time zone", "Mars/Base", "a time zone name such as UTC"), FORMS["settings"])
    assert generic.label == "The clinic's time zone" and "Mars/Base" in generic.message
    assert generic.message.endswith("Please enter a time zone name such as UTC.")
    kept = entered(
        {"label": "A-1", "csrf_token": "t", "password": "p", "again": "p", "current": "c"}, offer=["x"]
    )
    assert kept == {"label": "A-1", "offer": ["x"]}
    # The core's own text, for the command line and JSON, is unchanged.
    assert str(FieldProblem("label", "x", "y")) == "label: got 'x', expected y"


def test_a_duplicate_reference_is_said_plainly_and_the_form_keeps_it(clinic):
    browser = clinic.login("clin_a")
    before = clinic.count("clients")
    token = csrf(browser, "/clients/new")
    response = browser.post("/clients", data={"label": "A-1", "client_group": "evening", "csrf_token": token})
    assert response.status_code == 400
    page = _text(response)
    assert (
        '<a href="#label">Reference</a>: you already have a client called “A-1”. Choose another reference.'
        in page
    )
    assert not DEVELOPER.search(page)
    assert 'aria-invalid="true" aria-describedby="problem-1 label-hint" value="A-1"' in page
    assert 'id="problem-1"' in page and 'value="evening"' in page
    assert clinic.count("clients") == before


def test_the_admin_keeps_the_new_users_team_and_role_after_a_problem(clinic):
    browser = clinic.login("admin")
    with clinic.db.session() as db:
        team_b = db.scalar(select(Team).where(Team.name == "Team B")).id
    token = csrf(browser, "/admin")
    form = {"username": "clin_a", "display_name": "Dr Second", "email": "second@clinic.example"}
    response = browser.post(
        "/admin/users", data={**form, "role": "supervisor", "team_id": str(team_b), "csrf_token": token}
    )
    assert response.status_code == 400
    page = _text(response)
    assert '<a href="#username">User name</a>: someone already has the user name “clin_a”.' in page
    assert not DEVELOPER.search(page)
    for value in form.values():
        assert f'value="{value}"' in page
    assert f'<option value="{team_b}" selected>Team B</option>' in page
    assert '<option value="supervisor" selected>supervisor</option>' in page
    assert 'id="username" name="username" required aria-invalid="true"' in page
    assert clinic.count("users") == 5


def test_the_admin_settings_come_back_as_entered_after_a_bad_value(clinic):
    browser = clinic.login("admin")
    token = csrf(browser, "/admin/instruments")
    sent = {
        "link_valid_days": "90",
        "timezone": "Europe/Warsaw",
        "service_language": "Polish",
        "crisis_text": "Call the clinic on 0100 000 000",
        "client_progress_chart": "yes",
        "service_type": "substance_use",
        "csrf_token": token,
    }
    response = browser.post("/admin/instruments", data=sent)
    assert response.status_code == 400
    page = _text(response)
    assert (
        '<a href="#days">Links expire after (days)</a>: “90” is not a number of days the links can last. '
        "Enter a whole number from 1 to 60." in page
    )
    assert not DEVELOPER.search(page) and "link_valid_days</" not in page
    assert 'aria-invalid="true" aria-describedby="problem-1" value="90"' in page
    for kept in ('value="Europe/Warsaw"', 'value="Polish"', ">Call the clinic on 0100 000 000</textarea>"):
        assert kept in page
    assert 'name="client_progress_chart" value="yes" checked' in page
    assert 'value="substance_use" selected' in page
    with clinic.db.session() as db:
        assert get_setting(db, "timezone") != "Europe/Warsaw"
        assert get_setting(db, "service_language") != "Polish"


def test_a_session_planned_without_a_date_is_said_plainly_and_keeps_the_time(clinic):
    browser = clinic.login("clin_a")
    public_id = clinic.clients["of_a"]
    token = csrf(browser, f"/clients/{public_id}")
    before = clinic.count("therapy_sessions")
    response = browser.post(
        f"/clients/{public_id}/sessions",
        data={"episode": "1", "date": "next tuesday", "time": "14:30", "csrf_token": token},
    )
    assert response.status_code == 400
    page = _text(response)
    assert (
        '<a href="#plan-date">Date</a>: “next tuesday” cannot be used here. Please enter a date such as'
        in page
    )
    assert not DEVELOPER.search(page)
    assert 'value="next tuesday" required aria-invalid="true" aria-describedby="problem-1"' in page
    assert 'value="14:30"' in page
    assert clinic.count("therapy_sessions") == before


def test_a_password_change_keeps_no_password_in_the_form(clinic):
    browser = clinic.login("clin_a")
    token = csrf(browser, "/account")
    response = browser.post(
        "/account/password",
        data={"current": "wrong-password!", "password": "short", "again": "other", "csrf_token": token},
    )
    assert response.status_code == 400
    page = _text(response)
    assert '<a href="#current">Current password</a>: that is not your current password.' in page
    assert '<a href="#password">New password</a>: the new password has 5 characters.' in page
    assert not DEVELOPER.search(page)
    assert "wrong-password!" not in page and 'value="short"' not in page

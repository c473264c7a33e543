"""A client who says they felt judged, criticised or pushed: the clinician sees it on the client
page as its own alert, with the client's answer in the reason and the support steps for it."""

from __future__ import annotations

import html

from test_client_link import ANSWERS, submit
from web_clinic import WITH_CHECKIN, alert_ids, issue_link

#: Every other check-in item at the top of the scale: the total alone looks fine.
WELL = {**ANSWERS, **{f"checkin_{c}": "10" for c in ("heard", "topics", "goals", "respected", "fit")}}


def client_page(clinic) -> str:
    return html.unescape(clinic.login("clin_a").get(f"/clients/{clinic.clients['of_a']}").text)


def test_a_high_judged_answer_shows_the_alert_with_its_reason_and_support_steps(clinic):
    _, response = submit(
        clinic, issue_link(clinic, issued_with=WITH_CHECKIN), {**WELL, "checkin_judged": "7"}
    )
    assert response.status_code == 303
    page = client_page(clinic)
    assert "negative_process" in alert_ids(page).values()
    assert "Felt judged or criticised" in page
    assert 'answered 7 out of 10 to "I felt judged, criticised or pushed"' in page
    assert "do not defend yourself, explain it away or argue" in page  # a support step


def test_a_low_judged_answer_shows_no_such_alert(clinic):
    _, response = submit(
        clinic, issue_link(clinic, issued_with=WITH_CHECKIN), {**WELL, "checkin_judged": "1"}
    )
    assert response.status_code == 303
    page = client_page(clinic)
    assert "negative_process" not in alert_ids(page).values()
    assert "Felt judged or criticised" not in page


def test_a_rise_against_the_clients_own_answers_shows_the_alert_after_later_submissions(clinic):
    for session, judged in enumerate(("1", "1", "1", "5"), start=1):
        _, response = submit(
            clinic, issue_link(clinic, session, issued_with=WITH_CHECKIN), {**WELL, "checkin_judged": judged}
        )
        assert response.status_code == 303
    page = client_page(clinic)
    assert "negative_process" in alert_ids(page).values()
    assert "4 points above their usual answer of 1 (mean of 3 earlier answers)" in page

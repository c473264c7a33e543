"""The client's link: valid, invalid, repeated and expired submissions; nothing partial is stored."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from web_clinic import csrf, issue_link

from attunement.store.clock import now
from attunement.store.models import KeptAlert, LinkToken, Submission

PHQ9 = {f"phq9_{i}": "1" for i in range(1, 10)}
GAD7 = {f"gad7_{i}": "2" for i in range(1, 8)}
CHECKIN = {f"checkin_{c}": "8" for c in ("heard", "topics", "goals", "respected", "fit", "judged")}
ANSWERS = {**PHQ9, **GAD7, **CHECKIN}
ROWS = len(PHQ9) + len(GAD7) + len(CHECKIN)


def issue(clinic, session: int | str = "new") -> str:
    return issue_link(clinic, session)


def after_first(clinic) -> str:
    """A link for session 2 (session 1 has a link waiting): the check-in asks about session 1."""
    issue_link(clinic, 1)
    return issue_link(clinic, 2)


def submit(clinic, path: str, answers: dict[str, str]):
    browser = clinic.client()
    token = csrf(browser, path)
    return browser, browser.post(path, data={**answers, "csrf_token": token}, follow_redirects=False)


def test_the_form_shows_every_question_including_the_safety_item(clinic):
    page = clinic.client().get(after_first(clinic))
    assert page.status_code == 200
    for field in ANSWERS:
        assert f'name="{field}"' in page.text
    assert "Thoughts that you would be better off dead" in page.text
    assert 'name="checkin_different"' in page.text


def test_a_link_before_the_first_session_leaves_out_the_check_in_but_never_the_safety_item(clinic):
    path = issue(clinic, 1)
    page = clinic.client().get(path)
    assert "Thoughts that you would be better off dead" in page.text
    assert "today's session" not in page.text and 'name="checkin_heard"' not in page.text
    # Check-in answers sent anyway (an old page) are not stored; the rest is.
    _, response = submit(clinic, path, {**ANSWERS, "phq9_9": "2", "checkin_different": "x"})
    assert response.status_code == 303
    assert clinic.count("measures") == len(PHQ9) + len(GAD7)
    with clinic.db.session() as db:
        assert db.scalar(select(Submission.comment)) is None
        assert db.scalar(select(KeptAlert.kind)) == "safety", "the risk answer raised its alert"


def test_a_valid_submission_is_stored_once_and_thanked(clinic):
    path = after_first(clinic)
    browser, response = submit(clinic, path, {**ANSWERS, "checkin_different": "slower please"})
    assert response.status_code == 303
    assert clinic.count("measures") == ROWS
    thanks = browser.get(path)
    assert thanks.status_code == 200 and "Thank you" in thanks.text
    # Sending the same link again is safe: acknowledged, nothing stored twice.
    resend = {**ANSWERS, "csrf_token": browser.cookies.get("attunement_csrf")}
    again = browser.post(path, data=resend, follow_redirects=False)
    assert again.status_code == 303
    assert clinic.count("measures") == ROWS
    assert clinic.count("submissions") == 1


def test_a_missing_answer_is_named_and_nothing_is_stored(clinic):
    path = after_first(clinic)
    answers = {k: v for k, v in ANSWERS.items() if k != "phq9_9"}
    _, response = submit(clinic, path, answers)
    assert response.status_code == 400
    assert "PHQ-9 question 9" in response.text
    assert clinic.count("measures") == 0
    # The link still works after the error, and earlier answers are kept on the page.
    assert 'value="1" required\n          checked' in response.text or "checked" in response.text
    _, retry = submit(clinic, path, ANSWERS)
    assert retry.status_code == 303
    assert clinic.count("measures") == ROWS


def test_an_out_of_range_answer_is_named_and_nothing_is_stored(clinic):
    path = after_first(clinic)
    _, response = submit(clinic, path, {**ANSWERS, "gad7_3": "7", "checkin_fit": "eleven"})
    assert response.status_code == 400
    assert "GAD-7 question 3" in response.text and "Check-in question 5" in response.text
    assert clinic.count("measures") == 0 and clinic.count("submissions") == 0


def test_an_expired_link_is_refused_and_stores_nothing(clinic):
    path = issue(clinic)
    with clinic.db.session() as db:
        db.execute(update(LinkToken).values(expires_at=now() - timedelta(minutes=1)))
    browser = clinic.client()
    assert browser.get(path).status_code == 410
    token = csrf(browser, "/login")
    response = browser.post(path, data={**ANSWERS, "csrf_token": token})
    assert response.status_code == 410
    assert clinic.count("measures") == 0


def test_an_unknown_link_is_not_found(clinic):
    assert clinic.client().get("/c/not-a-real-token").status_code == 404


def test_only_the_token_hash_is_stored(clinic):
    path = issue(clinic)
    token = path.removeprefix("/c/")
    with clinic.db.session() as db:
        stored = db.query(LinkToken).one()
        assert stored.token_hash != token and token not in stored.token_hash


def test_a_safety_answer_puts_the_client_first_with_a_safety_alert(clinic):
    browser = clinic.login("clin_a")
    token = csrf(browser, "/clients/new")
    browser.post("/clients", data={"label": "A-0 first by name", "csrf_token": token})
    _, response = submit(clinic, issue(clinic), {**ANSWERS, "phq9_9": "2"})
    assert response.status_code == 303
    caseload = browser.get("/caseload").text
    assert "badge safety" in caseload
    # The client with the safety alert comes before a client whose label sorts first.
    assert caseload.index("A-1") < caseload.index("A-0 first by name")


def test_short_answers_sit_two_to_a_row_on_a_phone_and_long_ones_keep_a_row_each():
    """The frequency answers of PHQ-9 ("Several days") take half the height; an intake
    preference ("Strongly prefer: the therapist takes the lead ...") keeps its full width."""
    from attunement.web.questionnaires import build_form

    phq9 = build_form("phq9").questions
    assert all(q.short_options for q in phq9)
    intake = {q.field: q for q in build_form("intake_profile").questions}
    assert not intake["ip_pref_direction"].short_options
    assert not build_form("checkin").questions[0].short_options  # a 0-10 scale has its own row


def test_the_open_question_of_a_room_check_in_is_kept_as_the_sessions_comment(clinic):
    """Each role's check-in has its own open question; what a partner or group member writes there
    is kept as the comment, as the individual check-in's is."""
    from attunement.instruments import get_instrument

    issue_link(clinic, 1)
    path = issue_link(clinic, 2, issued_with="phq9,checkin_family")
    family = {item: "7" for item in get_instrument("checkin_family").scoring.items}
    _, response = submit(clinic, path, {**PHQ9, **family, "checkin_family_different": "Let us both speak"})
    assert response.status_code == 303
    with clinic.db.session() as db:
        assert db.scalar(select(Submission.comment)) == "Let us both speak"

"""Alerts that last, on SQLite and PostgreSQL: a risk answer stays open until what was done is
recorded, whatever comes after it; what was recorded stays with an alert whose condition goes
on; a condition that clears resolves its alert; every step is in the alert's history."""

from __future__ import annotations

import re

from sqlalchemy import func, select, update
from test_client_link import ANSWERS, submit
from web_clinic import RATING_CODES, WITH_CHECKIN, alert_ids, issue_link, post_rating, record_alerts

from attunement.store.models import AlertEvent, Client, KeptAlert, Notification

CALM = {**ANSWERS, "phq9_9": "0"}
#: A client check-in of 4 against a therapist estimate of 7.7: a perception gap.
LOW_CHECKIN = {**CALM, **{f"checkin_{c}": "4" for c in RATING_CODES}, "checkin_judged": "6"}


def _kept(clinic, kind: str = "perception_gap") -> list[tuple[str, str, int, int]]:
    with clinic.db.session() as db:
        rows = db.scalars(select(KeptAlert).where(KeptAlert.kind == kind).order_by(KeptAlert.id))
        return [(a.kind, a.status, a.opened_session, a.last_session) for a in rows]


def _events(clinic, kind: str) -> list[str]:
    with clinic.db.session() as db:
        rows = db.execute(
            select(AlertEvent.action).join(KeptAlert).where(KeptAlert.kind == kind).order_by(AlertEvent.id)
        )
        return [r[0] for r in rows]


def test_a_risk_answer_stays_open_after_a_later_rating_and_later_calm_answers(clinic):
    public_id = clinic.clients["of_a"]
    submit(clinic, issue_link(clinic, 1), CALM)
    submit(clinic, issue_link(clinic, 2), {**CALM, "phq9_9": "2"})  # session 2: item 9 answered 2
    assert post_rating(clinic, public_id, "new", "7").status_code == 303  # today's session, rated
    submit(clinic, issue_link(clinic, 4), CALM)  # and calmer answers after that
    assert _kept(clinic, "safety") == [("safety", "open", 2, 2)]
    page = clinic.login("clin_a").get(f"/clients/{public_id}").text
    assert "Session 2: PHQ-9 item 9" in page
    assert "card safety" in clinic.login("clin_a").get("/caseload").text
    # Recording what was done closes it; the history keeps both steps and who took them.
    assert (
        record_alerts(clinic, public_id, "record", ("safety",), action="Phoned, safety plan").status_code
        == 303
    )
    assert _kept(clinic, "safety") == [("safety", "actioned", 2, 2)]
    assert _events(clinic, "safety") == ["opened", "actioned"]
    history = clinic.login("clin_a").get(f"/clients/{public_id}").text.split('id="alert-log-h"')[1]
    assert "Phoned, safety plan" in history and "clin_a" in history
    # A new risk answer later opens a new safety alert.
    submit(clinic, issue_link(clinic, 5), {**CALM, "phq9_9": "1"})
    assert _kept(clinic, "safety") == [("safety", "actioned", 2, 2), ("safety", "open", 5, 5)]


def test_what_was_recorded_stays_with_an_alert_whose_condition_goes_on(clinic):
    public_id = clinic.clients["of_a"]
    submit(clinic, issue_link(clinic, 1, issued_with=WITH_CHECKIN), LOW_CHECKIN)
    post_rating(clinic, public_id, 1, "9")
    assert _kept(clinic) == [("perception_gap", "open", 1, 1)]
    assert (
        record_alerts(
            clinic, public_id, "record", ("perception_gap",), action="Talked it through"
        ).status_code
        == 303
    )
    # The gap goes on at session 2: the same alert, updated, with its action still shown. (Between
    # the client's answers and the therapist's rating the gap can be judged neither way: kept.)
    submit(clinic, issue_link(clinic, 2), LOW_CHECKIN)
    assert _kept(clinic) == [("perception_gap", "actioned", 1, 1)]
    post_rating(clinic, public_id, 2, "9")
    assert _kept(clinic) == [("perception_gap", "actioned", 1, 2)]
    page = clinic.login("clin_a").get(f"/clients/{public_id}").text
    assert "Done: Talked it through" in page and "(since session 1)" in page
    # It clears at session 3: resolved, with why; nothing waits any more.
    submit(clinic, issue_link(clinic, 3), CALM)
    post_rating(clinic, public_id, 3, "8")
    assert _kept(clinic) == [("perception_gap", "resolved", 1, 2)]  # it last fired at session 2
    assert _events(clinic, "perception_gap") == ["opened", "actioned", "updated", "resolved"]
    shown = alert_ids(clinic.login("clin_a").get(f"/clients/{public_id}").text)
    assert "perception_gap" not in shown.values()


def test_seen_can_be_undone_and_set_aside_needs_a_reason(clinic):
    public_id = clinic.clients["of_a"]
    submit(clinic, issue_link(clinic, 1, issued_with=WITH_CHECKIN), LOW_CHECKIN)
    post_rating(clinic, public_id, 1, "9")
    assert record_alerts(clinic, public_id, "seen", ("perception_gap",)).status_code == 303
    assert _kept(clinic)[0][1] == "acknowledged"
    caseload = clinic.login("clin_a").get("/caseload").text
    assert "seen</span>" in caseload
    assert record_alerts(clinic, public_id, "unsee", ("perception_gap",)).status_code == 303
    assert _kept(clinic)[0][1] == "open"
    refused = record_alerts(clinic, public_id, "set_aside", ("perception_gap",))
    assert refused.status_code == 400 and "a short reason" in refused.text
    assert (
        record_alerts(clinic, public_id, "set_aside", reason="Known; discussed last week").status_code == 303
    )
    assert _kept(clinic)[0][1] == "set_aside"
    assert _events(clinic, "perception_gap") == ["opened", "acknowledged", "unacknowledged", "set_aside"]


def _safety_reasons(clinic) -> list[tuple[str, int, str]]:
    with clinic.db.session() as db:
        rows = db.scalars(select(KeptAlert).where(KeptAlert.kind == "safety").order_by(KeptAlert.id))
        return [(a.status, a.last_session, a.reason) for a in rows]


def _notices(clinic) -> int:
    with clinic.db.session() as db:
        return db.scalar(select(func.count()).select_from(Notification))


def test_a_late_answer_to_an_earlier_link_after_an_action_is_news(clinic):
    public_id = clinic.clients["of_a"]
    first = issue_link(clinic, 1)
    submit(clinic, issue_link(clinic, 2), {**CALM, "phq9_9": "1"})
    assert record_alerts(clinic, public_id, "record", ("safety",), action="Phoned").status_code == 303
    submit(clinic, first, {**CALM, "phq9_9": "3"})  # session 1, answered after the action
    reasons = _safety_reasons(clinic)
    assert [(s, n) for s, n, _ in reasons] == [("actioned", 2), ("open", 1)]
    assert "answered 3 of 3" in reasons[1][2]
    assert _notices(clinic) == 2


def test_a_second_link_for_a_session_answered_after_an_action_is_news(clinic):
    public_id = clinic.clients["of_a"]
    first, resend = issue_link(clinic, 1), issue_link(clinic, 1)
    submit(clinic, first, {**CALM, "phq9_9": "1"})
    record_alerts(clinic, public_id, "record", ("safety",), action="Phoned")
    submit(clinic, resend, {**CALM, "phq9_9": "2"})
    assert [(s, n) for s, n, _ in _safety_reasons(clinic)] == [("actioned", 1), ("open", 1)]


def test_every_risk_answer_not_yet_dealt_with_is_in_the_reason_and_each_tells_the_clinician(clinic):
    first = issue_link(clinic, 1)
    submit(clinic, issue_link(clinic, 2), {**CALM, "phq9_9": "2"})
    assert _notices(clinic) == 1
    submit(clinic, first, {**CALM, "phq9_9": "3"})  # a late answer while the alert is open
    [(status, session, reason)] = _safety_reasons(clinic)
    assert status == "open" and session == 2
    assert reason.startswith("Session 2:")
    assert "Earlier risk answers not yet dealt with: session 1 (PHQ-9 item 9: 3)" in reason
    assert _notices(clinic) == 2, "the further risk answer tells the clinician again"


def test_the_quick_update_and_the_full_computation_agree_on_a_session_answered_twice(clinic):
    first, resend = issue_link(clinic, 1), issue_link(clinic, 1)
    submit(clinic, first, {**CALM, "phq9_9": "3"})
    submit(clinic, resend, {**CALM, "phq9_9": "1"})
    quick = _safety_reasons(clinic)
    assert "answered 3 of 3" in quick[0][2]
    with clinic.db.session() as db:  # force every summary to be computed again from all rows
        db.execute(update(Client).values(data_version=Client.data_version + 1))
    clinic.login("clin_a").get("/caseload")
    assert _safety_reasons(clinic) == quick
    assert _events(clinic, "safety") == ["opened"], "no flip-flopping updates"


def test_ending_an_episode_resolves_its_course_alerts_saying_why(clinic):
    submit(clinic, issue_link(clinic, 1, issued_with=WITH_CHECKIN), LOW_CHECKIN)
    post_rating(clinic, clinic.clients["of_a"], 1, "9")
    browser = clinic.login("clin_a")
    page = browser.get(f"/clients/{clinic.clients['of_a']}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    browser.post(
        f"/clients/{clinic.clients['of_a']}/episode/end",
        data={"episode": "1", "reason": "completed", "csrf_token": token},
    )
    assert _kept(clinic) == [("perception_gap", "resolved", 1, 1)]
    with clinic.db.session() as db:
        note = db.scalar(select(AlertEvent.note).where(AlertEvent.action == "resolved"))
    assert "the episode has ended" in note


def test_an_action_from_a_page_opened_before_a_new_risk_answer_is_refused(clinic):
    """Recording what was done from a page that did not show the latest risk answer would count
    that answer as dealt with unseen: the record is refused, stores nothing, and the page shows it."""
    public_id = clinic.clients["of_a"]
    submit(clinic, issue_link(clinic, 1), {**CALM, "phq9_9": "1"})
    browser = clinic.login("clin_a")
    old_page = browser.get(f"/clients/{public_id}").text
    submit(clinic, issue_link(clinic, 2), {**CALM, "phq9_9": "3"})  # came in while the page was open
    token = re.search(r'name="csrf_token" value="([^"]+)"', old_page).group(1)
    episode = re.search(r'name="episode" value="(\d+)"', old_page).group(1)
    shown = dict(re.findall(r'name="(through-\d+)" value="(\d+)"', old_page))
    ticked = [str(i) for i, kind in alert_ids(old_page).items() if kind == "safety"]
    assert len(ticked) == 1 and len(shown) == 1
    data = {"csrf_token": token, "episode": episode, "what": "record", "alert": ticked, "action": "Phoned"}
    refused = browser.post(f"/clients/{public_id}/alerts", data={**data, **shown}, follow_redirects=False)
    assert refused.status_code == 400
    assert "a new one came in after this page was opened" in refused.text
    assert "Session 2: PHQ-9 item 9" in refused.text and ">Phoned</textarea>" in refused.text
    assert _kept(clinic, "safety") == [("safety", "open", 1, 2)]
    assert _events(clinic, "safety") == ["opened", "updated"]
    # A form that does not say what it showed is refused the same way.
    assert browser.post(f"/clients/{public_id}/alerts", data=data, follow_redirects=False).status_code == 400
    # From the page that shows it, the record is taken.
    assert record_alerts(clinic, public_id, "record", ("safety",), action="Phoned").status_code == 303
    assert _kept(clinic, "safety") == [("safety", "actioned", 1, 2)]

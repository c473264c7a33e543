"""Episodes of care in the web app: end with a reason, reopen, start again; no course alerts after
the end; planned sessions and the caseload's "today". Run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select
from test_client_link import ANSWERS, submit
from web_clinic import RATING_CODES, WITH_CHECKIN, issue_link, post_rating, record_alerts

from attunement.store.clock import aware, local_today
from attunement.store.models import Client, Episode, EpisodeEvent, LinkToken, Submission, TherapySession
from attunement.store.settings import clinic_zone
from attunement.store.summary_store import summaries_for

#: A client check-in of 4 and a therapist estimate of 9.2: a perception gap (a course alert).
LOW_CHECKIN = {**{f"checkin_{c}": "4" for c in RATING_CODES}, "checkin_judged": "6"}


def _post(clinic, action: str, data: dict[str, str], who: str = "clin_a"):
    browser = clinic.login(who)
    public_id = clinic.clients["of_a"]
    page = browser.get(f"/clients/{public_id}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return browser.post(
        f"/clients/{public_id}/{action}", data={**data, "csrf_token": token}, follow_redirects=False
    )


def _state(clinic):
    with clinic.db.session() as db:
        client = db.scalar(select(Client).where(Client.public_id == clinic.clients["of_a"]))
        summary = summaries_for(db, [client])[client.id]
        episodes = list(
            db.scalars(select(Episode).where(Episode.client_id == client.id).order_by(Episode.number))
        )
        events = [
            (e.action, e.end_reason)
            for e in db.scalars(
                select(EpisodeEvent)
                .where(EpisodeEvent.episode_id.in_([x.id for x in episodes]))
                .order_by(EpisodeEvent.id)
            )
        ]
        return summary, [(e.number, e.status, e.end_reason) for e in episodes], events


def _with_course_alert(clinic, risk: bool = False) -> None:
    answers = {**ANSWERS, **LOW_CHECKIN, "phq9_9": "2" if risk else "0"}
    assert submit(clinic, issue_link(clinic, 1, issued_with=WITH_CHECKIN), answers)[1].status_code == 303
    # Every therapist answer 9 (the "judged" item reversed): an estimate of 7.7 against the client's 4.
    assert post_rating(clinic, clinic.clients["of_a"], 1, "9").status_code == 303


def test_an_ended_episode_has_no_course_alerts_and_reopening_brings_them_back(clinic):
    _with_course_alert(clinic)
    summary, _, _ = _state(clinic)
    assert "perception_gap" in {a.alert.kind for a in summary.alerts}

    ended = _post(clinic, "episode/end", {"episode": "1", "reason": "dropout"})
    assert ended.status_code == 303
    summary, episodes, events = _state(clinic)
    assert episodes == [(1, "ended", "dropout")]
    assert summary.alerts == [], "no course alert once the episode has ended"
    caseload = clinic.login("clin_a").get("/caseload").text
    working, ended_section = caseload.split('id="ended-h"')
    assert "A-1" not in working and "A-1" in ended_section and "dropped out" in ended_section

    reopened = _post(clinic, "episode/reopen", {"episode": "1", "note": "ended by mistake"})
    assert reopened.status_code == 303
    summary, episodes, events = _state(clinic)
    assert episodes == [(1, "active", None)]
    assert events == [("opened", None), ("ended", "dropout"), ("reopened", None)]
    assert "perception_gap" in {a.alert.kind for a in summary.alerts}
    page = clinic.login("clin_a").get(f"/clients/{clinic.clients['of_a']}").text
    assert "Ended (dropped out)" in page and "Reopened" in page and "ended by mistake" in page


def test_an_open_safety_alert_stays_after_the_end_and_blocks_a_new_episode(clinic):
    _with_course_alert(clinic, risk=True)
    assert _post(clinic, "episode/end", {"episode": "1", "reason": "completed"}).status_code == 303
    summary, _, _ = _state(clinic)
    assert [a.alert.kind for a in summary.alerts] == ["safety"]
    caseload = clinic.login("clin_a").get("/caseload").text
    assert "A-1" in caseload.split('id="ended-h"')[0], (
        "an open safety alert keeps the client in the working list"
    )

    refused = _post(clinic, "episodes", {"episode": "1"})
    assert refused.status_code == 400 and "open safety alert" in refused.text
    assert len(_state(clinic)[1]) == 1

    recorded = record_alerts(clinic, clinic.clients["of_a"], "record", ("safety",), action="Called")
    assert recorded.status_code == 303
    assert _post(clinic, "episodes", {"episode": "1"}).status_code == 303
    summary, episodes, _ = _state(clinic)
    assert episodes == [(1, "ended", "completed"), (2, "active", None)]
    assert summary.sessions == 0 and summary.alerts == [], "a new episode starts afresh"
    # The first episode keeps its data, read only, and its record.
    browser = clinic.login("clin_a")
    earlier = browser.get(f"/clients/{clinic.clients['of_a']}/episodes/1").text
    assert "earlier episode, read only" in earlier and "Called" in earlier
    assert 'action="/clients/' + clinic.clients["of_a"] + '/links"' not in earlier
    # The new episode's first link is for its session 1.
    issue_link(clinic, 1)


def test_episode_changes_are_checked_and_refused_whole(clinic):
    today = _today(clinic)
    assert _post(clinic, "episodes", {"episode": "1"}).status_code == 400, "the active episode must end first"
    bad = _post(clinic, "episode/end", {"episode": "1", "reason": "finished", "date": "yesterday"})
    assert bad.status_code == 400
    assert '<a href="#end-reason">Reason</a>' in bad.text or '<a href="#end-date">End date</a>' in bad.text
    future = _post(
        clinic, "episode/end", {"episode": "1", "reason": "completed", "date": str(today + timedelta(days=3))}
    )
    assert future.status_code == 400 and "today or an earlier date" in future.text
    stale = _post(clinic, "episode/end", {"episode": "2", "reason": "completed"})
    assert stale.status_code == 400 and "page was out of date" in stale.text
    assert _state(clinic)[1] == [(1, "active", None)]
    other = _post(clinic, "episode/end", {"episode": "1", "reason": "completed"}, who="clin_b")
    assert other.status_code == 404


def test_a_planned_session_gets_the_next_link_and_shows_under_today(clinic):
    today = _today(clinic)
    past = _post(clinic, "sessions", {"episode": "1", "date": str(today - timedelta(days=1))})
    assert past.status_code == 400 and "a date from today" in past.text
    assert _post(clinic, "sessions", {"episode": "1", "date": str(today), "time": "14:30"}).status_code == 303
    browser = clinic.login("clin_a")
    todays = browser.get("/caseload?today=yes").text
    assert "A-1" in todays and "(today)" in todays and "14:30" in todays
    assert "B-1" not in todays
    # The link form offers that session first, and the link is for it.
    path = issue_link(clinic, 1)
    with clinic.db.session() as db:
        link = db.scalar(select(LinkToken).order_by(LinkToken.id.desc()))
        assert link.session == 1
    card = browser.get("/caseload").text
    assert "1 link waiting" in card
    assert submit(clinic, path, ANSWERS)[1].status_code == 303
    assert "answered today" in browser.get("/caseload?today=yes").text
    # Planning again gives the next session a number of its own.
    assert (
        _post(clinic, "sessions", {"episode": "1", "date": str(today + timedelta(days=7))}).status_code == 303
    )
    page = browser.get(f"/clients/{clinic.clients['of_a']}").text
    assert "Session 2: <strong>" in page


def test_the_caseload_filters_by_reference_status_and_alert_kind(clinic):
    _with_course_alert(clinic)
    browser = clinic.login("clin_a")
    assert "A-1" in browser.get("/caseload?q=a-").text
    assert "A-1" not in browser.get("/caseload?q=zzz").text
    assert "A-1" in browser.get("/caseload?kind=perception_gap").text
    assert "A-1" not in browser.get("/caseload?kind=rupture").text
    assert "A-1" not in browser.get("/caseload?status=ended").text
    assert browser.get("/caseload?status=%00&kind=%ff&q=" + "x" * 500).status_code == 200


def _rating(value: str) -> dict[str, str]:
    return {f"checkin_therapist_{c}": value for c in RATING_CODES}


def _today(clinic):
    with clinic.db.session() as db:
        return local_today(clinic_zone(db))


def test_sessions_planned_out_of_order_are_numbered_by_date_with_their_links(clinic):
    today = _today(clinic)
    assert (
        _post(clinic, "sessions", {"episode": "1", "date": str(today + timedelta(days=3))}).status_code == 303
    )
    waiting = issue_link(clinic, 1)  # for the session in three days
    assert _post(clinic, "sessions", {"episode": "1", "date": str(today)}).status_code == 303
    with clinic.db.session() as db:
        rows = db.execute(
            select(TherapySession.number, TherapySession.planned_on).order_by(TherapySession.number)
        )
        assert [tuple(r) for r in rows] == [(1, today), (2, today + timedelta(days=3))]
        assert db.scalar(select(LinkToken.session)) == 2, "the waiting link moved with its session"
    assert submit(clinic, waiting, ANSWERS)[1].status_code == 303
    with clinic.db.session() as db:
        assert db.scalar(select(Submission.session)) == 2
    # A session with answers never changes number: planning before it adds a session at the end.
    assert (
        _post(clinic, "sessions", {"episode": "1", "date": str(today + timedelta(days=1))}).status_code == 303
    )
    with clinic.db.session() as db:
        rows = db.execute(
            select(TherapySession.number, TherapySession.planned_on).order_by(TherapySession.number)
        )
        assert [tuple(r) for r in rows][-1] == (3, today + timedelta(days=1))


def test_times_are_shown_in_the_clinic_time_zone_set_by_the_administrator(clinic):
    admin = clinic.login("admin")
    page = admin.get("/admin/instruments").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    refused = admin.post(
        "/admin/instruments", data={"link_valid_days": "7", "timezone": "Europe", "csrf_token": token}
    )
    assert refused.status_code == 400 and "a time zone name" in refused.text
    saved = admin.post(
        "/admin/instruments",
        data={"link_valid_days": "7", "timezone": "Asia/Kolkata", "csrf_token": token},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert submit(clinic, issue_link(clinic, 1), ANSWERS)[1].status_code == 303
    with clinic.db.session() as db:
        answered = db.scalar(select(Submission.submitted_at))
    local = aware(answered) + timedelta(hours=5, minutes=30)
    page = clinic.login("clin_a").get(f"/clients/{clinic.clients['of_a']}").text
    assert f"{local.day} {local:%b}" in page and f"{local:%H:%M}" in page


def test_a_nul_character_in_a_note_is_dropped_not_a_server_error(clinic):
    ended = _post(clinic, "episode/end", {"episode": "1", "reason": "other", "note": "moved\x00away"})
    assert ended.status_code == 303
    with clinic.db.session() as db:
        notes = db.scalars(select(EpisodeEvent.note).where(EpisodeEvent.action == "ended")).all()
    assert notes == ["movedaway"]


def test_ending_an_episode_closes_its_links_and_refuses_new_links_and_ratings(clinic):
    waiting = issue_link(clinic, 1)
    assert _post(clinic, "episode/end", {"episode": "1", "reason": "dropout"}).status_code == 303
    browser = clinic.client()
    assert browser.get(waiting).status_code == 410, "a link of an ended episode has expired"
    # A page left open before the end: the forms are refused and store nothing.
    for action, data in (
        ("links", {"episode": "1", "session": "new"}),
        ("sessions", {"episode": "1", "date": str(_today(clinic))}),
    ):
        response = _post(clinic, action, data)
        assert response.status_code == 400 and "this one has ended" in response.text, action
    rating = _post(clinic, "rating", {"episode": "1", "session": "new", **_rating("7")})
    assert rating.status_code == 400 and "this one has ended" in rating.text
    assert clinic.count("link_tokens") == 1 and clinic.count("submissions") == 0
    assert clinic.count("therapy_sessions") == 1


def test_addresses_that_cannot_be_a_client_are_not_found(clinic):
    browser = clinic.login("clin_a")
    for path in ("/clients/%00", "/clients/a%00b/episodes/1", "/clients/" + "x" * 500, "/clients/%C2%B2"):
        assert browser.get(path).status_code == 404, path
    public_id = clinic.clients["of_a"]
    for number in ("%00", "99999999999999999999", "%C2%B2", "-1", "0"):
        assert browser.get(f"/clients/{public_id}/episodes/{number}").status_code == 404, number
        assert browser.get(f"/clients/{public_id}/sessions/{number}/rating").status_code == 404, number

"""The episode report and the session summary on the web: the treating clinician and their
team's supervisor read them (the scores and alerts of a client of the demo clinic), another
clinician, another team's clinician and the administrator do not; each view is audited."""

from __future__ import annotations

from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import select
from web_clinic import csrf

from attunement.store.accounts import create_team, create_user
from attunement.store.demo import DEMO_LOGINS, seed_demo
from attunement.store.models import AuditEvent, Client, Episode, KeptAlert, User
from attunement.store.summary_store import summaries_for
from attunement.web import create_app

PASSWORDS = {login.username: login.password for login in DEMO_LOGINS}
OTHER_TEAM = ("elsewhere", "password-elsewhere-1")


def _login(app, username: str, password: str | None = None) -> TestClient:
    browser = TestClient(app)
    token = csrf(browser, "/login")
    response = browser.post(
        "/login",
        data={"username": username, "password": password or PASSWORDS[username], "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    return browser


def _seeded(database):
    """The demo clinic, a clinician of another team, and a client of "clinician" with an alert."""
    with database.session() as db:
        seed_demo(db, clients=12)
        team = create_team(db, "Team elsewhere")
        create_user(db, *OTHER_TEAM, "clinician", display_name="Elsewhere", team_id=team.id)
        mine = db.scalar(select(User.id).where(User.username == "clinician"))
        clients = list(db.scalars(select(Client).where(Client.therapist_id == mine).order_by(Client.id)))
        summaries = summaries_for(db, clients)  # brings the kept alerts up to date, as a page view does
        client = next(
            c for c in clients if summaries[c.id].alerts and summaries[c.id].latest_phq9 is not None
        )
        summary = summaries[client.id]
        episode = db.scalar(
            select(Episode).where(Episode.client_id == client.id).order_by(Episode.number.desc())
        )
        alert = db.scalar(select(KeptAlert).where(KeptAlert.episode_id == episode.id))
        return client.public_id, episode.number, alert.reason, summary


def test_the_clinician_and_the_supervisor_read_both_reports_and_no_one_else(database):
    public_id, number, reason, summary = _seeded(database)
    app = create_app(database=database)
    report = f"/clients/{public_id}/episodes/{number}/report"
    first = next(s + 1 for s, v in enumerate(summary.phq9) if v is not None)
    page = f"/clients/{public_id}/episodes/{number}/sessions/{first}/summary"
    for who in ("clinician", "supervisor"):
        browser = _login(app, who)
        assert f'href="{report}"' in browser.get(f"/clients/{public_id}/episodes/{number}").text
        whole = browser.get(report)
        assert whole.status_code == 200, who
        assert "Episode report" in whole.text and str(escape(reason)) in whole.text
        assert f'<td data-label="PHQ-9">{summary.latest_phq9:.0f}</td>' in whole.text
        assert "<svg" in whole.text and 'href="/static/report.css"' in whole.text
        assert '<nav class="report-nav"' in whole.text and "csrf_token" not in whole.text
        one = browser.get(page)
        assert one.status_code == 200, who
        assert f"Session {first} summary" in one.text or "Session summary" in one.text
        assert f"{summary.phq9[first - 1]:.0f}" in one.text and "Relationship check-in" in one.text
        assert browser.get(f"/clients/{public_id}/episodes/{number}/sessions/999/summary").status_code == 404
    for who, password, status in (
        ("clinician2", None, 404),  # same team, not their client
        (OTHER_TEAM[0], OTHER_TEAM[1], 404),
        ("admin", None, 403),
    ):
        browser = _login(app, who, password)
        assert browser.get(report, follow_redirects=False).status_code == status, who
        assert browser.get(page, follow_redirects=False).status_code == status, who
    with database.session() as db:
        seen = db.execute(
            select(AuditEvent.action, AuditEvent.role).where(
                AuditEvent.action.in_(("view_report", "view_session_summary"))
            )
        ).all()
    assert ("view_report", "clinician") in seen and ("view_session_summary", "supervisor") in seen

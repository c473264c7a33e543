"""An episode's link schedule: the clinician sets it on the client page (kept with its history),
and the delivery worker makes the due links itself and sends them through a real local SMTP
server (aiosmtpd): before each planned session, or every N days; once per slot, however often
the worker runs; never for an ended episode or a client who has not agreed. On SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from test_link_delivery import _post_contact, smtp  # noqa: F401 (the SMTP server fixture)
from web_clinic import csrf

from attunement.store import link_schedules
from attunement.store.clock import now
from attunement.store.delivery import run_once
from attunement.store.models import AuditEvent, Episode, LinkSchedule, LinkToken, OutboxMessage, ScheduledLink

#: The schedule form's fields as its error box names them.
LABELS = {
    "schedule": "When should links be sent?",
    "every how many days": "Every how many days",
    "send by": "Send by",
}


def _post_schedule(browser, clinic, kind, days="", channel="email", client="of_a"):
    public_id = clinic.clients[client]
    token = csrf(browser, f"/clients/{public_id}")
    return browser.post(
        f"/clients/{public_id}/schedule",
        data={
            "csrf_token": token,
            "episode": "1",
            "schedule_kind": kind,
            "schedule_days": days,
            "schedule_channel": channel,
        },
        follow_redirects=False,
    )


def _plan(browser, clinic, start, client="of_a"):
    public_id = clinic.clients[client]
    token = csrf(browser, f"/clients/{public_id}")
    response = browser.post(
        f"/clients/{public_id}/sessions",
        data={"csrf_token": token, "episode": "1", "date": f"{start:%Y-%m-%d}", "time": f"{start:%H:%M}"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def _page(browser, clinic, client="of_a") -> str:
    return browser.get(f"/clients/{clinic.clients[client]}").text


def _links(clinic) -> list[tuple[int, int]]:
    with clinic.db.session() as db:
        return [(link.id, link.session) for link in db.scalars(select(LinkToken).order_by(LinkToken.id))]


def test_before_each_planned_session_one_link_per_session_reaches_the_client(clinic, smtp):  # noqa: F811
    browser = clinic.login("clin_a")
    _post_contact(browser, clinic, "client01@example.org", "yes")
    _plan(browser, clinic, now() + timedelta(hours=10))  # inside the 24 hours before it
    _plan(browser, clinic, now() + timedelta(days=5))  # not due yet
    assert _post_schedule(browser, clinic, "sessions").status_code == 303
    page = _page(browser, clinic)
    assert "Before each planned session, by e-mail" in page and "Next send: <strong>now" in page
    assert _links(clinic) == [], "the page stores the schedule; the worker makes the links"

    done = run_once(clinic.db)
    assert done.scheduled == 1 and done.sent == 1
    assert _links(clinic)[0][1] == 1, "the link is for the session about to happen"
    ((rcpt, message),) = smtp.messages
    assert rcpt == ["client01@example.org"]
    assert "/c/" in message.get_content()

    # Again and again: nothing new, for the same session or the one five days away.
    for _ in range(2):
        again = run_once(clinic.db)
        assert again.scheduled == 0
    assert len(_links(clinic)) == 1 and len(smtp.messages) == 1
    with clinic.db.session() as db:
        assert db.scalar(select(ScheduledLink.slot)).startswith("session-")
        assert db.scalar(select(OutboxMessage.purpose)) == "link"
        assert "scheduled_link" in set(db.scalars(select(AuditEvent.action)))
    page = _page(browser, clinic)
    assert "New link (by the schedule), session 1" in page
    assert "for session 2" in page, "the next send is the later session's"


def test_two_workers_never_make_two_links_for_one_slot(clinic, smtp, monkeypatch):  # noqa: F811
    browser = clinic.login("clin_a")
    _post_contact(browser, clinic, "client01@example.org", "yes")
    _plan(browser, clinic, now() + timedelta(hours=3))
    _post_schedule(browser, clinic, "sessions")
    assert run_once(clinic.db).scheduled == 1
    with clinic.db.session() as db:
        taken = db.scalar(select(ScheduledLink))
        row = {k: getattr(taken, k) for k in ("client_id", "episode_id", "slot", "link_id", "schedule_id")}
        slot = taken.slot
    # A second worker that read the episode before the first committed sees the slot as free:
    # the database refuses its row, and its link and message are rolled back with it.
    real = link_schedules.next_slot
    monkeypatch.setattr(
        link_schedules,
        "next_slot",
        lambda db, episode, schedule, lead, zone: link_schedules.Slot(now() - timedelta(minutes=1), slot, 1),
    )
    assert link_schedules.create_due_links(clinic.db, ["email"]) == 0
    monkeypatch.setattr(link_schedules, "next_slot", real)
    assert len(_links(clinic)) == 1 and clinic.count("outbox") == 1
    with pytest.raises(IntegrityError), clinic.db.session() as db:
        db.add(ScheduledLink(**row, created_at=now()))
        db.flush()


def test_every_n_days_makes_the_next_link_only_after_n_days(clinic, smtp):  # noqa: F811
    browser = clinic.login("clin_a")
    _post_contact(browser, clinic, "client01@example.org", "yes")
    assert _post_schedule(browser, clinic, "days", days="7").status_code == 303
    assert run_once(clinic.db).scheduled == 1, "no link yet: the first goes at once"
    assert run_once(clinic.db).scheduled == 0
    assert len(_links(clinic)) == 1 and len(smtp.messages) == 1

    def age_links(delta):
        """Everything the schedule made, made ``delta`` earlier: the links and the keys of their
        slots (a slot's key is the minute it fell due), so the state is one a clinic can reach."""
        with clinic.db.session() as db:
            for link in db.scalars(select(LinkToken)):
                link.created_at = link.created_at - delta
            for made in db.scalars(select(ScheduledLink)):
                due = datetime.strptime(made.slot.removeprefix("due-"), "%Y-%m-%dT%H:%M") - delta
                made.slot = f"due-{due:%Y-%m-%dT%H:%M}"

    age_links(timedelta(days=6, hours=23))  # six days and 23 hours later
    assert run_once(clinic.db).scheduled == 0
    assert "Every 7 days, by e-mail" in _page(browser, clinic)
    age_links(timedelta(hours=1, minutes=1))  # seven days have passed
    assert run_once(clinic.db).scheduled == 1
    assert run_once(clinic.db).scheduled == 0
    assert len(_links(clinic)) == 2 and len(smtp.messages) == 2
    with clinic.db.session() as db:
        assert len(set(db.scalars(select(ScheduledLink.slot)))) == 2


def test_no_link_without_consent_or_for_an_ended_episode(clinic, smtp):  # noqa: F811
    browser = clinic.login("clin_a")
    _post_contact(browser, clinic, "client01@example.org", "no")
    _plan(browser, clinic, now() + timedelta(hours=5))
    assert _post_schedule(browser, clinic, "sessions").status_code == 303
    assert run_once(clinic.db).scheduled == 0
    assert "nothing is sent while the client has not agreed to be contacted" in _page(browser, clinic)
    # Ended: no link, even once the client agrees.
    public_id = clinic.clients["of_a"]
    token = csrf(browser, f"/clients/{public_id}")
    ended = browser.post(
        f"/clients/{public_id}/episode/end",
        data={"csrf_token": token, "episode": "1", "reason": "completed"},
        follow_redirects=False,
    )
    assert ended.status_code == 303
    _post_contact(browser, clinic, "client01@example.org", "yes")
    assert run_once(clinic.db).scheduled == 0
    assert _links(clinic) == [] and smtp.messages == []


def test_no_link_without_an_e_mail_address(clinic, smtp):  # noqa: F811
    browser = clinic.login("clin_a")
    _post_contact(browser, clinic, "", "yes", mobile="+44 7700 900123")
    _plan(browser, clinic, now() + timedelta(hours=5))
    _post_schedule(browser, clinic, "sessions")
    assert run_once(clinic.db).scheduled == 0
    assert "nothing is sent while no e-mail address is recorded" in _page(browser, clinic)
    assert _links(clinic) == [] and smtp.messages == []


@pytest.mark.parametrize(
    ("kind", "days", "channel", "field"),
    [
        ("weekly", "", "email", "schedule"),
        ("days", "0", "email", "every how many days"),
        ("days", "61", "email", "every how many days"),
        ("days", "seven", "email", "every how many days"),
        ("days", "", "email", "every how many days"),
        ("days", "1e3", "email", "every how many days"),
        ("sessions", "", "pigeon", "send by"),
        ("sessions", "", "sms", "send by"),
        ("\x00" * 300, "\x00", "\x00", "schedule"),
    ],
)
def test_a_wrong_schedule_is_refused_naming_the_field_and_stores_nothing(clinic, kind, days, channel, field):
    browser = clinic.login("clin_a")
    refused = _post_schedule(browser, clinic, kind, days, channel)
    assert refused.status_code == 400
    box = refused.text.split('<div class="problems"', 1)[1].split("</div>", 1)[0]
    assert LABELS[field] in box and "expected" not in box
    assert clinic.count("link_schedules") == 0


def test_every_change_is_a_new_row_and_the_same_choice_stores_nothing(clinic):
    browser = clinic.login("clin_a")
    assert _post_schedule(browser, clinic, "off").status_code == 303
    assert clinic.count("link_schedules") == 0, "off is the default: nothing to store"
    _post_schedule(browser, clinic, "sessions")
    _post_schedule(browser, clinic, "sessions")
    _post_schedule(browser, clinic, "days", "14")
    _post_schedule(browser, clinic, "off")
    with clinic.db.session() as db:
        rows = [(r.kind, r.every_days) for r in db.scalars(select(LinkSchedule).order_by(LinkSchedule.id))]
        details = [
            d for d in db.scalars(select(AuditEvent.detail).where(AuditEvent.action == "set_link_schedule"))
        ]
    assert rows == [("sessions", None), ("days", 14), ("off", None)]
    assert "episode 1: every 14 days by e-mail" in details
    page = _page(browser, clinic)
    assert "Schedule history (3 versions)" in page and "sent: <strong>Off</strong>" in page
    # The supervisor reads the schedule but has no form.
    supervisor = _page(clinic.login("super_a"), clinic)
    assert "Schedule history" in supervisor and "/schedule" not in supervisor


def test_an_episode_erased_after_the_worker_read_it_is_skipped(clinic):
    """The worker reads the due schedules, then makes each link in a transaction of its own: an
    episode gone meanwhile (its client's record erased) makes no link and stops nothing."""
    with clinic.db.session() as db:
        missing = (db.scalar(select(func.max(Episode.id))) or 0) + 1
        assert link_schedules._make_due_link(db, 1, missing, ["email"]) == 0

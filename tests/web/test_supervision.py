"""Supervision that acts, on SQLite and PostgreSQL: every team figure leads to the clients behind
it, a supervisor's note reaches the therapist and is never overwritten, the "for supervision"
flag keeps its history, a client moves to another clinician of the team with the change kept,
and wrong input is refused naming the field, with nothing stored."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from web_clinic import csrf

from attunement.store.client_record import export_record
from attunement.store.models import AuditEvent, Client, User

NOTE = "Consider reviewing the formulation; the PHQ-9 is rising since session 3."


def _ids(clinic) -> dict[str, int]:
    with clinic.db.session() as db:
        return {u.username: u.id for u in db.scalars(select(User))}


def _post(browser, path: str, **data: str):
    token = csrf(browser, "/account")
    return browser.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def _note(clinic, text: str = NOTE, client: str = "of_a", **extra: str):
    return _post(clinic.login("super_a"), f"/clients/{clinic.clients[client]}/notes", note=text, **extra)


def _tables(clinic) -> dict[str, int]:
    return {
        name: clinic.count(name)
        for name in ("supervision_notes", "supervision_flags", "episode_events", "audit_events")
    }


def test_every_team_figure_leads_to_the_clients_behind_it(clinic):
    ids = _ids(clinic)
    browser = clinic.login("super_a")
    page = browser.get("/team").text
    for name in ("clin_a", "clin_b"):
        assert f'href="/team?therapist={ids[name]}#clients-h"' in page, name
        assert f'href="/team?therapist={ids[name]}&amp;outcome=deteriorated#clients-h"' in page
        assert f'href="/team?therapist={ids[name]}&amp;kind=any#open-h"' in page
    assert 'href="/team?links=waiting#clients-h"' in page
    mine = browser.get(f"/team?therapist={ids['clin_a']}").text
    assert "A-1" in mine and "B-1" not in mine and "1 of 2 clients match" in mine
    # Unknown or hostile values are ignored: the whole list, never an error.
    for query in ("therapist=99999999999", "therapist=abc", f"therapist={ids['clin_other']}", "kind=%00x"):
        everyone = browser.get(f"/team?{query}&outcome=nope&links=x")
        assert everyone.status_code == 200 and "A-1" in everyone.text and "B-1" in everyone.text, query
    nobody = browser.get("/team?kind=any").text
    assert "No client matches" in nobody
    assert "A-1" not in nobody.split('id="clients-h"')[1].split("</section>")[0]


def test_a_supervisors_note_reaches_the_therapist_with_who_and_when(clinic):
    assert _note(clinic).status_code == 303
    page = clinic.login("clin_a").get(f"/clients/{clinic.clients['of_a']}").text
    section = page.split('id="supervision-h"')[1].split("</section>")[0]
    assert NOTE in section and "super_a" in section
    assert "Leave a note" not in section, "the therapist reads, the supervisor writes"
    # The note is the client's: not on another client's page, not for another clinician.
    assert NOTE not in clinic.login("clin_b").get(f"/clients/{clinic.clients['of_b']}").text
    assert clinic.login("clin_b").get(f"/clients/{clinic.clients['of_a']}").status_code == 404
    with clinic.db.session() as db:
        entry = db.scalar(select(AuditEvent).where(AuditEvent.action == "write_supervision_note"))
        client = db.scalar(select(Client).where(Client.public_id == clinic.clients["of_a"]))
        assert entry.client_id == client.id and "PHQ" not in entry.detail, "no note text in the audit log"
        exported = export_record(db, client, "operator", "")
    assert [n["text"] for n in exported["tables"]["supervision_notes"]] == [NOTE]


def test_a_note_is_corrected_and_withdrawn_without_losing_the_earlier_text(clinic):
    _note(clinic)
    browser = clinic.login("super_a")
    page = browser.get(f"/clients/{clinic.clients['of_a']}").text
    first = re.search(r'name="note_id" value="(\d+)"', page).group(1)
    path = f"/clients/{clinic.clients['of_a']}/notes"
    corrected = _post(browser, path, what="correct", note_id=first, note="Reviewed: the formulation holds.")
    assert corrected.status_code == 303
    page = clinic.login("clin_a").get(f"/clients/{clinic.clients['of_a']}").text
    assert "Reviewed: the formulation holds." in page and NOTE in page, "both versions are shown"
    # The earlier version cannot be corrected again: the latest one is.
    again = _post(browser, path, what="correct", note_id=first, note="Another text")
    assert again.status_code == 400 and "the latest version of the note" in again.text
    latest = re.search(
        r'name="note_id" value="(\d+)"', browser.get(f"/clients/{clinic.clients['of_a']}").text
    )
    withdrawn = _post(browser, path, what="withdraw", note_id=latest.group(1), why="Discussed in person")
    assert withdrawn.status_code == 303
    assert clinic.count("supervision_notes") == 3
    page = clinic.login("clin_a").get(f"/clients/{clinic.clients['of_a']}").text
    assert "Withdrawn by super_a" in page and "Discussed in person" in page
    assert "Reviewed: the formulation holds." in page and NOTE in page


@pytest.mark.parametrize(
    ("path", "data", "field"),
    [
        ("notes", {"note": "   "}, "Note"),
        ("notes", {"note": "x" * 2001}, "Note"),
        ("notes", {"note": "a\x00b" * 1001}, "Note"),
        ("notes", {"what": "erase", "note": "x"}, "What to do with the note"),
        ("notes", {"what": "correct", "note_id": "abc", "note": "x"}, "Corrected note"),
        ("notes", {"what": "correct", "note_id": "99999999999999", "note": "x"}, "Corrected note"),
        ("notes", {"what": "withdraw", "note_id": "999"}, "Corrected note"),
        ("flag", {"flag": "toggle"}, "Flag for supervision"),
        ("flag", {"flag": "clear"}, "Flag for supervision"),
        ("flag", {"flag": "raise", "why": "y" * 501}, "Why"),
        ("therapist", {"to": ""}, "New therapist"),
        ("therapist", {"to": "abc"}, "New therapist"),
        ("therapist", {"to": "999999"}, "New therapist"),
        ("therapist", {"to": "OTHER"}, "New therapist"),  # a clinician of another team
        ("therapist", {"to": "SELF"}, "New therapist"),  # the current therapist
        ("therapist", {"to": "SUPER"}, "New therapist"),  # not a clinician
    ],
)
def test_wrong_input_is_refused_naming_the_field_and_nothing_is_stored(clinic, path, data, field):
    ids = _ids(clinic)
    swap = {"OTHER": str(ids["clin_other"]), "SELF": str(ids["clin_a"]), "SUPER": str(ids["super_a"])}
    data = {k: swap.get(v, v) for k, v in data.items()}
    before = _tables(clinic)
    response = _post(clinic.login("super_a"), f"/clients/{clinic.clients['of_a']}/{path}", **data)
    assert response.status_code == 400, response.text
    assert re.search(rf">{field}</(strong|a)>: ", response.text), "the field, named by its label"
    after = _tables(clinic)
    assert {k: v for k, v in after.items() if k != "audit_events"} == {
        k: v for k, v in before.items() if k != "audit_events"
    }
    with clinic.db.session() as db:
        therapist = db.scalar(select(Client.therapist_id).where(Client.public_id == clinic.clients["of_a"]))
    assert therapist == ids["clin_a"]


def test_the_flag_is_seen_by_the_therapist_and_listed_for_the_supervisor_with_its_history(clinic):
    supervisor = clinic.login("super_a")
    path = f"/clients/{clinic.clients['of_a']}/flag"
    assert _post(supervisor, path, flag="raise", why="Rupture after session 4").status_code == 303
    assert _post(supervisor, path, flag="raise").status_code == 400, "already flagged"
    therapist = clinic.login("clin_a")
    assert "Flagged for supervision" in therapist.get(f"/clients/{clinic.clients['of_a']}").text
    assert "for supervision" in therapist.get("/caseload").text
    team = supervisor.get("/team").text
    listed = team.split('id="flagged-h"')[1].split("</section>")[0]
    assert "A-1" in listed and "Rupture after session 4" in listed and "B-1" not in listed
    only = supervisor.get("/team?flagged=yes").text.split('id="clients-h"')[1].split("</section>")[0]
    assert "A-1" in only and "B-1" not in only
    assert _post(supervisor, path, flag="clear", why="Discussed").status_code == 303
    page = therapist.get(f"/clients/{clinic.clients['of_a']}").text
    assert "Not flagged for supervision" in page and "Flag history (2 steps)" in page
    assert clinic.count("supervision_flags") == 2


def test_a_supervisor_moves_a_client_to_another_clinician_of_the_team_and_the_change_is_kept(clinic):
    ids = _ids(clinic)
    supervisor = clinic.login("super_a")
    moved = _post(
        supervisor, f"/clients/{clinic.clients['of_a']}/therapist", to=str(ids["clin_b"]), why="Leave"
    )
    assert moved.status_code == 303
    assert clinic.login("clin_a").get(f"/clients/{clinic.clients['of_a']}").status_code == 404
    page = clinic.login("clin_b").get(f"/clients/{clinic.clients['of_a']}").text
    assert "Moved to another therapist (clin_a to clin_b): Leave" in page
    assert "Therapist clin_b" in page
    with clinic.db.session() as db:
        entry = db.scalar(select(AuditEvent).where(AuditEvent.action == "reassign_client"))
    assert f"user {ids['clin_a']} to user {ids['clin_b']}" in entry.detail


def test_only_a_supervisor_of_the_clients_team_may_act(clinic):
    for who in ("clin_a", "clin_b", "clin_other", "admin"):
        browser = clinic.login(who)
        for path, data in (("notes", {"note": "x"}), ("flag", {"flag": "raise"})):
            response = _post(browser, f"/clients/{clinic.clients['of_a']}/{path}", **data)
            assert response.status_code == 403, (who, path)
    other_team = _post(clinic.login("super_a"), f"/clients/{clinic.clients['of_other']}/notes", note="x")
    assert other_team.status_code == 404
    assert clinic.count("supervision_notes") == 0


def test_an_administrator_moving_a_whole_caseload_leaves_each_episode_its_history(clinic):
    ids = _ids(clinic)
    admin = clinic.login("admin")
    token = csrf(admin, "/admin")
    moved = admin.post(
        f"/admin/users/{ids['clin_a']}/reassign",
        data={"to": str(ids["clin_b"]), "csrf_token": token},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    page = clinic.login("clin_b").get(f"/clients/{clinic.clients['of_a']}").text
    assert "Moved to another therapist (clin_a to clin_b)" in page


def test_erasing_a_client_removes_their_notes_corrections_and_flags(clinic):
    from attunement.store.client_record import erase

    _note(clinic)
    browser = clinic.login("super_a")
    page = browser.get(f"/clients/{clinic.clients['of_a']}").text
    first = re.search(r'name="note_id" value="(\d+)"', page).group(1)
    path = f"/clients/{clinic.clients['of_a']}"
    assert _post(browser, f"{path}/notes", what="correct", note_id=first, note="Changed").status_code == 303
    assert _post(browser, f"{path}/flag", flag="raise").status_code == 303
    therapist = clinic.login("clin_a")
    token = csrf(therapist, path)
    ended = therapist.post(
        f"{path}/episode/end", data={"episode": "1", "reason": "completed", "csrf_token": token}
    )
    assert ended.status_code == 200
    with clinic.db.session() as db:
        client = db.scalar(select(Client).where(Client.public_id == clinic.clients["of_a"]))
        erased = erase(db, client, "operator", "")
    assert erased.rows["supervision_notes"] == 2 and erased.rows["supervision_flags"] == 1
    assert clinic.count("supervision_notes") == 0 and clinic.count("supervision_flags") == 0

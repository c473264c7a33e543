"""The supervisor's team page: clients with open alerts, every client's episode status and
therapist, completion rates and outcomes per therapist, each rate with its interval; every figure
leads to the clients behind it, and the lists filter by therapist, alert, outcome and flag.

A supervisor acts on a client of the team from the client page: a note for the therapist, the
"for supervision" flag, or moving the client to another clinician of the team. (An
administrator sees no client, so moves a whole caseload from the admin page instead.)"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session

from attunement.alerts import KINDS
from attunement.errors import FieldProblem, InvalidInputError
from attunement.store.approaches import approach_checks
from attunement.store.audit import record, record_list
from attunement.store.cases import cases_for
from attunement.store.changes import lock_client
from attunement.store.clients import visible_clients
from attunement.store.models import User
from attunement.store.summary_store import refresh
from attunement.store.supervision import (
    CLEARED,
    RAISED,
    clients_with_links,
    correct_note,
    flagged,
    link_counts,
    reassign_client,
    set_flag,
    team_members,
    team_named,
    team_therapists,
    withdraw_note,
    write_note,
)
from attunement.web.approach_view import WARNING_VERDICTS, why_it_matters
from attunement.web.caseload_view import CaseloadFilter, caseload_view
from attunement.web.charts_slot import therapist_outcomes_svg
from attunement.web.clinician_change import Done, client_for, client_page
from attunement.web.dependencies import CheckedForm, Db, Supervisor
from attunement.web.form_values import entered, whole_number
from attunement.web.pages import Form, actor, redirect, render
from attunement.web.team_figures import therapist_figures
from attunement.web.team_filter import TeamFilter, team_url

router = APIRouter()


@router.get("/team")
def team_page(request: Request, user: Supervisor, db: Db):
    clients = visible_clients(db, user)
    view = caseload_view(db, actor(user), clients, CaseloadFilter())
    rows = view.working + view.ended
    therapists = team_therapists(db, user.team_id)
    wanted = TeamFilter.from_query(request.query_params, therapists)
    ids = [c.id for c in clients]
    flags = flagged(db, ids)
    with_links = clients_with_links(db, ids, wanted.links) if wanted.links else set()
    shown = [r for r in rows if wanted.matches(r, flags, with_links)]
    figures = [
        (t.id, therapist_figures(t.display_name, [r.summary for r in rows if r.episode.therapist_id == t.id]))
        for t in therapists.values()
    ]
    figures.sort(key=lambda f: -f[1].clients)
    members = team_members(db, user.team_id)
    links = link_counts(db, ids)
    record_list(db, actor(user), user.role, "view_team", ids)
    return render(
        request,
        "team.html",
        {
            "team": team_named(db, user.team_id),
            "alerting": [r for r in shown if r.in_working_list and r.summary.open_alerts],
            "shown": shown,
            "filter": wanted,
            "view": view,
            "therapists": therapists,
            "flags": flags,
            "flagged_rows": [r for r in rows if r.client.id in flags],
            "flag_people": {u.id: u.display_name for u in members},
            "members": members,
            "figures": figures,
            "links": links,
            "team_url": team_url,
            "kinds": KINDS,
            "outcomes_svg": therapist_outcomes_svg([f for _, f in figures]),
            "approaches": approach_checks(db, list(therapists)),
            "why": why_it_matters(),
            "warning_verdicts": WARNING_VERDICTS,
            "cases": cases_for(db, user),
        },
    )


def supervisor_change(
    request: Request,
    db: Session,
    user: User,
    public_id: str,
    form: Form,
    change: Callable,
    anchor: str,
    sent: Callable[[dict], tuple[str, str]],
):
    """A supervisor's change to a client of their team, in the request's transaction: the client
    (404 when not of the team), ``change(db, user, client, form)`` returning a :class:`Done`.
    Wrong input rolls everything back and shows the client page again naming the problems, with
    what was typed; ``sent(form)`` says which form that was (its name in
    :data:`~attunement.web.plain_errors.FORMS`, and the row of a form shown once per note)."""
    client = client_for(db, request, user, public_id)
    lock_client(db, client.id)
    try:
        done = change(db, user, client, form)
    except InvalidInputError as exc:
        db.rollback()
        key, row = sent(form)
        return client_page(
            request,
            db,
            user,
            client,
            status=400,
            problems=exc.problems,
            values=entered(form),
            form_key=key,
            form_row=row,
        )
    record(db, actor(user), user.role, done.action, client_id=client.id, detail=done.detail)
    return redirect(f"/clients/{public_id}#{anchor}")


@router.post("/clients/{public_id}/notes")
def supervision_note(request: Request, public_id: str, form: CheckedForm, user: Supervisor, db: Db):
    """A supervisor's note for the therapist: a new one, or a correction or withdrawal of one of
    their own (a new row; the earlier text stays)."""

    def change(db, user, client, form):
        what = form.get("what", "write")
        if what == "write":
            note = write_note(db, client, user, form.get("note", ""))
            return Done("write_supervision_note", f"note {note.id}")
        if what not in ("correct", "withdraw"):
            raise InvalidInputError("note", [FieldProblem("what", what[:20], "write, correct or withdraw")])
        earlier = whole_number(form.get("note_id", ""), "note")
        if what == "correct":
            note = correct_note(db, client, user, earlier, form.get("note", ""))
            return Done("correct_supervision_note", f"note {note.id} corrects note {earlier}")
        note = withdraw_note(db, client, user, earlier, form.get("why", ""))
        return Done("withdraw_supervision_note", f"note {note.id} withdraws note {earlier}")

    def sent(form):
        if form.get("what", "write") == "write":
            return "note-h", ""
        note_id = form.get("note_id", "").strip()
        return "correct-note", note_id if note_id.isascii() and note_id.isdigit() and len(
            note_id
        ) < 10 else ""

    return supervisor_change(request, db, user, public_id, form, change, "supervision-h", sent)


@router.post("/clients/{public_id}/flag")
def supervision_flag(request: Request, public_id: str, form: CheckedForm, user: Supervisor, db: Db):
    """Flag the client for supervision, or clear the flag; each step is kept."""

    def change(db, user, client, form):
        action = {"raise": RAISED, "clear": CLEARED}.get(form.get("flag", ""), form.get("flag", ""))
        step = set_flag(db, client, user, action, form.get("why", ""))
        return Done(f"supervision_flag_{step.action}", f"flag step {step.id}")

    return supervisor_change(
        request, db, user, public_id, form, change, "supervision-h", lambda form: ("flag-h", "")
    )


@router.post("/clients/{public_id}/therapist")
def another_therapist(request: Request, public_id: str, form: CheckedForm, user: Supervisor, db: Db):
    """Move the client to another clinician of the team (kept in the episode's history)."""

    def change(db, user, client, form):
        target = whole_number(form.get("to", ""), "new therapist", required=False)
        event = reassign_client(db, client, user, target, form.get("why", ""))
        refresh(db, [client])
        return Done(
            "reassign_client",
            f"episode event {event.id}: user {event.from_therapist_id} to user {event.to_therapist_id}",
        )

    return supervisor_change(
        request, db, user, public_id, form, change, "episode-h", lambda form: ("move-h", "")
    )

"""The pages of couples, families and groups: opening a case, its participants and co-therapists,
the case page (every participant on shared axes, the room alerts), and the group session page
(every member's latest answers at a glance, links for every member at once).

A case is opened by a clinician, who becomes its therapist; every current therapist of the case
may open and change it and every participant's page. The supervisor of the case's team may read
it. Anyone else is answered 404, as for a case that does not exist.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from attunement.errors import InvalidInputError
from attunement.instruments.roles import format_of, role
from attunement.store.audit import record
from attunement.store.caregiver import make_caregiver_link
from attunement.store.cases import (
    CASE_FORMATS,
    add_co_therapist,
    add_participant,
    case_record,
    case_with_id,
    clients_in_no_case,
    create_case,
    latest_case_session,
    may_open_case,
    member_leaves,
    remove_co_therapist,
    treats,
)
from attunement.store.group_links import group_links
from attunement.store.models import Case, User
from attunement.web.case_view import case_view, checkin_of, session_answers
from attunement.web.clinician_change import PUBLIC_ID, Done, clinician_change
from attunement.web.dependencies import CheckedForm, ClientReader, Clinician, Db
from attunement.web.form_values import entered, parse_date, whole_number
from attunement.web.pages import NotFound, actor, redirect, render
from attunement.web.security import base_url

router = APIRouter()


def _case(db, user: User, case_id: str) -> Case:
    """The case of an address the user may open, else no such page (404)."""
    case = case_with_id(db, case_id) if PUBLIC_ID.fullmatch(case_id) else None
    if case is None or not may_open_case(db, user, case):
        raise NotFound()
    return case


def _treated(db, user: User, case_id: str) -> Case:
    """The case of an address the clinician treats now, else no such page (404)."""
    case = case_with_id(db, case_id) if PUBLIC_ID.fullmatch(case_id) else None
    if case is None or not treats(db, user.id, case.id):
        raise NotFound()
    return case


def _format_choices() -> list[tuple[str, str]]:
    return [(f, format_of(f).label) for f in CASE_FORMATS]


@router.get("/cases/new")
def new_case_page(request: Request, user: Clinician):
    return render(request, "case_new.html", {"problems": [], "values": {}, "formats": _format_choices()})


@router.post("/cases")
def new_case(request: Request, form: CheckedForm, user: Clinician, db: Db):
    try:
        case = create_case(db, user, form.get("label", ""), form.get("format", ""))
    except InvalidInputError as exc:
        context = {"problems": exc.problems, "values": entered(form), "formats": _format_choices()}
        return render(request, "case_new.html", context, 400)
    record(db, actor(user), user.role, "create_case", detail=f"case {case.id} {case.format}")
    return redirect(f"/cases/{case.public_id}")


def _case_page(request: Request, db, user: User, case: Case, status: int = 200, **extra):
    can_change = user.role == "clinician" and treats(db, user.id, case.id)
    view = case_view(
        db,
        case_record(db, case),
        can_change=can_change,
        own_clients=clients_in_no_case(db, user) if can_change else (),
    )
    record(db, actor(user), user.role, "view_case", detail=f"case {case.id}")
    context = {
        "view": view,
        "case": case,
        "roles": [(r, role(r).label) for r in format_of(case.format).roles],
        "checkin_of": checkin_of,
        "problems": [],
        "values": {},
        **extra,
    }
    return render(request, "case.html", context, status)


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: str, user: ClientReader, db: Db):
    return _case_page(request, db, user, _case(db, user, case_id))


def _case_change(request: Request, db, user: User, case_id: str, form, change, anchor: str):
    """A change to a case the clinician treats, rolled back whole and the page shown again with
    the problems (and what was typed) when the input is wrong."""
    case = _treated(db, user, case_id)
    try:
        detail = change(db, user, case, form)
    except InvalidInputError as exc:
        db.rollback()
        case = _treated(db, user, case_id)
        return _case_page(
            request, db, user, case, 400, problems=exc.problems, values=entered(form), form_key=anchor
        )
    record(db, actor(user), user.role, detail[0], detail=f"case {case.id} {detail[1]}".strip())
    return redirect(f"/cases/{case.public_id}#{anchor}")


@router.post("/cases/{case_id}/participants")
def add_case_participant(request: Request, case_id: str, form: CheckedForm, user: Clinician, db: Db):
    def add(db, user, case, form):
        joined = parse_date(form.get("joined_on", ""), "joined_on")
        person = add_participant(
            db,
            user,
            case,
            form.get("role", ""),
            label=form.get("label", ""),
            existing=form.get("existing", ""),
            joined_on=joined,
        )
        record(db, actor(user), user.role, "join_case", client_id=person.client.id, detail=f"case {case.id}")
        return "add_participant", f"{person.row.role} from session {person.row.first_session}"

    return _case_change(request, db, user, case_id, form, add, "people-h")


@router.post("/cases/{case_id}/leave")
def participant_leaves(request: Request, case_id: str, form: CheckedForm, user: Clinician, db: Db):
    def leave(db, user, case, form):
        left_on = parse_date(form.get("left_on", ""), "left_on")
        person = member_leaves(db, case, form.get("member", ""), left_on, form.get("reason", ""))
        record(db, actor(user), user.role, "leave_case", client_id=person.client.id, detail=f"case {case.id}")
        return "member_left", f"after session {person.row.last_session}"

    return _case_change(request, db, user, case_id, form, leave, "leave-h")


@router.post("/cases/{case_id}/therapists")
def add_case_therapist(request: Request, case_id: str, form: CheckedForm, user: Clinician, db: Db):
    def add(db, user, case, form):
        other = add_co_therapist(db, user, case, form.get("username", ""))
        return "add_co_therapist", f"user {other.id}"

    return _case_change(request, db, user, case_id, form, add, "therapists-h")


@router.post("/cases/{case_id}/therapists/remove")
def remove_case_therapist(request: Request, case_id: str, form: CheckedForm, user: Clinician, db: Db):
    def remove(db, user, case, form):
        user_id = whole_number(form.get("therapist", ""), "therapist")
        other = remove_co_therapist(db, user, case, user_id)
        return "remove_co_therapist", f"user {other.id}"

    return _case_change(request, db, user, case_id, form, remove, "therapists-h")


@router.get("/cases/{case_id}/session")
def group_session_page(request: Request, case_id: str, user: ClientReader, db: Db):
    """One case session (the latest unless ``?session=N``): every member's answers at a glance."""
    case = _case(db, user, case_id)
    latest = latest_case_session(db, case)
    wanted = request.query_params.get("session", "")
    chosen = int(wanted) if wanted.isascii() and wanted.isdigit() and 1 <= int(wanted) <= latest else latest
    record_ = case_record(db, case)
    answers = session_answers(db, record_, chosen) if chosen else []
    record(db, actor(user), user.role, "view_case_session", detail=f"case {case.id} session {chosen}")
    context = {
        "case": case,
        "record": record_,
        "session": chosen,
        "latest": latest,
        "answers": answers,
        "checkin_of": checkin_of,
        "can_change": user.role == "clinician" and treats(db, user.id, case.id),
        "problems": [],
    }
    return render(request, "case_session.html", context)


@router.post("/cases/{case_id}/links")
def make_group_links(request: Request, case_id: str, form: CheckedForm, user: Clinician, db: Db):
    """A link for the chosen case session for every current member who has not answered it."""
    case = _treated(db, user, case_id)
    try:
        session = whole_number(form.get("session", ""), "session")
        made = group_links(db, case, user, session)
    except InvalidInputError as exc:
        db.rollback()
        case = _treated(db, user, case_id)
        return _case_page(
            request, db, user, case, 400, problems=exc.problems, values=entered(form), form_key="links-h"
        )
    base = base_url(request)
    for link in made.links:
        record(
            db,
            actor(user),
            user.role,
            "issue_link",
            client_id=link.participant.client.id,
            detail=f"case {case.id} session {session} (own session {link.own_session})",
        )
    context = {"case": case, "session": session, "made": made, "base": base}
    return render(request, "case_links.html", context)


@router.post("/clients/{public_id}/caregiver-link")
def caregiver_link(request: Request, public_id: str, form: CheckedForm, user: Clinician, db: Db):
    """A link for a parent or carer to report on a young person taking part in a family's care."""

    def make(db, user, client, episode, form):
        made = make_caregiver_link(db, episode, user)
        url = base_url(request) + f"/c/{made.token}"
        page = render(
            request,
            "caregiver_link.html",
            {"client": client, "url": url, "session": made.link.session, "days": made.days},
        )
        return Done("issue_caregiver_link", f"episode {episode.number} session {made.link.session}", page)

    return clinician_change(request, db, user, public_id, form, make, "caregiver-h")

"""The clinician's pages: caseload by urgency, a client's page, new clients, links, ratings,
and the record kept for each alert. A supervisor may open the client page of their team, read only.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from attunement.alerts import KINDS as ALERT_KINDS
from attunement.errors import FieldProblem, InvalidInputError
from attunement.store.audit import record
from attunement.store.clients import (
    create_client,
    latest_session,
    may_change,
    may_view,
    touch_client,
    visible_clients,
)
from attunement.store.clock import now
from attunement.store.intake import is_first_contact, latest_intake
from attunement.store.models import AlertRecord, Client, Submission, User
from attunement.store.settings import get_setting, offered_instruments
from attunement.store.submissions import check_session_number, issue_link, store_answers
from attunement.web.casework import load, summaries_for
from attunement.web.charts_slot import outcome_svg, relationship_svg
from attunement.web.intake import INTAKE, IntakeView, intake_view
from attunement.web.pages import NotFound, actor, check_csrf, database, form_data, redirect, render, require
from attunement.web.questionnaires import build_form, parse_answers
from attunement.web.summary_store import refresh, refresh_after_answers

router = APIRouter()
MAX_NOTE = 2000


@router.get("/caseload")
def caseload(request: Request):
    with database(request).session() as db:
        user = require(request, db, "clinician")
        clients = visible_clients(db, user)
        summaries = summaries_for(db, clients)
        rows = sorted(
            ((c, summaries[c.id]) for c in clients),
            key=lambda pair: (pair[1].urgency(), pair[0].status != "ongoing", pair[0].label),
        )
        record(db, actor(user), user.role, "view_caseload", detail=f"{len(rows)} clients")
        return render(request, "caseload.html", {"rows": rows})


@router.get("/clients/new")
def new_client_page(request: Request):
    with database(request).session() as db:
        require(request, db, "clinician")
        return render(request, "client_new.html", {"problems": [], "values": {}})


@router.post("/clients")
async def new_client(request: Request):
    form = await form_data(request)
    check_csrf(request, form)

    def create():
        with database(request).session() as db:
            user = require(request, db, "clinician")
            try:
                client = create_client(db, user, form.get("label", ""), form.get("client_group", ""))
            except InvalidInputError as exc:
                return None, exc.problems
            record(db, actor(user), user.role, "create_client", client_id=client.id)
            return client.public_id, []

    public_id, problems = await run_in_threadpool(create)
    if public_id is None:
        return render(request, "client_new.html", {"problems": problems, "values": form}, 400)
    return redirect(f"/clients/{public_id}")


def _client_for(db, request: Request, user: User, public_id: str) -> Client:
    client = db.scalar(select(Client).where(Client.public_id == public_id))
    if client is None or not may_view(user, client, db.get(User, client.therapist_id)):
        raise NotFound()
    return client


def _changeable(db, request: Request, user: User, public_id: str) -> Client:
    client = _client_for(db, request, user, public_id)
    if not may_change(user, client):
        raise NotFound()
    return client


@router.get("/clients/{public_id}")
def client_page(request: Request, public_id: str):
    with database(request).session() as db:
        user = require(request, db, "clinician", "supervisor")
        client = _client_for(db, request, user, public_id)
        return _client_page(request, db, user, client)


def _client_page(request: Request, db, user: User, client: Client, *, status: int = 200, **extra):
    histories, summaries = load(db, [client])
    summary = summaries[client.id]
    comments = list(
        db.scalars(
            select(Submission)
            .where(Submission.client_id == client.id, Submission.comment.is_not(None))
            .order_by(Submission.session.desc())
            .limit(10)
        )
    )
    records = {
        (r.session, r.kind): r
        for r in db.scalars(select(AlertRecord).where(AlertRecord.client_id == client.id))
    }
    record(db, actor(user), user.role, "view_client", client_id=client.id)
    next_session = latest_session(db, client.id) + 1
    context = {
        "client": client,
        "therapist": db.get(User, client.therapist_id),
        "summary": summary,
        "comments": comments,
        "records": records,
        "can_change": may_change(user, client),
        "next_session": next_session,
        "rating_form": build_form("checkin_therapist"),
        "rating_session": max(1, next_session - 1),
        "intake": _intake_view(db, client),
        "first_contact": may_change(user, client) and is_first_contact(db, client.id),
        "outcome_svg": outcome_svg(histories, 0, "phq9") if histories is not None else None,
        "anxiety_svg": outcome_svg(histories, 0, "gad7") if histories is not None else None,
        "relationship_svg": relationship_svg(histories, 0) if histories is not None else None,
        "problems": [],
        "values": {},
        "link_url": None,
        **extra,
    }
    return render(request, "client.html", context, status)


def _intake_view(db, client: Client) -> IntakeView | None:
    """The client's profile and tailoring from their latest intake answers (None when none)."""
    answers = latest_intake(db, [client.id]).get(client.id)
    return None if answers is None else intake_view(answers, client.label)


@router.post("/clients/{public_id}/links")
async def issue_client_link(request: Request, public_id: str):
    form = await form_data(request)
    check_csrf(request, form)

    def issue():
        with database(request).session() as db:
            user = require(request, db, "clinician")
            client = _changeable(db, request, user, public_id)
            try:
                session = check_session_number(form.get("session", ""))
            except InvalidInputError as exc:
                return _client_page(request, db, user, client, status=400, problems=exc.problems)
            days = int(get_setting(db, "link_valid_days"))
            # The intake questions go with a client's first link, or whenever the clinician asks.
            with_intake = bool(form.get("intake")) or is_first_contact(db, client.id)
            instruments = offered_instruments(db) + ([INTAKE] if with_intake else [])
            token = issue_link(db, client, user, session, instruments, days)
            detail = f"session {session}" + (" with intake profile" if with_intake else "")
            record(db, actor(user), user.role, "issue_link", client_id=client.id, detail=detail)
            url = str(request.base_url).rstrip("/") + f"/c/{token}"
            return render(
                request,
                "link_issued.html",
                {"client": client, "url": url, "session": session, "days": days, "with_intake": with_intake},
            )

    return await run_in_threadpool(issue)


@router.post("/clients/{public_id}/rating")
async def rate_session(request: Request, public_id: str):
    form = await form_data(request)
    check_csrf(request, form)

    def rate():
        with database(request).session() as db:
            user = require(request, db, "clinician")
            client = _changeable(db, request, user, public_id)
            try:
                session = check_session_number(form.get("session", ""))
                parsed = parse_answers(["checkin_therapist"], form)
            except InvalidInputError as exc:
                return _client_page(request, db, user, client, status=400, problems=exc.problems, values=form)
            note = form.get("checkin_therapist_notes", "").strip()[:MAX_NOTE] or None
            store_answers(db, client.id, session, "therapist", parsed.answers, note, submitted_by=user.id)
            refresh_after_answers(db, client, session, "therapist", parsed.answers)
            record(
                db, actor(user), user.role, "rate_session", client_id=client.id, detail=f"session {session}"
            )
            return redirect(f"/clients/{public_id}#rating")

    return await run_in_threadpool(rate)


@router.post("/clients/{public_id}/alerts")
async def record_alert(request: Request, public_id: str):
    """Seen, what was done, what happened next: one record per alert (client, session, kind)."""
    form = await form_data(request)
    check_csrf(request, form)

    def save():
        with database(request).session() as db:
            user = require(request, db, "clinician")
            client = _changeable(db, request, user, public_id)
            problems = []
            kind = form.get("kind", "").strip()
            if kind not in ALERT_KINDS:
                problems.append(FieldProblem("kind", kind, "one of " + ", ".join(ALERT_KINDS)))
            try:
                session = check_session_number(form.get("session", ""))
            except InvalidInputError as exc:
                problems.extend(exc.problems)
                session = 0
            action = form.get("action", "").strip()[:MAX_NOTE]
            outcome = form.get("next_outcome", "").strip()[:MAX_NOTE]
            if kind == "safety" and form.get("seen") and not action:
                problems.append(
                    FieldProblem(
                        "what was done",
                        "",
                        "a recorded action: a safety alert cannot be set aside without one",
                    )
                )
            if problems:
                return _client_page(request, db, user, client, status=400, problems=problems)
            touch_client(db, client.id)
            row = db.scalar(
                select(AlertRecord).where(
                    AlertRecord.client_id == client.id,
                    AlertRecord.session == session,
                    AlertRecord.kind == kind,
                )
            )
            moment = now()
            if row is None:
                row = AlertRecord(client_id=client.id, session=session, kind=kind, updated_at=moment)
                db.add(row)
            if form.get("seen") and row.seen_at is None:
                row.seen_at, row.seen_by = moment, user.id
            if action:
                row.action = action
                if row.seen_at is None:
                    row.seen_at, row.seen_by = moment, user.id
            if outcome:
                row.next_outcome = outcome
            row.updated_at = moment
            db.flush()
            refresh(db, [client])
            record(
                db,
                actor(user),
                user.role,
                "record_alert",
                client_id=client.id,
                detail=f"session {session} {kind}",
            )
            return redirect(f"/clients/{public_id}#alerts")

    return await run_in_threadpool(save)

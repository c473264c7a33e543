"""The client's link: the questionnaires, the thank-you page and, where allowed, their progress.

No account and no JavaScript: the link carries an unguessable single-use token. A valid
submission is checked as a whole, then stored in one transaction that also claims the link, and
only then acknowledged; sending the same link again stores nothing and shows the thank-you page.
A client's first links also carry the intake profile questions, one part each (all optional:
:mod:`attunement.profile.parts`); their answers are checked with the rest and stored in the same
transaction, or nothing is. The page says how many questions it holds.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from starlette.background import BackgroundTask

from attunement.errors import InvalidInputError
from attunement.instruments import instrument_ids
from attunement.instruments.roles import room_checkins
from attunement.profile.parts import IntakePart
from attunement.store.audit import record
from attunement.store.intake import link_part
from attunement.store.licensed_wording import current_wordings
from attunement.store.notifications import deliver
from attunement.store.settings import get_setting
from attunement.store.submissions import claim_and_store, link_flags, open_link
from attunement.store.summary_store import refresh_after_answers
from attunement.web.dependencies import CheckedForm, Db
from attunement.web.form_values import entered
from attunement.web.intake import INTAKE, intake_form, parse_intake
from attunement.web.pages import database, message_page, redirect, render
from attunement.web.progress import client_progress
from attunement.web.questionnaires import build_form, parse_answers

router = APIRouter()
#: Project choice: the client may look at their progress for a day after answering.
PROGRESS_VISIBLE = timedelta(hours=24)
SECONDS_VISIBLE = int(PROGRESS_VISIBLE.total_seconds())
#: The open question of each relationship check-in (individual, family, group, youth).
COMMENT_FIELDS = {checkin: f"{checkin}_different" for checkin in room_checkins()}
#: Whether a link asks intake questions, and which part (None: every question).
Asked = tuple[bool, IntakePart | None]


def _instruments(link) -> list[str]:
    """The questionnaires of the link (the intake questions are handled apart: all optional)."""
    known = set(instrument_ids()) - {INTAKE}
    return [i for i in link.instruments.split(",") if i in known]


def _forms(instruments: list[str], intake: Asked, wordings) -> list:
    carries, part = intake
    return [build_form(i, wordings) for i in instruments] + ([intake_form(part)] if carries else [])


def _form_page(forms: list, values, problems) -> dict:
    """The questionnaire page's context, with the number of questions the page truly holds."""
    count = sum(len(f.questions) for f in forms)
    return {"forms": forms, "values": values, "problems": problems, "question_count": count}


def _parse(instruments: list[str], intake: Asked, form, wordings) -> tuple:
    """Every form of the link checked together: one error naming every problem, or all values."""
    problems = []
    parsed = None
    try:
        parsed = parse_answers(instruments, form, wordings)
    except InvalidInputError as exc:
        problems.extend(exc.problems)
    carries, part = intake
    intake_values, intake_problems = parse_intake(form, part) if carries else ({}, [])
    problems.extend(intake_problems)
    if problems:
        raise InvalidInputError("Some answers need attention", problems)
    return parsed, intake_values


def _closed(request: Request, state: str):
    if state == "expired":
        return message_page(
            request,
            "This link has expired",
            "For your privacy, links work for a limited time. Please ask your therapist for a new one.",
            410,
        )
    return message_page(
        request, "Link not recognised", "This link is not valid. Please check it, or ask your therapist.", 404
    )


@router.get("/c/{token}")
def client_form(request: Request, token: str, db: Db):
    opened = open_link(db, token)
    if opened.state == "used":
        return _thanks(request, db, opened, already=False)
    link = opened.link
    if opened.state != "open" or link is None:
        return _closed(request, opened.state)
    forms = _forms(_instruments(link), link_part(link.instruments), current_wordings(db))
    return render(request, "client_form.html", _form_page(forms, {}, []))


@router.post("/c/{token}")
def client_submit(request: Request, token: str, form: CheckedForm, db: Db):
    """The answers, checked as a whole, then stored in the request's transaction with the link
    claimed; that transaction is committed before the answer goes out."""
    opened = open_link(db, token)
    if opened.state == "used":
        return redirect(f"/c/{token}")
    link, client = opened.link, opened.client
    if opened.state != "open" or link is None or client is None:
        return _closed(request, opened.state)
    instruments, intake = _instruments(link), link_part(link.instruments)
    wordings = current_wordings(db)
    try:
        parsed, intake_values = _parse(instruments, intake, form, wordings)
    except InvalidInputError as exc:
        forms = _forms(instruments, intake, wordings)
        return render(request, "client_form.html", _form_page(forms, entered(form), exc.problems), 400)
    # The check-in's open question: kept only from a form that asked it.
    asked = [field for checkin, field in COMMENT_FIELDS.items() if checkin in instruments]
    comment = next((text for field in asked if (text := form.get(field, "").strip())), None)
    stored = claim_and_store(db, link, parsed.answers, comment, intake_values)
    response = redirect(f"/c/{token}")
    if stored is None:  # claimed by another request meanwhile: the thank-you page
        return response
    sent = instruments + ([INTAKE] if intake_values else [])
    refresh_after_answers(db, client, stored.episode_id, stored.session, "client", parsed.answers)
    record(
        db,
        f"link:{link.id}",
        "client",
        "submit_forms",
        client_id=link.client_id,
        detail=f"session {stored.session}: {', '.join(sent)}",
    )
    # Any notice these answers raised is e-mailed after the answer (so after the commit).
    response.background = BackgroundTask(deliver, database(request))
    request.app.state.answered.set(response, request, token, link.id, SECONDS_VISIBLE)
    return response


def _thanks(request: Request, db, opened, *, already: bool):
    progress = None
    # Only in the browser that sent the answers, for a day: the address of a used link may end up
    # on a shared device, or in someone else's hands.
    recent = request.app.state.answered.holds(request, opened.link.id, SECONDS_VISIBLE)
    if recent and get_setting(db, "client_progress_chart") == "yes":
        progress = client_progress(db, opened.link.client_id)
        record(db, f"link:{opened.link.id}", "client", "view_own_progress", client_id=opened.link.client_id)
    # Like the progress chart; the short crisis line below the thanks is always there.
    crisis = get_setting(db, "crisis_text") if recent and link_flags(db, opened.link.id) else None
    return render(request, "client_thanks.html", {"progress": progress, "crisis": crisis})

"""The client's link: the questionnaires, the thank-you page and, where allowed, their progress.

No account and no JavaScript: the link carries an unguessable single-use token. A valid
submission is checked as a whole, then stored in one transaction that also claims the link, and
only then acknowledged; sending the same link again stores nothing and shows the thank-you page.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from attunement.errors import InvalidInputError
from attunement.instruments import instrument_ids
from attunement.store.audit import record
from attunement.store.clock import aware, now
from attunement.store.settings import get_setting
from attunement.store.submissions import claim_and_store, open_link
from attunement.web.pages import check_csrf, database, form_data, message_page, redirect, render
from attunement.web.progress import client_progress
from attunement.web.questionnaires import build_form, parse_answers
from attunement.web.summary_store import refresh

router = APIRouter()
#: Project choice: the client may look at their progress for a day after answering.
PROGRESS_VISIBLE = timedelta(hours=24)
COMMENT_FIELD = "checkin_different"


def _instruments(link) -> list[str]:
    known = set(instrument_ids())
    return [i for i in link.instruments.split(",") if i in known]


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
def client_form(request: Request, token: str):
    with database(request).session() as db:
        opened = open_link(db, token)
        if opened.state == "used":
            return _thanks(request, db, opened, already=False)
        if opened.state != "open":
            return _closed(request, opened.state)
        forms = [build_form(i) for i in _instruments(opened.link)]
        return render(request, "client_form.html", {"forms": forms, "values": {}, "problems": []})


@router.post("/c/{token}")
async def client_submit(request: Request, token: str):
    form = await form_data(request)
    check_csrf(request, form)

    def submit():
        with database(request).session() as db:
            opened = open_link(db, token)
            if opened.state == "used":
                return "used"
            if opened.state != "open":
                return opened.state
            instruments = _instruments(opened.link)
            try:
                parsed = parse_answers(instruments, form)
            except InvalidInputError as exc:
                return ("invalid", instruments, exc.problems)
            comment = form.get(COMMENT_FIELD, "").strip() or None
            stored = claim_and_store(db, opened.link, parsed.answers, comment)
            if stored:
                refresh(db, [opened.client])
                record(
                    db,
                    f"link:{opened.link.id}",
                    "client",
                    "submit_forms",
                    client_id=opened.link.client_id,
                    detail=f"session {opened.link.session}: {', '.join(instruments)}",
                )
            return "stored" if stored else "used"

    outcome = await run_in_threadpool(submit)
    if isinstance(outcome, tuple):
        _, instruments, problems = outcome
        forms = [build_form(i) for i in instruments]
        return render(
            request, "client_form.html", {"forms": forms, "values": form, "problems": problems}, 400
        )
    if outcome in ("stored", "used"):
        return redirect(f"/c/{token}")
    return _closed(request, outcome)


def _thanks(request: Request, db, opened, *, already: bool):
    progress = None
    recent = opened.link.used_at is not None and now() - aware(opened.link.used_at) < PROGRESS_VISIBLE
    if recent and get_setting(db, "client_progress_chart") == "yes":
        progress = client_progress(db, opened.link.client_id)
        record(db, f"link:{opened.link.id}", "client", "view_own_progress", client_id=opened.link.client_id)
    return render(request, "client_thanks.html", {"progress": progress})

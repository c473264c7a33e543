"""The printable reports of a client's episode: the episode report and the one-page summary of
an attended session. Who may open them is who may open the client page (the treating clinician,
their team's supervisor); the pages are built by :mod:`attunement.web.reports`, which
``attunement report`` prints to PDF from the same templates.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from attunement.errors import InvalidInputError
from attunement.store.audit import record
from attunement.store.episodes import episode_numbered
from attunement.store.models import User
from attunement.web.clinician_change import client_for
from attunement.web.dependencies import ClientReader, Db
from attunement.web.form_values import path_number
from attunement.web.pages import NotFound, actor
from attunement.web.reports import render_report

router = APIRouter()


def _report(request: Request, db: Session, user: User, public_id: str, number: str, session_text: str | None):
    client = client_for(db, request, user, public_id)
    session = None if session_text is None else path_number(session_text)
    episode = episode_numbered(db, client.id, path_number(number))
    if episode is None:
        raise NotFound()
    try:
        page = render_report(db, client, episode, session)
    except InvalidInputError:  # not a session of this episode with answers or a rating
        raise NotFound() from None
    what = "view_report" if session is None else "view_session_summary"
    detail = f"episode {episode.number}" + (f" session {session}" if session is not None else "")
    record(db, actor(user), user.role, what, client_id=client.id, detail=detail)
    return HTMLResponse(page)


@router.get("/clients/{public_id}/episodes/{number}/report")
def episode_report(request: Request, public_id: str, number: str, user: ClientReader, db: Db):
    return _report(request, db, user, public_id, number, None)


@router.get("/clients/{public_id}/episodes/{number}/sessions/{session}/summary")
def session_summary(request: Request, public_id: str, number: str, session: str, user: ClientReader, db: Db):
    return _report(request, db, user, public_id, number, session)

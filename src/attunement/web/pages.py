"""Shared page machinery: the database, the signed-in user, access checks, CSRF and rendering."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from attunement.alerts.kinds import alert_kinds
from attunement.store import Database
from attunement.store.audit import record
from attunement.store.models import User
from attunement.store.notifications import unopened
from attunement.web import filters
from attunement.web.plain_errors import explain
from attunement.web.security import CSRF_FIELD, csrf_token, csrf_valid, session_claim

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
#: The templates ship with the package and change only with it: checking every included file's
#: modification time on every page (a hundred ``stat`` calls for a caseload) buys nothing.
TEMPLATES.env.auto_reload = False
TEMPLATES.env.filters["num"] = filters.num
TEMPLATES.env.filters["proportion"] = filters.proportion
TEMPLATES.env.filters["day"] = filters.day
TEMPLATES.env.filters["moment"] = filters.moment
TEMPLATES.env.filters["clock"] = filters.clock
TEMPLATES.env.globals["explain"] = explain
TEMPLATES.env.globals["alert_labels"] = {k.id: k.label for k in alert_kinds()}
HOMES = {"clinician": "/caseload", "supervisor": "/team", "admin": "/admin"}


@dataclass(frozen=True)
class SignedIn:
    """Who is signed in, as plain values that outlive the database session (for the page header)."""

    id: int
    username: str
    display_name: str
    role: str


class NotSignedIn(Exception):
    """The page needs a signed-in user."""


class Forbidden(Exception):
    """Signed in, but this role may not use this page."""


class NotFound(Exception):
    """No such thing, or not one this user may see (the two are not told apart)."""


class CsrfRejected(Exception):
    """A form without the matching CSRF token."""


def database(request: Request) -> Database:
    return request.app.state.database


def signed_in_user(request: Request, db: Session) -> User | None:
    claim = session_claim(request)
    if claim is None:
        return None
    user = db.get(User, claim.user_id)
    if user is None or not user.active or user.session_epoch != claim.epoch:
        return None
    # Activity: the cookie is signed again on the way out (the idle limit starts over).
    request.state.session_refresh = request.app.state.signer.dump(
        user.id, user.session_epoch, claim.issued, claim.csrf
    )
    return user


def require(request: Request, db: Session, *roles: str) -> User:
    user = signed_in_user(request, db)
    if user is None:
        raise NotSignedIn()
    request.state.user = SignedIn(user.id, user.username, user.display_name, user.role)
    if user.role not in roles:
        raise Forbidden()
    request.state.notices = unopened(db, user.id) if user.role == "clinician" else None
    return user


def audit_refusal(request: Request, why: str) -> None:
    """A refused request goes into the audit log: who (as far as the request says), what route
    (its pattern: no ids) and why; repeated refusals are how probing shows."""
    user = getattr(request.state, "user", None)
    claim = session_claim(request) if user is None else None
    actor = f"user:{user.id}" if user else f"user:{claim.user_id}" if claim else "anonymous"
    route = getattr(request.scope.get("route"), "path", "unmatched")
    with database(request).session() as db:
        record(db, actor, user.role if user else "", "refused", detail=f"{why}: {request.method} {route}")


def check_csrf(request: Request, form: dict[str, str]) -> None:
    if not csrf_valid(request, form.get(CSRF_FIELD)):
        raise CsrfRejected()


class Form(dict[str, str]):
    """The form's text fields (the last value of each), with :meth:`getlist` for a field sent
    several times (ticked boxes) and :meth:`upload` for a file. NUL characters are dropped: no one
    types them, and PostgreSQL cannot store them in text, so a stray one must not make a form fail
    every time it is sent."""

    def __init__(self, sent: FormData) -> None:
        super().__init__({key: _no_nul(value) for key, value in sent.items() if isinstance(value, str)})
        self._sent = sent

    def getlist(self, name: str) -> list[str]:
        """Every text value sent under ``name``, in order."""
        return [_no_nul(value) for value in self._sent.getlist(name) if isinstance(value, str)]

    def upload(self, name: str) -> bytes:
        """The content of the file sent under ``name`` (empty when none was). It is read here,
        synchronously: call it from a route that runs in the thread pool."""
        sent = self._sent.get(name)
        return b"" if sent is None or isinstance(sent, str) else sent.file.read()


def _no_nul(value: str) -> str:
    return value.replace("\x00", "")


async def form_data(request: Request) -> Form:
    """The form of a request (see :class:`Form`)."""
    return Form(await request.form())


def render(request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200):
    values = {
        "csrf_token": csrf_token(request),
        "user": getattr(request.state, "user", None),
        "notices": getattr(request.state, "notices", None),
        "demo": getattr(request.app.state, "demo", False),
        "homes": HOMES,
        **(context or {}),
    }
    return TEMPLATES.TemplateResponse(request, template, values, status_code=status)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def actor(user: User) -> str:
    return f"user:{user.id}"


def message_page(request: Request, title: str, message: str, status: int) -> HTMLResponse:
    return render(request, "message.html", {"title": title, "message": message}, status)

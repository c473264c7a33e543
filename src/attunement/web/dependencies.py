"""What a route declares it needs, as typed FastAPI dependencies.

A route then reads as three steps: its parameters parse the request (the form, checked; the
signed-in user of the right role; the database session), its body calls a service in
:mod:`attunement.store` and renders the answer::

    @router.post("/admin/teams")
    def add_team(request: Request, form: CheckedForm, admin: Admin, db: Db):
        team = create_team(db, form.get("name", ""))
        record(db, actor(admin), admin.role, "create_team", detail=f"team {team.id}")
        return redirect("/admin#teams")

Routes are plain ``def`` functions, so FastAPI runs them in its thread pool (the database is
not used from the event loop). Dependencies are resolved in the order of the parameters: a form
is checked for its CSRF token before the role is, when ``form`` comes first.

:data:`Db` is one session per request that is committed when the route returns, before the
response is sent (an acknowledged change survives a crash), and rolled back when the route
raises; the refusal pages of :mod:`attunement.web.app` are answered after that rollback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from attunement.store.models import User
from attunement.web.form_values import path_number
from attunement.web.pages import Form, check_csrf, database, form_data, require


def _session(request: Request) -> Iterator[Session]:
    with database(request).session() as db:
        yield db


#: The request's database session: committed before the response is sent, rolled back when the
#: route raises.
Db = Annotated[Session, Depends(_session, scope="function")]


def user_of(*roles: str) -> Callable[[Request, Session], User]:
    """A dependency: the signed-in user when their role is one of ``roles``; otherwise
    :class:`~attunement.web.pages.NotSignedIn` (to the sign-in page) or
    :class:`~attunement.web.pages.Forbidden` (403, audited)."""

    def signed_in(request: Request, db: Db) -> User:
        return require(request, db, *roles)

    return signed_in


#: The signed-in administrator.
Admin = Annotated[User, Depends(user_of("admin"))]
#: The signed-in supervisor.
Supervisor = Annotated[User, Depends(user_of("supervisor"))]
#: The signed-in clinician.
Clinician = Annotated[User, Depends(user_of("clinician"))]
#: A clinician or a supervisor: the people who open client pages.
ClientReader = Annotated[User, Depends(user_of("clinician", "supervisor"))]
#: Any signed-in user (their own account page, the model page).
AnyRole = Annotated[User, Depends(user_of("clinician", "supervisor", "admin"))]


def number_in_path(name: str) -> Callable[[Request], int]:
    """A dependency: the whole number in the path parameter ``name``, else no such page (404).
    Declared before the user, it is checked before the role (as a route's own parsing would be)."""

    def number(request: Request) -> int:
        return path_number(request.path_params[name])

    return number


async def _checked_form(request: Request) -> Form:
    form = await form_data(request)
    check_csrf(request, form)
    return form


#: The request's form, its CSRF token checked (403 when it does not match).
CheckedForm = Annotated[Form, Depends(_checked_form)]

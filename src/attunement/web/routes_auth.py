"""Signing in and out, and the front page that sends each role to its home."""

from __future__ import annotations

from fastapi import APIRouter, Request

from attunement.errors import InvalidInputError
from attunement.store.accounts import (
    change_password,
    open_password_link,
    set_password,
    sign_in,
    sign_out,
)
from attunement.store.audit import record
from attunement.web.dependencies import AnyRole, CheckedForm, Db
from attunement.web.pages import HOMES, database, message_page, redirect, render, signed_in_user
from attunement.web.security import clear_session_cookie, csrf_token, set_session_cookie

router = APIRouter()


@router.get("/")
def front(request: Request, db: Db):
    user = signed_in_user(request, db)
    return redirect(HOMES[user.role] if user else "/login")


@router.get("/login")
def login_page(request: Request):
    return render(request, "login.html", {"error": None, "username": ""})


@router.post("/login")
def login(request: Request, form: CheckedForm):
    username, password = form.get("username", ""), form.get("password", "")
    address = request.client.host if request.client else None
    outcome = sign_in(database(request), username, password, address)
    if outcome.wait is not None:
        seconds = outcome.wait.seconds
        if seconds < 120:
            wait = "1 second" if seconds == 1 else f"{seconds} seconds"
        else:
            wait = f"{(seconds + 59) // 60} minutes"
        return render(
            request,
            "login.html",
            {
                "error": f"Too many failed attempts. Please wait {wait} and try again; "
                "an administrator can also help.",
                "username": username,
            },
            429,
        )
    if outcome.user is None:
        return render(
            request,
            "login.html",
            {"error": "The user name or password is not right.", "username": username},
            401,
        )
    user_id, epoch, role = outcome.user
    response = redirect(HOMES[role])
    set_session_cookie(response, request, request.app.state.signer.dump(user_id, epoch))
    return response


@router.post("/logout")
def logout(request: Request, form: CheckedForm, db: Db):
    user = signed_in_user(request, db)
    if user is not None:
        sign_out(user)
        record(db, f"user:{user.id}", user.role, "sign_out")
    request.state.session_refresh = None  # signed out: nothing to keep alive
    response = redirect("/login")
    clear_session_cookie(response, request)
    return response


@router.get("/set-password/{token}")
def set_password_page(request: Request, token: str, db: Db):
    opened = open_password_link(db, token)
    if opened is None:
        return _link_closed(request)
    return render(request, "set_password.html", {"person": opened[1], "problems": []})


@router.post("/set-password/{token}")
def set_own_password(request: Request, token: str, form: CheckedForm, db: Db):
    opened = open_password_link(db, token)
    if opened is None:
        return _link_closed(request)
    try:
        user = set_password(db, opened, form.get("password", ""), form.get("again", ""))
    except InvalidInputError as exc:
        db.rollback()
        return render(request, "set_password.html", {"person": opened[1], "problems": exc.problems}, 400)
    record(db, f"user:{user.id}", user.role, "set_password")
    notice = "Your password is set. Sign in with it now."
    return render(request, "login.html", {"error": None, "notice": notice, "username": user.username})


def _link_closed(request: Request):
    return message_page(
        request,
        "This link no longer works",
        "A set-your-password link works once and for a few days. Ask an administrator for a new one.",
        410,
    )


@router.get("/account")
def account_page(request: Request, user: AnyRole):
    return render(request, "account.html", {"problems": [], "done": False})


@router.post("/account/password")
def change_own_password(request: Request, form: CheckedForm, user: AnyRole, db: Db):
    try:
        change_password(db, user, form.get("current", ""), form.get("password", ""), form.get("again", ""))
    except InvalidInputError as exc:
        db.rollback()
        return render(request, "account.html", {"problems": exc.problems, "done": False}, 400)
    record(db, f"user:{user.id}", user.role, "change_password")
    # Every earlier session of the user has ended; this one goes on with a new cookie, and the
    # same browser session goes on, so the forms on the page keep their token.
    page = render(request, "account.html", {"problems": [], "done": True})
    request.state.session_refresh = None
    cookie = request.app.state.signer.dump(user.id, user.session_epoch, csrf=csrf_token(request))
    set_session_cookie(page, request, cookie)
    return page

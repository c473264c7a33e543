"""Signing in and out, and the front page that sends each role to its home."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from attunement.errors import InvalidInputError
from attunement.store.accounts import (
    Throttled,
    after_sign_in,
    before_sign_in,
    change_password,
    open_password_link,
    password_matches,
    set_password,
)
from attunement.store.audit import record
from attunement.web.pages import (
    HOMES,
    check_csrf,
    database,
    form_data,
    message_page,
    redirect,
    render,
    require,
    signed_in_user,
)
from attunement.web.security import clear_session_cookie, csrf_token, set_session_cookie

router = APIRouter()


@router.get("/")
def front(request: Request):
    with database(request).session() as db:
        user = signed_in_user(request, db)
    return redirect(HOMES[user.role] if user else "/login")


@router.get("/login")
def login_page(request: Request):
    return render(request, "login.html", {"error": None, "username": ""})


@router.post("/login")
async def login(request: Request):
    form = await form_data(request)
    check_csrf(request, form)
    username, password = form.get("username", ""), form.get("password", "")

    address = request.client.host if request.client else None

    def attempt():
        # Three steps, so that the password is hashed with no database transaction open (on
        # SQLite a write transaction locks the whole database for everyone else).
        with database(request).session() as db:
            try:
                check = before_sign_in(db, username, address)
            except Throttled as wait:
                record(
                    db,
                    "anonymous",
                    "",
                    "sign_in_refused",
                    detail=f"wait {wait.seconds} s ({wait.by})",
                )
                return "throttled", wait
        ok = password_matches(check, password)
        with database(request).session() as db:
            user = after_sign_in(db, check, ok, address, password)
            if user is None:
                record(db, "anonymous", "", "sign_in_failed")
                return "wrong", None
            record(db, f"user:{user.id}", user.role, "sign_in")
            return "ok", (user.id, user.session_epoch, user.role)

    outcome, who = await run_in_threadpool(attempt)
    if outcome == "throttled":
        seconds = who.seconds
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
    if outcome == "wrong":
        return render(
            request,
            "login.html",
            {"error": "The user name or password is not right.", "username": username},
            401,
        )
    user_id, epoch, role = who
    response = redirect(HOMES[role])
    set_session_cookie(response, request, request.app.state.signer.dump(user_id, epoch))
    return response


@router.post("/logout")
async def logout(request: Request):
    form = await form_data(request)
    check_csrf(request, form)

    def sign_out():
        with database(request).session() as db:
            user = signed_in_user(request, db)
            if user is not None:
                user.session_epoch += 1
                record(db, f"user:{user.id}", user.role, "sign_out")

    await run_in_threadpool(sign_out)
    request.state.session_refresh = None  # signed out: nothing to keep alive
    response = redirect("/login")
    clear_session_cookie(response, request)
    return response


@router.get("/set-password/{token}")
def set_password_page(request: Request, token: str):
    with database(request).session() as db:
        opened = open_password_link(db, token)
        if opened is None:
            return _link_closed(request)
        return render(request, "set_password.html", {"person": opened[1], "problems": []})


@router.post("/set-password/{token}")
async def set_own_password(request: Request, token: str):
    form = await form_data(request)
    check_csrf(request, form)

    def save():
        with database(request).session() as db:
            opened = open_password_link(db, token)
            if opened is None:
                return _link_closed(request)
            try:
                user = set_password(db, opened, form.get("password", ""), form.get("again", ""))
            except InvalidInputError as exc:
                db.rollback()
                return render(
                    request, "set_password.html", {"person": opened[1], "problems": exc.problems}, 400
                )
            record(db, f"user:{user.id}", user.role, "set_password")
            return render(
                request,
                "login.html",
                {
                    "error": None,
                    "notice": "Your password is set. Sign in with it now.",
                    "username": user.username,
                },
            )

    return await run_in_threadpool(save)


def _link_closed(request: Request):
    return message_page(
        request,
        "This link no longer works",
        "A set-your-password link works once and for a few days. Ask an administrator for a new one.",
        410,
    )


@router.get("/account")
def account_page(request: Request):
    with database(request).session() as db:
        require(request, db, "clinician", "supervisor", "admin")
        return render(request, "account.html", {"problems": [], "done": False})


@router.post("/account/password")
async def change_own_password(request: Request):
    form = await form_data(request)
    check_csrf(request, form)

    def save():
        with database(request).session() as db:
            user = require(request, db, "clinician", "supervisor", "admin")
            try:
                change_password(
                    db, user, form.get("current", ""), form.get("password", ""), form.get("again", "")
                )
            except InvalidInputError as exc:
                db.rollback()
                return render(request, "account.html", {"problems": exc.problems, "done": False}, 400), None
            record(db, f"user:{user.id}", user.role, "change_password")
            # Every earlier session of the user has ended; this one goes on with a new cookie.
            return render(request, "account.html", {"problems": [], "done": True}), (
                user.id,
                user.session_epoch,
            )

    page, kept = await run_in_threadpool(save)
    if kept is not None:
        request.state.session_refresh = None
        # The same browser session goes on, so the forms on the page keep their token.
        set_session_cookie(page, request, request.app.state.signer.dump(*kept, csrf=csrf_token(request)))
    return page

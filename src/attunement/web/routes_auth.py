"""Signing in and out, and the front page that sends each role to its home."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from attunement.store.accounts import Throttled, authenticate
from attunement.store.audit import record
from attunement.web.pages import (
    HOMES,
    check_csrf,
    database,
    form_data,
    redirect,
    render,
    signed_in_user,
)
from attunement.web.security import clear_session_cookie, set_session_cookie

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

    def attempt():
        with database(request).session() as db:
            try:
                user = authenticate(db, username, password)
            except Throttled:
                return "throttled", None
            if user is None:
                return "wrong", None
            record(db, f"user:{user.id}", user.role, "sign_in")
            return "ok", (user.id, user.session_epoch, user.role)

    outcome, who = await run_in_threadpool(attempt)
    if outcome == "throttled":
        return render(
            request,
            "login.html",
            {
                "error": "Too many failed attempts for this user name. Wait 15 minutes and try again, "
                "or ask an administrator.",
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
    response = redirect("/login")
    clear_session_cookie(response, request)
    return response

"""The FastAPI application factory.

``create_app`` opens the database (running the migrations), loads the signing secret, mounts
the local static files and the routes, and answers ``/healthz`` once all that is done. Access
logging is done here, with the route pattern instead of the path, so link tokens and client
identifiers never reach a log.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.middleware.trustedhost import TrustedHostMiddleware

from attunement.store import Database, open_database
from attunement.store.audit import source_address
from attunement.store.delivery import BackgroundWorker
from attunement.store.forecast_source import bundled
from attunement.store.settings import check_zone, get_setting, signing_keys
from attunement.web import (
    routes_admin,
    routes_auth,
    routes_cases,
    routes_client,
    routes_clinician,
    routes_delivery,
    routes_episodes,
    routes_evidence,
    routes_fhir,
    routes_fhir_questionnaires,
    routes_models,
    routes_reports,
    routes_supervisor,
)
from attunement.web.body_limit import BodyLimit
from attunement.web.pages import (
    CsrfRejected,
    Forbidden,
    NotFound,
    NotSignedIn,
    audit_refusal,
    message_page,
    redirect,
)
from attunement.web.security import (
    SESSION_COOKIE,
    AnsweredMark,
    SessionSigner,
    attach_csrf_cookie,
    cookies_secure,
    set_session_cookie,
)

log = logging.getLogger("attunement.web")
STATIC_DIR = Path(__file__).with_name("static")


def settle_heap() -> None:
    """Load what every request needs (the forecast model, the zone names), then move the whole
    heap out of the garbage collector's sight (``gc.freeze``).

    A worker holds some hundred thousand long-lived objects (modules, the model, templates);
    without this every full collection walks them all again, and a library that calls
    ``gc.collect()`` itself (statsmodels' Holm adjustment does) costs a hundred milliseconds."""
    bundled()
    check_zone("UTC")
    gc.collect()
    gc.freeze()


def create_app(database_url: str | None = None, *, database: Database | None = None) -> FastAPI:
    db = database or open_database(database_url)
    with db.session() as session:
        keys = signing_keys(session)
        demo = get_setting(session, "demo_data") == "yes"
    worker = BackgroundWorker(db) if os.environ.get("ATTUNEMENT_DELIVERY_WORKER", "1") != "0" else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        # The delivery worker sends queued messages after their transaction; a clinic that runs
        # ``attunement worker`` on its own may turn this one off (ATTUNEMENT_DELIVERY_WORKER=0).
        if worker is not None:
            worker.start()
        settle_heap()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()

    app = FastAPI(title="attunement", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.database = db
    app.state.delivery = worker
    #: A demo clinic's database (simulated clients, published passwords): every page says so.
    app.state.demo = demo
    app.state.signer = SessionSigner(keys)
    app.state.answered = AnsweredMark(keys)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    hosts = [h.strip() for h in os.environ.get("ATTUNEMENT_ALLOWED_HOSTS", "").split(",") if h.strip()]
    if hosts:  # answer only to the clinic's own host names (a forged Host header gets 400)
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)
    # Inside the headers middleware below, so that a 413 carries the security headers too.
    app.add_middleware(BodyLimit)
    routers = (
        routes_auth,
        routes_client,
        routes_clinician,
        routes_cases,
        routes_delivery,
        routes_episodes,
        routes_supervisor,
        routes_admin,
        routes_evidence,
        routes_models,
        routes_reports,
        routes_fhir,
        routes_fhir_questionnaires,
    )
    for module in routers:
        app.include_router(module.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        with db.session() as session:
            session.execute(text("SELECT 1"))
        return JSONResponse({"status": "ok"})

    @app.middleware("http")
    async def headers_and_log(request: Request, call_next):
        started = time.perf_counter()
        # Every audit entry this request writes says where it came from.
        address = source_address.set(request.client.host if request.client else None)
        try:
            response = await call_next(request)
        finally:
            source_address.reset(address)
        attach_csrf_cookie(request, response)
        refreshed = getattr(request.state, "session_refresh", None)
        if refreshed and not any(SESSION_COOKIE in c for c in response.headers.getlist("set-cookie")):
            set_session_cookie(response, request, refreshed)
        secure_headers(response, cookies_secure(request))
        route = request.scope.get("route")
        pattern = getattr(route, "path", "unmatched")
        log.info(
            "%s %s %s %.1fms",
            request.method,
            pattern,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return response

    @app.exception_handler(NotSignedIn)
    async def _login(request: Request, _exc: NotSignedIn):
        return redirect("/login")

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, _exc: Forbidden):
        await run_in_threadpool(audit_refusal, request, "role")
        return message_page(request, "Not allowed", "Your role does not give access to this page.", 403)

    @app.exception_handler(NotFound)
    async def _missing(request: Request, _exc: NotFound):
        await run_in_threadpool(audit_refusal, request, "not found or not theirs")
        return message_page(request, "Not found", "There is nothing here, or it is not yours to see.", 404)

    @app.exception_handler(CsrfRejected)
    async def _csrf(request: Request, _exc: CsrfRejected):
        await run_in_threadpool(audit_refusal, request, "form token or origin")
        return message_page(
            request,
            "Form expired",
            "This form could not be accepted because its security token was missing or did not "
            "match. Go back, reload the page and send it again.",
            403,
        )

    @app.exception_handler(Exception)
    async def _failed(request: Request, exc: Exception):
        # Only the kind of error and the route pattern reach the log: an error's message may quote
        # what a client or a user typed.
        route = getattr(request.scope.get("route"), "path", "unmatched")
        log.error("%s %s failed: %s", request.method, route, type(exc).__name__)
        response = HTMLResponse(FAILED_PAGE, status_code=500)
        return secure_headers(response)

    return app


#: The page for an error the app did not expect: plain, with nothing from the request in it.
FAILED_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Something went wrong</title>'
    '<link rel="stylesheet" href="/static/style.css"></head><body><main><h1>Something went wrong</h1>'
    "<p>Nothing you sent was stored by this request. Please go back and try again; if it happens "
    "again, tell the clinic.</p></main></body></html>"
)


def secure_headers(response, https: bool = False):
    """The headers every response carries, error pages included (HSTS over HTTPS)."""
    if https:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    )
    return response

"""Signed session cookies and CSRF tokens.

The session cookie holds only a user id and the user's session epoch, signed and time-stamped
with the clinic's key (from the environment, :func:`attunement.store.settings.signing_keys`);
raising the epoch (log-out) voids every earlier cookie. It is HttpOnly,
SameSite=Lax, and Secure whenever the request came over HTTPS (or when forced by
``ATTUNEMENT_SECURE_COOKIES=1``, for a server behind a TLS proxy that does not say so).

CSRF protection: every form repeats a token in a hidden field, and a POST whose token does not
match is refused. For a signed-in user the token belongs to the session: a random value drawn at
sign-in and carried inside the signed session cookie, so a token from another session (another
user, or before signing in) is worth nothing. Before sign-in (the sign-in page, a client's link) it
is a double-submit token: a random value in an HttpOnly cookie.
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "attunement_session"
CSRF_COOKIE = "attunement_csrf"
CSRF_FIELD = "csrf_token"
#: Project choice: a working day; a clinician signs in again after eight hours, whatever they do.
SESSION_SECONDS = 8 * 3600
#: A session left unused this long ends too (a screen left open in a consulting room); the
#: clinic sets it with ``ATTUNEMENT_IDLE_MINUTES``.
IDLE_MINUTES_DEFAULT = 30


def idle_seconds() -> int:
    value = os.environ.get("ATTUNEMENT_IDLE_MINUTES", "").strip()
    minutes = (
        int(value)
        if value.isascii() and value.isdigit() and 0 < int(value) <= 24 * 60
        else IDLE_MINUTES_DEFAULT
    )
    return minutes * 60


@dataclass(frozen=True)
class SessionClaim:
    user_id: int
    epoch: int
    #: When the session began (seconds since the epoch): it ends SESSION_SECONDS after.
    issued: int
    #: The session's CSRF token, drawn at sign-in.
    csrf: str


class SessionSigner:
    """The session cookie: signed again on every page a user opens, so its signing time is the
    last activity (the idle limit), while the time it began travels inside (the absolute limit)."""

    def __init__(self, keys: list[str], idle: int | None = None):
        """``keys`` oldest first: the last signs new cookies, every one verifies (key rotation)."""
        self._serializer = URLSafeTimedSerializer(keys, salt="attunement-session")
        self.idle = idle_seconds() if idle is None else idle

    def dump(self, user_id: int, epoch: int, issued: int | None = None, csrf: str | None = None) -> str:
        """A cookie for a session; a new session (no ``issued``) draws a new CSRF token."""
        return self._serializer.dumps(
            {
                "u": user_id,
                "e": epoch,
                "i": int(time.time()) if issued is None else issued,
                "c": secrets.token_urlsafe(32) if csrf is None else csrf,
            }
        )

    def load(self, cookie: str | None) -> SessionClaim | None:
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=self.idle)
            claim = SessionClaim(int(data["u"]), int(data["e"]), int(data["i"]), str(data["c"]))
        except (BadSignature, KeyError, TypeError, ValueError):
            return None
        return claim if time.time() - claim.issued <= SESSION_SECONDS else None


def cookies_secure(request: Request) -> bool:
    return request.url.scheme == "https" or os.environ.get("ATTUNEMENT_SECURE_COOKIES") == "1"


def set_session_cookie(response: Response, request: Request, value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=cookies_secure(request),
        path="/",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=cookies_secure(request), httponly=True)


def csrf_token(request: Request) -> str:
    """The token a form on this page carries: the session's own while a session cookie is valid,
    else this browser's (from its cookie, or a new one set on the response)."""
    claim = session_claim(request)
    if claim is not None:
        return claim.csrf
    token = getattr(request.state, "csrf", None)
    if token is None:
        existing = request.cookies.get(CSRF_COOKIE, "")
        token = existing if 20 <= len(existing) <= 100 else secrets.token_urlsafe(32)
        request.state.csrf = token
    return token


def session_claim(request: Request) -> SessionClaim | None:
    """The request's session cookie, read once per request (its signature and time limits checked;
    whether the user is still active with this epoch is for the page's access check)."""
    if not hasattr(request.state, "claim"):
        request.state.claim = request.app.state.signer.load(request.cookies.get(SESSION_COOKIE))
    return request.state.claim


def csrf_valid(request: Request, submitted: str | None) -> bool:
    """The form's token is the one this page would carry (the session's, or the browser's cookie),
    and the form came from this site: a browser says where a form was sent from (Origin, else
    Referer); one from another site is refused."""
    claim = session_claim(request)
    expected = claim.csrf if claim is not None else request.cookies.get(CSRF_COOKIE)
    if not (expected and submitted and hmac.compare_digest(expected.encode(), submitted.encode())):
        return False
    return same_site(request)


def same_site(request: Request) -> bool:
    """Whether the request's Origin (or Referer) names this site. A request that names neither
    passes: the token already ties it to this site's cookie, which browsers do not send with a
    form posted from another site (SameSite=Lax)."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":  # browsers send "null" under this app's no-referrer policy
        origin = request.headers.get("referer")
    if not origin:
        return True
    sent_from = urlsplit(origin)
    here = urlsplit(public_url() or str(request.base_url))
    return (sent_from.scheme, sent_from.netloc) == (here.scheme, here.netloc)


def public_url() -> str:
    """The address clients and clinicians reach the app at (``ATTUNEMENT_PUBLIC_URL``), when set:
    links are built from it rather than from what a request's Host header claims."""
    return os.environ.get("ATTUNEMENT_PUBLIC_URL", "").strip().rstrip("/")


def base_url(request: Request) -> str:
    """The address links are built on: :func:`public_url`, or the request's own without a slash."""
    return public_url() or str(request.base_url).rstrip("/")


def attach_csrf_cookie(request: Request, response: Response) -> None:
    token = getattr(request.state, "csrf", None)
    if token is not None and request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(
            CSRF_COOKIE, token, httponly=True, samesite="lax", secure=cookies_secure(request), path="/"
        )


ANSWERED_COOKIE = "attunement_answered"


class AnsweredMark:
    """Marks the browser that sent a link's answers (a signed cookie for that link's address
    only), so that the client's own progress and the crisis box show in that browser alone, and
    not to anyone else who later holds the link's address."""

    def __init__(self, keys: list[str]):
        self._serializer = URLSafeTimedSerializer(keys, salt="attunement-answered")

    def set(self, response: Response, request: Request, token: str, link_id: int, seconds: int) -> None:
        response.set_cookie(
            ANSWERED_COOKIE,
            self._serializer.dumps(link_id),
            max_age=seconds,
            httponly=True,
            samesite="lax",
            secure=cookies_secure(request),
            path=f"/c/{token}",
        )

    def holds(self, request: Request, link_id: int, seconds: int) -> bool:
        cookie = request.cookies.get(ANSWERED_COOKIE)
        if not cookie:
            return False
        try:
            return self._serializer.loads(cookie, max_age=seconds) == link_id
        except BadSignature:
            return False

"""A cap on the size of what a request may send.

Every form of the app is small (the longest, the intake, is a few kilobytes even with long
comments), so a body far larger is refused with 413 before any route reads it: no one can make
the server hold or parse megabytes of form data. Bodies sent without a length are counted as
they arrive and refused as soon as they pass the cap.
"""

from __future__ import annotations

from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Project choice: about a hundred times the largest form the app serves.
MAX_BODY_BYTES = 256 * 1024

TOO_LARGE_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Too large</title>'
    '<link rel="stylesheet" href="/static/style.css"></head><body><main><h1>Too much was sent</h1>'
    "<p>The form was larger than this app accepts. Go back, shorten what you wrote and send it "
    "again.</p></main></body></html>"
)


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending it all: nothing to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
        await HTMLResponse(TOO_LARGE_PAGE, status_code=413)(scope, receive, send)

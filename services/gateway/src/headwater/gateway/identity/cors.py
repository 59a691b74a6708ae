"""CORS for browser clients (the OLake UI), as spec 004 describes: an allow-list of origins, credentials
allowed, methods GET/POST/PUT/PATCH/DELETE/OPTIONS, headers Origin/Content-Type/Accept/Authorization (and
X-Requested-With, which a cookie-authenticated write may send instead of a JSON content type).

An allowed origin is reflected (never `*`, which browsers refuse with credentials) and a preflight answers
200; a preflight from any other origin answers 403 without CORS headers, so the browser blocks the call.
Every answer carries `Vary: Origin`, since whether it has CORS headers depends on the request's origin: a
cache must not hand one origin's answer (or an answer to a request without one) to another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from litestar.datastructures import Headers, MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.types.asgi_types import HTTPResponseBodyEvent, HTTPResponseStartEvent

METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
HEADERS = "Origin, Content-Type, Accept, Authorization, X-Requested-With"
MAX_AGE = "600"


def cors_middleware(origins: Iterable[str]) -> Callable[[ASGIApp], ASGIApp]:
    allowed = frozenset(origins)

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            headers = Headers.from_scope(scope)
            origin = headers.get("origin")
            if (
                origin is not None
                and scope["method"] == "OPTIONS"
                and "access-control-request-method" in headers
            ):
                await _preflight(send, origin if origin in allowed else None)
                return
            reflected = origin if origin in allowed else None

            async def with_cors(message: Message) -> None:
                if message["type"] == "http.response.start":
                    out = MutableScopeHeaders.from_message(message)
                    if reflected is not None:
                        out["Access-Control-Allow-Origin"] = reflected
                        out["Access-Control-Allow-Credentials"] = "true"
                    out.add("Vary", "Origin")
                await send(message)

            await app(scope, receive, with_cors)

        return middleware

    return factory


async def _preflight(send: Send, origin: str | None) -> None:
    if origin is None:
        refused: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": 403,
            "headers": [(b"content-type", b"text/plain"), (b"vary", b"Origin")],
        }
        await send(refused)
        await send(
            HTTPResponseBodyEvent(type="http.response.body", body=b"origin not allowed", more_body=False)
        )
        return
    headers = [
        (b"access-control-allow-origin", origin.encode()),
        (b"access-control-allow-credentials", b"true"),
        (b"access-control-allow-methods", METHODS.encode()),
        (b"access-control-allow-headers", HEADERS.encode()),
        (b"access-control-max-age", MAX_AGE.encode()),
        (b"vary", b"Origin"),
        (b"content-length", b"0"),
    ]
    start: HTTPResponseStartEvent = {"type": "http.response.start", "status": 200, "headers": headers}
    await send(start)
    await send(HTTPResponseBodyEvent(type="http.response.body", body=b"", more_body=False))

"""Forwarding a validated public request to the owning service and its answer back, byte for byte."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response

from headwater.common.principal import Principal
from headwater.gateway.upstream import Upstream


async def forward(
    upstream: Upstream,
    request: Request[Any, Any, Any],
    principal: Principal,
    path: str | None = None,
    body: bytes | None = None,
) -> Response[Any]:
    """Send the request (already validated against the dialect's schema) on and relay status and body.

    `body` replaces the request's own (e.g. once decompressed).
    """
    if body is None and request.method in ("POST", "PATCH", "PUT"):
        body = await request.body()
    answer = await upstream.call(
        request.method,
        path or request.url.path,
        body=body,
        principal=principal,
        query=request.url.query or "",
    )
    if answer.status == 204:
        return Response(content=None, status_code=204)
    return Response(content=answer.body, status_code=answer.status, media_type=answer.content_type)

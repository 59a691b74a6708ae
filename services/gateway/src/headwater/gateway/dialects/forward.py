"""Forwarding a validated public request to the owning service and its answer back, byte for byte."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, Response

from headwater.common.principal import Principal
from headwater.gateway.upstream import Upstream


@dataclass(frozen=True, slots=True)
class Forward:
    """The current request bound to its caller and one upstream service: a forwarding handler validates the
    request (through its signature) and then only calls this."""

    upstream: Upstream
    request: Request[Any, Any, Any]
    principal: Principal

    async def __call__(self, path: str | None = None, body: bytes | None = None) -> Response[Any]:
        """Send the request on and relay status and body. `path` replaces the request's own path (when the
        service serves it elsewhere), `body` the request's own body (e.g. once decompressed)."""
        request = self.request
        if body is None and request.method in ("POST", "PATCH", "PUT"):
            body = await request.body()
        answer = await self.upstream.call(
            request.method,
            path or request.url.path,
            body=body,
            principal=self.principal,
            query=request.url.query or "",
        )
        if answer.status == 204:
            return Response(content=None, status_code=204)
        return Response(content=answer.body, status_code=answer.status, media_type=answer.content_type)

"""Forwarding a validated public request to the owning service and its answer back, byte for byte; and the
route handlers that do nothing else, built from one row each."""

from __future__ import annotations

import re
import types
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from inspect import Parameter as Param
from inspect import Signature
from typing import Annotated, Any, Literal, get_args

from litestar import Request, Response
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, JSONBody, Parameter, SkipValidation

from headwater.common.contracts.types import BIGINT_MAX
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
        """Send the request on and relay status, body and a `Retry-After`. `path` replaces the request's own path (when the
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
        return Response(
            content=answer.body,
            status_code=answer.status,
            media_type=answer.content_type,
            headers={"retry-after": answer.retry_after} if answer.retry_after else None,
        )


# The dependency (see dialects.deps) that binds the request to the service serving it.
ForwardTo = Literal["to_execution_tracking", "to_quality_alerting", "to_scheduler", "to_ingestion"]

_PATH_PARAMETER = re.compile(r"\{(\w+):(\w+)\}")
# An id in a path is a Postgres bigint: a larger number is refused here (422) rather than failing in the service.
_PATH_TYPES: Mapping[str, Any] = {
    "int": Annotated[int, Parameter(ge=-BIGINT_MAX - 1, le=BIGINT_MAX)],
    "str": FromPath[str],
    "uuid": FromPath[uuid.UUID],
}


@dataclass(frozen=True, slots=True)
class Forwarding:
    """Builds the handlers of public routes that only validate the request and forward it to one service
    (through the dependency `to`), listed in the OpenAPI document under `tag`."""

    to: ForwardTo
    tag: str

    def route(
        self,
        method: type[HTTPRouteHandler],
        path: str,
        name: str,
        answer: Any,
        *,
        data: Any = None,
        query: Mapping[str, tuple[Any, Any]] | None = None,
        upstream_path: str | None = None,
        body: bytes | None = None,
        **documented: Any,
    ) -> HTTPRouteHandler:
        """A handler for `method` (Litestar's `get`, `post`, `patch`, `delete`) on `path`, named `name` (which
        makes its OpenAPI operation id), documented as answering `answer` (the service's answer is relayed
        unchecked). It validates the path parameters of `path`, a JSON body of type `data` (optional when the
        type admits None) and the `query` parameters (name: (type, default)), then forwards the request,
        with `upstream_path` and `body` in place of its own when given. `documented` goes to the route
        (summary, description, status_code)."""
        keyword = Param.KEYWORD_ONLY
        parameters = [
            Param(param, keyword, annotation=_PATH_TYPES[kind])
            for param, kind in _PATH_PARAMETER.findall(path)
        ]
        if data is not None:
            optional = isinstance(data, types.UnionType) and type(None) in get_args(data)
            parameters.append(
                Param("data", keyword, annotation=JSONBody[data], default=None if optional else Param.empty)
            )
        parameters.append(Param(self.to, keyword, annotation=NamedDependency[SkipValidation[Forward]]))
        parameters += [Param(q, keyword, annotation=t, default=d) for q, (t, d) in (query or {}).items()]
        # An answer of None (a 204) is documented without a body: Litestar relays the Response all the same.
        returns = None if answer is None else Response[answer]
        to = self.to

        async def handler(**kwargs: Any) -> Response[Any]:
            forward: Forward = kwargs[to]
            return await forward(path=upstream_path, body=body)

        handler.__name__ = handler.__qualname__ = name
        handler.__signature__ = Signature(parameters, return_annotation=returns)
        handler.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": returns}
        return method(path, tags=[self.tag], **documented)(handler)

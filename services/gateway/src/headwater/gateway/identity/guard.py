"""The guard every route passes: authenticate the request, then apply the role policy and project membership.

A write authenticated by the session cookie must also say it is an API call (`Content-Type: application/json`
or an `X-Requested-With` header): a cross-site HTML form can send neither, so SameSite=Lax is not the only
defence against cross-site request forgery. Bearer-authenticated requests carry no ambient credential and are
unaffected; `POST /logout` is exempt (`opt={"csrf_exempt": True}`: forcing a logout harms nobody).

The verified principal is kept in the ASGI scope for the `principal` dependency (which forwards it to the
services) and for the audit middleware.
"""

from __future__ import annotations

from typing import Any, Final, cast

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from prometheus_client import Counter

from headwater.common.contracts.types import storable
from headwater.common.logging import get_logger
from headwater.common.principal import Principal
from headwater.gateway.dialects.olake.paths import is_olake
from headwater.gateway.identity.policy import PERMISSIONS, Permission, allows, default_permission
from headwater.gateway.identity.service import Identity

log = get_logger(__name__)

REFUSED = Counter(
    "headwater_gateway_requests_refused_total",
    "Requests the guard refused, by reason",
    ["reason"],  # unauthenticated, forbidden, not_a_member, cookie_write_not_json
)
COOKIE_WRITE_REFUSED = (
    "a write authenticated by the session cookie must send Content-Type: application/json "
    "(or an X-Requested-With header)"
)

SESSION_COOKIE: Final = "headwater_session"
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
PROJECT_ID_MAX_LENGTH: Final = 200  # as the `project` table stores it
SCOPE_KEY: Final = "headwater.principal"


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    scheme, _, value = connection.headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def says_api_call(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """A JSON body or an `X-Requested-With` header: what a cross-site form cannot send without CORS."""
    media_type = connection.headers.get("content-type", "").partition(";")[0].strip().lower()
    return media_type == "application/json" or "x-requested-with" in connection.headers


def permission_of(handler: BaseRouteHandler, method: str) -> Permission:
    permission = handler.opt.get("permission")
    if permission is None:
        return "public" if method == "OPTIONS" else default_permission(method)
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r} on {handler}")
    return cast(Permission, permission)


async def authorize(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    method: str = connection.scope.get("method", "GET")  # type: ignore[assignment]
    permission = permission_of(handler, method)
    if permission == "public":
        return
    identity: Identity = connection.app.state.identity
    bearer, session = bearer_token(connection), connection.cookies.get(SESSION_COOKIE)
    principal = None
    if session and is_olake(connection.url.path):
        # The OLake UI sends its session cookie with `Authorization: Bearer authenticated` (not a token): on its
        # paths a valid cookie wins, as on OLake's own server.
        principal = await identity.authentication.authenticate(None, session)
    if principal is None:
        principal = await identity.authentication.authenticate(bearer, session)
    if principal is None:
        REFUSED.labels("unauthenticated").inc()
        raise NotAuthorizedException("Not authenticated", headers={"WWW-Authenticate": "Bearer"})
    connection.scope[SCOPE_KEY] = principal  # type: ignore[literal-required]  # the audit names refused callers too
    if (
        principal.via == "session"
        and method not in SAFE_METHODS
        and not handler.opt.get("csrf_exempt")
        and not says_api_call(connection)
    ):
        REFUSED.labels("cookie_write_not_json").inc()
        log.info("request_refused", reason="cookie_write_not_json", path=connection.url.path, method=method)
        raise PermissionDeniedException(COOKIE_WRITE_REFUSED)
    if not allows(principal.role, permission):
        REFUSED.labels("forbidden").inc()
        raise PermissionDeniedException(
            "Insufficient permissions" if permission != "manage_users" else "only a superuser manages users"
        )
    project_id = connection.path_params.get("project_id")
    if project_id is not None:
        if not storable(
            str(project_id), PROJECT_ID_MAX_LENGTH
        ):  # no project has it, and Postgres would refuse it
            raise NotFoundException("no such project")
        if not await identity.projects.may_enter(principal, str(project_id)):
            REFUSED.labels("not_a_member").inc()
            raise PermissionDeniedException(f"not a member of project {project_id}")
        principal = msgspec.structs.replace(principal, project=str(project_id))
    connection.scope[SCOPE_KEY] = principal  # type: ignore[literal-required]


def current_principal(request: Request[Any, Any, Any]) -> Principal:
    """The `principal` dependency: who the guard let in (a public route has none)."""
    principal = request.scope.get(SCOPE_KEY)  # type: ignore[misc]
    if principal is None:
        raise NotAuthorizedException("Not authenticated", headers={"WWW-Authenticate": "Bearer"})
    return cast(Principal, principal)


def principal_in(scope: Any) -> Principal | None:
    return scope.get(SCOPE_KEY)

"""OLake login (spec 004): sign up, log in with a session cookie, who am I, log out.

Envelope `{success, message, data}`; errors `{success: false, message}` (see dialects.errors). The session
cookie is HttpOnly, SameSite=Lax, lasts 30 days and is Secure when the request came over TLS (directly or
through a proxy that says so in `X-Forwarded-Proto`).
"""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Response, get, post
from litestar.datastructures import Cookie
from litestar.params import JSONBody
from msgspec import Struct

from headwater.common.contracts.types import Name, Secret
from headwater.gateway.dialects.deps import AnyRequest, Caller, Identities
from headwater.gateway.identity.guard import SESSION_COOKIE
from headwater.gateway.identity.logins import NotAuthenticated, WrongPassword

PUBLIC = {"permission": "public"}
TELEMETRY_ID = secrets.token_hex(16)  # this gateway process's anonymous id for the UI's analytics
SELF = {"permission": "self"}


class Login(Struct, kw_only=True):
    username: Name
    password: Secret


class Signup(Struct, kw_only=True):
    email: Name
    username: Name
    password: Secret


def envelope(message: str, data: Any, status: int = 200) -> Response[Any]:
    return Response({"success": True, "message": message, "data": data}, status_code=status)


def client_address(request: AnyRequest) -> str:
    """The client's address, through the trusted proxies (`HEADWATER_GATEWAY_TRUSTED_PROXIES`)."""
    return request.app.state.identity.address_of(request.scope)


def _secure(request: AnyRequest) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "").lower() == "https"


@post("/login", opt=PUBLIC, tags=["Auth (OLake)"], summary="Log in; sets the session cookie")
async def login(data: JSONBody[Login], request: AnyRequest, identity: Identities) -> Response[Any]:
    try:
        user = await identity.logins.check_password(data.username, data.password, client_address(request))
    except NotAuthenticated as exc:
        # 400 as OLake answers: its UI takes a 401 for "session over" and reloads the login page without the message.
        message = "Invalid credentials" if isinstance(exc, WrongPassword) else exc.detail
        return Response({"success": False, "message": message}, status_code=400)
    session_id, expires = await identity.logins.open_session(user)
    response = envelope("login successful", {"username": user["username"]})
    response.set_cookie(
        Cookie(
            key=SESSION_COOKIE,
            value=session_id,
            max_age=identity.settings.session_days * 86400,
            expires=int(expires.timestamp()),
            path="/",
            httponly=True,
            samesite="lax",
            secure=_secure(request),
        )
    )
    return response


@post("/signup", opt=PUBLIC, tags=["Auth (OLake)"], summary="Register a new user")
async def signup(data: JSONBody[Signup], request: AnyRequest, identity: Identities) -> Response[Any]:
    user = await identity.users.signup(data.username, data.email, data.password, client_address(request))
    message = "user created successfully"
    if not user["is_active"]:
        message += "; a superuser must activate the account before it can log in"
    return envelope(message, {"email": user["email"], "username": user["username"]})


@get(["/auth", "/auth/check"], opt=SELF, tags=["Auth (OLake)"], summary="Whether the caller is logged in")
async def check(principal: Caller) -> Response[Any]:
    return envelope("user is authenticated", {"username": principal.username})


@post(
    "/logout",
    status_code=200,
    opt={**SELF, "csrf_exempt": True},
    tags=["Auth (OLake)"],
    summary="End the session and clear its cookie",
)
async def logout(request: AnyRequest, identity: Identities) -> Response[Any]:
    if session_id := request.cookies.get(SESSION_COOKIE):
        await identity.logins.close_session(session_id)
    response = envelope("logged out", None)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@get("/telemetry-id", opt=PUBLIC, tags=["Auth (OLake)"], summary="An anonymous id for the UI's analytics")
async def telemetry_id() -> Response[Any]:
    return envelope("success", {"user_id": TELEMETRY_ID})


ROUTES = [login, signup, check, logout, telemetry_id]

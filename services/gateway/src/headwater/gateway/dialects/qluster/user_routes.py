"""Qluster users (spec 003): the OAuth2 password flow `POST /token`, `GET /users/me`, and user administration
(superusers only): list, create, patch (id in the body) and get one.

Passwords are never returned: the spec's `password` field is obfuscated, as Qluster does with sensitive data.
Users made here log in with their email (it is also their username).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, get, patch, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK
from msgspec import UNSET, Struct, UnsetType
from sqlalchemy import RowMapping

from headwater.common.contracts.qluster import Page
from headwater.common.contracts.types import Name, Secret
from headwater.common.errors import Invalid
from headwater.common.principal import Role
from headwater.gateway.dialects.deps import AnyRequest, Caller, Identities
from headwater.gateway.dialects.olake.auth_routes import client_address
from headwater.gateway.identity.service import Identity
from headwater.gateway.identity.users import Forbidden, NewUser

OBFUSCATED = "**********"


class TokenForm(Struct, kw_only=True):
    username: Name
    password: Secret
    grant_type: Name | None = None
    scope: Name = ""
    client_id: Name | None = None
    client_secret: Secret | None = None


class AccessToken(Struct, kw_only=True):
    access_token: str
    token_type: str = "bearer"
    redirect_post_submit_to: str = ""


class UserCreate(Struct, kw_only=True):
    email: Name
    raw_password: Secret
    raw_password2: Secret
    first_name: Name
    last_name: Name
    is_active: bool
    is_verified: bool
    user_type: Role
    data_source_model_ids: list[int] = msgspec.field(default_factory=list)


class UserPatch(Struct, kw_only=True):
    id: uuid.UUID
    email: Name | UnsetType = UNSET
    raw_password: Secret | UnsetType = UNSET
    raw_password2: Secret | UnsetType = UNSET
    first_name: Name | UnsetType = UNSET
    last_name: Name | UnsetType = UNSET
    is_active: bool | UnsetType = UNSET
    is_verified: bool | UnsetType = UNSET
    user_type: Role | UnsetType = UNSET
    data_source_model_ids: list[int] | UnsetType = UNSET


class User(Struct, kw_only=True):
    id: uuid.UUID
    email: str
    first_name: str
    last_name: str
    is_active: bool
    is_verified: bool
    user_type: str
    created_at: datetime
    updated_at: datetime
    password: str
    last_failed_logins_at: list[datetime]
    data_source_model_ids: list[int]
    created_by_user_id: str | None
    created_by_user_email: str | None
    redirect_post_submit_to: str = ""
    username: str = ""


class UserPage(Page, kw_only=True):
    results: list[User]
    title: str = "Users"


async def _users(identity: Identity, rows: list[RowMapping]) -> list[User]:
    failures = await identity.users.failed_logins(rows)
    creators = await identity.users.creators(rows)
    out: list[User] = []
    for r in rows:
        creator = creators.get(r["created_by_user_id"]) if r["created_by_user_id"] else None
        out.append(
            User(
                id=r["id"],
                email=r["email"],
                first_name=r["first_name"],
                last_name=r["last_name"],
                is_active=r["is_active"],
                is_verified=r["is_verified"],
                user_type=r["user_type"],
                created_at=r["created_at"],
                updated_at=r["updated_at"],
                password=OBFUSCATED,
                last_failed_logins_at=failures.get(r["username"].lower(), []),
                data_source_model_ids=list(r["data_source_ids"]),
                created_by_user_id=str(r["created_by_user_id"]) if r["created_by_user_id"] else None,
                created_by_user_email=creator["email"] if creator else None,
                username=r["username"],
            )
        )
    return out


async def _user(identity: Identity, row: RowMapping) -> User:
    return (await _users(identity, [row]))[0]


@post(
    "/token",
    opt={"permission": "public"},
    status_code=HTTP_200_OK,
    tags=["Users (Qluster)"],
    summary="Login For Access Token (OAuth2 password flow)",
)
async def token(
    data: Annotated[TokenForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    request: AnyRequest,
    identity: Identities,
) -> AccessToken:
    if data.grant_type not in (None, "", "password"):
        raise Invalid("grant_type must be password")
    user = await identity.logins.check_password(data.username, data.password, client_address(request))
    return AccessToken(access_token=identity.logins.access_token(user))


@get("/users/me", opt={"permission": "self"}, tags=["Users (Qluster)"], summary="Read Users Me")
async def me(principal: Caller, identity: Identities) -> User:
    return await _user(identity, await identity.users.get(principal.subject))


class UserController(Controller):
    path = "/users"
    tags = ["Users (Qluster)"]
    opt = {"permission": "manage_users"}

    @get("/", summary="Get Users List")
    async def list_users(
        self,
        identity: Identities,
        start: FromQuery[int] = 0,
        limit: FromQuery[int] = 20,
        reverse: FromQuery[bool] = True,
    ) -> UserPage:
        """Newest first by default; `start` is the position of the page's first user in that order."""
        if not 1 <= limit <= 1000 or start < 0:
            raise Invalid("`limit` must be between 1 and 1000 and `start` at least 0")
        rows = await identity.users.page(offset=start, limit=limit + 1, newest_first=reverse)
        more = len(rows) > limit
        return UserPage(
            next={"start": start + limit, "limit": limit, "reverse": reverse} if more else None,
            previous={"start": max(0, start - limit), "limit": limit, "reverse": reverse} if start else None,
            results=await _users(identity, rows[:limit]),
            filters={},
        )

    @post("/", status_code=HTTP_200_OK, summary="Create User View")
    async def create(self, data: JSONBody[UserCreate], principal: Caller, identity: Identities) -> User:
        if data.raw_password != data.raw_password2:
            raise Invalid("raw_password and raw_password2 do not match")
        row = await identity.users.create(
            NewUser(
                username=data.email,
                email=data.email,
                password=data.raw_password,
                user_type=data.user_type,
                first_name=data.first_name,
                last_name=data.last_name,
                is_active=data.is_active,
                is_verified=data.is_verified,
                data_source_ids=tuple(data.data_source_model_ids),
            ),
            created_by=principal,
        )
        return await _user(identity, row)

    @patch("/", summary="Patch User")
    async def update(self, data: JSONBody[UserPatch], identity: Identities) -> User:
        given = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not UNSET and k != "id"}
        password, again = given.pop("raw_password", None), given.pop("raw_password2", None)
        if password is not None or again is not None:
            if password != again:
                raise Invalid("raw_password and raw_password2 do not match")
            given["password"] = password
        if "data_source_model_ids" in given:
            given["data_source_ids"] = given.pop("data_source_model_ids")
        return await _user(identity, await identity.users.update(str(data.id), given))

    @get("/{user_id:str}", opt={"permission": "self"}, summary="Get One User")
    async def get_one(self, user_id: FromPath[str], principal: Caller, identity: Identities) -> User:
        """A superuser reads anyone; every user reads themself."""
        if user_id != principal.subject and principal.role != "superuser":
            raise Forbidden("only a superuser reads other users")
        return await _user(identity, await identity.users.get(user_id))


ROUTES = [token, me, UserController]

"""API tokens for SDKs and producers (our addition; the Watcher SDK sends `Authorization: Bearer <token>`).

A user creates tokens for themself; a token acts with its owner's current role. The token is in the answer
to its creation only: it is stored as a digest and cannot be shown again. Revoking takes effect within the
principal cache's lifetime (5 s by default) on every gateway replica.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from msgspec import Struct
from sqlalchemy import RowMapping

from headwater.common.contracts.types import Name
from headwater.gateway.dialects.deps import Caller, Identities


class TokenCreate(Struct, kw_only=True):
    name: Name
    expires_in_days: int | None = None  # None: until revoked


class Token(Struct, kw_only=True):
    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


class CreatedToken(Token, kw_only=True):
    token: str  # shown only in this answer


def _token_fields(row: RowMapping) -> dict[str, Any]:
    return {f: row[f] for f in Token.__struct_fields__}


class TokenController(Controller):
    path = "/api/v1/tokens"
    tags = ["API tokens"]
    opt = {"permission": "self"}

    @post("/", status_code=HTTP_201_CREATED, summary="Create an API token (shown once)")
    async def create(
        self, data: JSONBody[TokenCreate], principal: Caller, identity: Identities
    ) -> CreatedToken:
        row, secret = await identity.tokens.create(principal, data.name, expires_in_days=data.expires_in_days)
        return CreatedToken(**_token_fields(row), token=secret)

    @get("/", summary="List my API tokens (never the tokens themselves)")
    async def list_mine(self, principal: Caller, identity: Identities) -> list[Token]:
        return [Token(**_token_fields(r)) for r in await identity.tokens.of_owner(principal)]

    @delete("/{token_id:str}", status_code=HTTP_204_NO_CONTENT, summary="Revoke an API token")
    async def revoke(self, token_id: FromPath[str], principal: Caller, identity: Identities) -> None:
        await identity.tokens.revoke(principal, token_id)


ROUTES = [TokenController]

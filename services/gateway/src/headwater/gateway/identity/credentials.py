"""Secrets and how they are checked: argon2 passwords, random session ids and API tokens, JWT access tokens.

Session ids and API tokens are 256-bit random strings, stored only as their SHA-256 digest: a leaked table
does not reveal them, and a request is authenticated with one indexed lookup. Passwords are argon2id hashes
(RFC 9106 low-memory profile), computed in one of two worker threads so a login never stalls the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Final

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

API_TOKEN_PREFIX: Final = "hw_"
MIN_PASSWORD_LENGTH: Final = 8
JWT_ALGORITHM: Final = "HS256"

_hasher = PasswordHasher()
# Each argon2 computation takes 64 MiB and ~150 ms of a core: at most two at a time per process, so a login
# flood queues instead of exhausting the container's memory (512 MiB in deploy/k8s) or every core.
_ARGON2 = ThreadPoolExecutor(max_workers=2, thread_name_prefix="argon2")


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so an unknown name costs as much time as a wrong
    password; made on first use, not at import (each costs ~150 ms of CPU)."""
    return _hasher.hash(secrets.token_urlsafe(16))


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_ARGON2, _hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.get_running_loop().run_in_executor(_ARGON2, check)


def generate_password() -> str:
    return secrets.token_urlsafe(18)


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_prefix(token: str) -> str:
    """What lists show of a token so its owner can tell tokens apart; never enough to use it."""
    return token[:10]


class InvalidAccessToken(Exception):
    """The JWT is malformed, forged or expired."""


def issue_access_token(user_id: uuid.UUID, *, key: str, minutes: int, now: datetime | None = None) -> str:
    issued = now or datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(minutes=minutes)).timestamp()),
        "jti": uuid.uuid4().hex,
        "typ": "access",
    }
    # PyJWT's key type names cryptography's key classes, which are not installed (an HMAC str key is used here).
    return jwt.encode(claims, key, algorithm=JWT_ALGORITHM)  # pyright: ignore[reportUnknownMemberType]


def read_access_token(token: str, *, key: str) -> uuid.UUID:
    """The user id of a valid, unexpired access token."""
    try:
        claims = jwt.decode(  # pyright: ignore[reportUnknownMemberType]  (as in issue_access_token)
            token, key, algorithms=[JWT_ALGORITHM], options={"require": ["sub", "exp", "iat"]}
        )
        if claims.get("typ") != "access":
            raise InvalidAccessToken("not an access token")
        return uuid.UUID(claims["sub"])
    except (jwt.PyJWTError, ValueError) as exc:
        raise InvalidAccessToken(str(exc)) from exc


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and not token.startswith(API_TOKEN_PREFIX)

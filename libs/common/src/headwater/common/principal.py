"""Who is calling: the principal the gateway verified, passed to every service in one signed request header.

The gateway authenticates (session cookie, JWT access token or API token) and authorises by role; it then
forwards the verified principal as JSON in `x-headwater-principal`, signed in `x-headwater-signature` with the
key every process shares (`HEADWATER_INTERNAL_SIGNING_KEY`). Services use it for object-level scoping: a
`limited_to_source` principal sees only the data sources listed in `data_sources`.

Services do not trust the network: a call whose principal is not signed for its method, path and query within
the last minute is refused (401), whoever reached the port. An operator's tool calling a service directly signs
as `SYSTEM` with the same key (`python -m headwater.<service> call`).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Final, Literal

import msgspec

HEADER: Final = "x-headwater-principal"
SIGNATURE_HEADER: Final = "x-headwater-signature"
MAX_SKEW_SECONDS: Final = 60.0  # how old (or, clocks differing, how far ahead) a signature may be
MIN_KEY_LENGTH: Final = 32

Role = Literal["superuser", "editor", "limited_to_source", "read_only", "billing"]
ROLES: Final[tuple[Role, ...]] = ("superuser", "editor", "limited_to_source", "read_only", "billing")


class Principal(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    subject: str  # the user's id, or "system"
    username: str = ""
    role: Role = "read_only"
    data_sources: tuple[int, ...] | None = None  # the granted data sources of a `limited_to_source` principal
    project: str | None = None  # the OLake project the request is scoped to, when its path names one
    via: Literal["session", "access_token", "api_token", "internal"] = "internal"

    def header(self) -> str:
        return msgspec.json.encode(self).decode()

    @property
    def limited_to_sources(self) -> bool:
        return self.role == "limited_to_source"

    @property
    def visible_data_sources(self) -> tuple[int, ...] | None:
        """The data sources whose rows the principal may reach (rows of no data source: none of them); None
        when it is not limited and reaches every row."""
        return (self.data_sources or ()) if self.limited_to_sources else None


SYSTEM: Final = Principal(subject="system", username="system", role="superuser")


class InvalidPrincipal(ValueError):
    """The header is present but not a principal."""


_decoder = msgspec.json.Decoder(Principal)


def from_header(value: str) -> Principal:
    """The principal of a request's `x-headwater-principal` header."""
    try:
        return _decoder.decode(value)
    except msgspec.ValidationError as exc:
        raise InvalidPrincipal(f"invalid {HEADER} header: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise InvalidPrincipal(f"invalid {HEADER} header: not JSON") from exc


class Unauthenticated(ValueError):
    """The call's principal is not signed with the shared key: unsigned, malformed, expired or forged.
    `reason` is one of those words (a metric label), the message says what to fix."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class PrincipalSigner:
    """Signs and verifies the principal of internal calls: HMAC-SHA256 with the shared key over the timestamp,
    method, path, query string and the principal header's exact text.

    `x-headwater-signature: t=<unix seconds>,v1=<hex digest>`. Binding the method, path and query means a
    captured signature cannot be turned into another call; the short window bounds its replay to the same call.
    Costs a few microseconds per call (an HMAC of a few hundred bytes, from a pre-keyed state).
    """

    __slots__ = ("_clock", "_keyed", "max_skew")

    def __init__(
        self, key: str, *, max_skew: float = MAX_SKEW_SECONDS, clock: Callable[[], float] = time.time
    ) -> None:
        self._keyed = hmac.new(key.encode(), digestmod=hashlib.sha256)
        self.max_skew = max_skew
        self._clock = clock

    def _digest(self, timestamp: str, method: str, path: str, query: str, principal: str) -> str:
        # One field a line; the decoded path, the only one that may hold a newline, after its length.
        mac = self._keyed.copy()
        message = f"{timestamp}\n{method}\n{len(path)}:{path}\n{query}\n{principal}"
        mac.update(message.encode("utf-8", "surrogatepass"))
        return mac.hexdigest()

    def sign(self, method: str, path: str, query: str, principal: str) -> str:
        """The signature header's value for a call of `method` on `path` (as the service decodes it) with the
        raw `query` string, carrying the principal header `principal`."""
        timestamp = str(int(self._clock()))
        return f"t={timestamp},v1={self._digest(timestamp, method, path, query, principal)}"

    def headers(self, principal: Principal, method: str, path: str, query: str = "") -> dict[str, str]:
        """Both headers of a call as `principal`."""
        value = principal.header()
        return {HEADER: value, SIGNATURE_HEADER: self.sign(method, path, query, value)}

    def verify(
        self, method: str, path: str, query: str, principal: str | None, signature: str | None
    ) -> Principal:
        """The principal of a call whose headers are `principal` and `signature`; Unauthenticated unless it
        was signed with the key, for this call, within `max_skew` seconds; InvalidPrincipal when the signed
        header is not a principal."""
        if not principal or not signature:
            raise Unauthenticated(
                "unsigned",
                f"internal call without {HEADER} and {SIGNATURE_HEADER}: only the gateway may call",
            )
        stamp, _, digest = signature.partition(",v1=")
        timestamp = stamp.removeprefix("t=")
        if not stamp.startswith("t=") or not (timestamp.isascii() and timestamp.isdigit()) or not digest:
            raise Unauthenticated("malformed", f"{SIGNATURE_HEADER} must be t=<unix seconds>,v1=<hex>")
        if abs(self._clock() - int(timestamp)) > self.max_skew:
            raise Unauthenticated(
                "expired", f"{SIGNATURE_HEADER} is older than {self.max_skew:g} s (or clocks differ)"
            )
        expected = self._digest(timestamp, method, path, query, principal)
        if not hmac.compare_digest(expected.encode(), digest.encode("utf-8", "surrogatepass")):
            raise Unauthenticated("forged", f"{SIGNATURE_HEADER} does not match this call")
        return from_header(principal)

"""The caller's principal in a service: signed by the gateway with the internal key, verified before anything
else, refused when limited to data sources on routes of no data source."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pytest
from litestar import Litestar, Router, get
from litestar.di import NamedDependency, Provide
from litestar.middleware import DefineMiddleware
from litestar.testing import TestClient

from headwater.common.http import (
    EXCEPTION_HANDLERS,
    INTERNAL_CALLS_REFUSED,
    LIMITED_TO_SOURCE_REFUSED,
    SignedPrincipalMiddleware,
    caller,
    health_handlers,
    metrics,
    refuse_limited_to_source,
)
from headwater.common.principal import HEADER, SIGNATURE_HEADER, SYSTEM, Principal, PrincipalSigner

KEY = "k" * 32
LIMITED = Principal(subject="7", username="lim", role="limited_to_source", data_sources=(1, 2), via="session")
EDITOR = Principal(subject="8", username="ed", role="editor", via="api_token")


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@get("/whoami", sync_to_thread=False)
def whoami(principal: NamedDependency[Principal]) -> Principal:
    return principal


@get("/pipelines", sync_to_thread=False)
def pipelines() -> list[str]:
    return ["p"]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def signer(clock: Clock) -> PrincipalSigner:
    return PrincipalSigner(KEY, clock=clock)


@pytest.fixture
def client(signer: PrincipalSigner) -> Iterator[TestClient[Litestar]]:
    app = Litestar(
        route_handlers=[
            whoami,
            Router(path="/", route_handlers=[pipelines], guards=[refuse_limited_to_source]),
            *health_handlers(),
            metrics,
        ],
        dependencies={"principal": Provide(caller, sync_to_thread=False)},
        middleware=[DefineMiddleware(SignedPrincipalMiddleware, service="test", signer=signer)],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    with TestClient(app) as c:
        yield c


def refused(reason: str) -> float:
    return INTERNAL_CALLS_REFUSED.labels("test", reason)._value.get()  # pyright: ignore[reportAttributeAccessIssue]


@pytest.mark.parametrize("principal", [LIMITED, EDITOR, SYSTEM])
def test_a_signed_principal_is_the_caller(
    client: TestClient[Litestar], signer: PrincipalSigner, principal: Principal
) -> None:
    r = client.get("/whoami", headers=signer.headers(principal, "GET", "/whoami"))
    assert (r.status_code, msgspec.json.decode(r.content, type=Principal)) == (200, principal)


def test_a_call_without_a_principal_is_401_not_the_system(client: TestClient[Litestar]) -> None:
    before = refused("unsigned")
    for path in ("/whoami", "/pipelines"):
        r = client.get(path)
        assert r.status_code == 401
        assert "only the gateway may call" in r.json()["detail"]
    assert refused("unsigned") == before + 2


def test_a_principal_is_signed_as_utf_8(client: TestClient[Litestar], signer: PrincipalSigner) -> None:
    """A user's name may be any text: the header is the principal's JSON in UTF-8, signed as such."""
    zoe = Principal(subject="9", username="Zoë 田中", role="editor", via="session")
    headers = {k.encode(): v.encode() for k, v in signer.headers(zoe, "GET", "/whoami").items()}
    r = client.get("/whoami", headers=headers)
    assert (r.status_code, msgspec.json.decode(r.content, type=Principal)) == (200, zoe)


def test_an_unsigned_principal_is_401(client: TestClient[Litestar]) -> None:
    r = client.get("/pipelines", headers={HEADER: SYSTEM.header()})
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [("POST", "/whoami", ""), ("GET", "/pipelines", ""), ("GET", "/whoami", "limit=1")],
)
def test_a_signature_is_bound_to_its_method_path_and_query(
    client: TestClient[Litestar], signer: PrincipalSigner, method: str, path: str, query: str
) -> None:
    """A signature captured from one call does not authorise another."""
    before = refused("forged")
    r = client.get("/whoami", headers=signer.headers(EDITOR, method, path, query))
    assert r.status_code == 401
    assert r.json()["detail"] == f"{SIGNATURE_HEADER} does not match this call"
    assert refused("forged") == before + 1


def test_the_query_is_signed_as_sent(client: TestClient[Litestar], signer: PrincipalSigner) -> None:
    r = client.get(
        "/whoami?limit=1&x=%20a", headers=signer.headers(EDITOR, "GET", "/whoami", "limit=1&x=%20a")
    )
    assert r.status_code == 200


def test_a_principal_changed_after_signing_is_401(
    client: TestClient[Litestar], signer: PrincipalSigner
) -> None:
    headers = signer.headers(LIMITED, "GET", "/whoami")
    headers[HEADER] = SYSTEM.header()
    assert client.get("/whoami", headers=headers).status_code == 401


def test_another_key_is_401(client: TestClient[Litestar], clock: Clock) -> None:
    other = PrincipalSigner("o" * 32, clock=clock)
    assert client.get("/whoami", headers=other.headers(SYSTEM, "GET", "/whoami")).status_code == 401


def test_a_signature_expires_after_a_minute(
    client: TestClient[Litestar], signer: PrincipalSigner, clock: Clock
) -> None:
    headers = signer.headers(EDITOR, "GET", "/whoami")
    clock.now += 60
    assert client.get("/whoami", headers=headers).status_code == 200
    clock.now += 2
    r = client.get("/whoami", headers=headers)
    assert r.status_code == 401
    assert "older than 60 s" in r.json()["detail"]
    clock.now -= 124  # signed too far in the future: a clock off by more than the window
    assert client.get("/whoami", headers=headers).status_code == 401


@pytest.mark.parametrize("signature", ["", "v1=abc", "t=x,v1=abc", "t=1700000000", "t=١٢,v1=ab", "t=1,v1=é"])
def test_a_malformed_signature_is_401(client: TestClient[Litestar], signature: str) -> None:
    headers = {HEADER.encode(): EDITOR.header().encode(), SIGNATURE_HEADER.encode(): signature.encode()}
    r = client.get("/whoami", headers=headers)
    assert r.status_code == 401


@pytest.mark.parametrize(
    "garbage",
    ["not json", '{"role": "editor"}', '{"subject": "1", "role": "king"}', "[1, 2]"],
)
@pytest.mark.parametrize("path", ["/whoami", "/pipelines"])
def test_a_signed_garbled_header_is_400(
    client: TestClient[Litestar], signer: PrincipalSigner, garbage: str, path: str
) -> None:
    r = client.get(path, headers={HEADER: garbage, SIGNATURE_HEADER: signer.sign("GET", path, "", garbage)})
    assert r.status_code == 400
    assert r.json()["detail"].startswith(f"invalid {HEADER} header")


def test_health_and_metrics_need_no_signature(client: TestClient[Litestar]) -> None:
    assert client.get("/health/live").status_code == 200
    assert client.get("/health/ready").status_code == 200
    assert client.get("/metrics").status_code == 200


def test_the_guard_refuses_a_limited_principal_with_403(
    client: TestClient[Litestar], signer: PrincipalSigner
) -> None:
    r = client.get("/pipelines", headers=signer.headers(LIMITED, "GET", "/pipelines"))
    assert (r.status_code, r.json()) == (403, {"detail": LIMITED_TO_SOURCE_REFUSED})


@pytest.mark.parametrize("principal", [EDITOR, SYSTEM])
def test_the_guard_passes_everyone_else(
    client: TestClient[Litestar], signer: PrincipalSigner, principal: Principal
) -> None:
    r = client.get("/pipelines", headers=signer.headers(principal, "GET", "/pipelines"))
    assert (r.status_code, r.json()) == (200, ["p"])


def test_health_stays_reachable_behind_an_app_wide_guard(signer: PrincipalSigner) -> None:
    app = Litestar(
        route_handlers=[pipelines, *health_handlers()],
        guards=[refuse_limited_to_source],
        middleware=[DefineMiddleware(SignedPrincipalMiddleware, service="test", signer=signer)],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    with TestClient(app) as c:
        assert c.get("/health/live").status_code == 200
        assert c.get("/pipelines", headers=signer.headers(LIMITED, "GET", "/pipelines")).status_code == 403


def test_a_newline_in_the_path_cannot_shift_the_signed_fields(signer: PrincipalSigner) -> None:
    value = EDITOR.header()
    signature = signer.sign("GET", "/whoami\nlimit=1", "", value)
    with pytest.raises(ValueError, match="does not match"):
        signer.verify("GET", "/whoami", "limit=1", value, signature)

"""The gateway signs the principal of every call it forwards, for the path and query the service will see."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import unquote

import pytest
from aiohttp import web

from headwater.common.principal import HEADER, SIGNATURE_HEADER, Principal, PrincipalSigner
from headwater.devstack.testing import free_port
from headwater.gateway.upstream import Upstream

KEY = "s" * 40
EDITOR = Principal(subject="1", username="Zoë 田中", role="editor", via="api_token")  # any text goes as UTF-8


@pytest.fixture
async def service() -> AsyncIterator[tuple[str, list[tuple[str, str, str, str | None, str | None]]]]:
    """A receiver that records each call as an ASGI server hands it to a service: method, the decoded path,
    the raw query string, the principal and signature headers."""
    seen: list[tuple[str, str, str, str | None, str | None]] = []

    async def record(request: web.Request) -> web.Response:
        raw_path, _, raw_query = request.raw_path.partition("?")
        seen.append(
            (
                request.method,
                unquote(raw_path),
                raw_query,
                request.headers.get(HEADER),
                request.headers.get(SIGNATURE_HEADER),
            )
        )
        return web.json_response({})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [
        ("GET", "/pipeline", ""),
        ("POST", "/alerts/12/mute", ""),
        ("GET", "/api/v1/lineage/nodes/orders db:public.ü", "depth=2&name=a b%41&x=é"),
        ("DELETE", "/notification_channels/3", "a=%2F&b=+"),
    ],
)
async def test_every_call_carries_a_principal_signed_for_what_the_service_sees(
    service: tuple[str, list[tuple[str, str, str, str | None, str | None]]],
    method: str,
    path: str,
    query: str,
) -> None:
    url, seen = service
    upstream = Upstream("svc", url, signer=PrincipalSigner(KEY), timeout=5, connections=1)
    try:
        answer = await upstream.call(method, path, principal=EDITOR, query=query)
    finally:
        await upstream.close()
    assert answer.status == 200
    ((got_method, got_path, got_query, principal, signature),) = seen
    assert (got_method, got_path) == (method, path)
    assert PrincipalSigner(KEY).verify(got_method, got_path, got_query, principal, signature) == EDITOR
    with pytest.raises(ValueError, match="does not match"):
        PrincipalSigner("another key" * 4).verify(got_method, got_path, got_query, principal, signature)

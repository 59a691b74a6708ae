"""Fakes for unit tests of the gateway: an upstream that records calls and answers from a script, and an
identity that lets every request in as one principal (the real one is tested on Postgres)."""

from __future__ import annotations

from collections.abc import AsyncIterable
from dataclasses import dataclass, field
from typing import Any

from headwater.common.principal import Principal
from headwater.gateway.bootstrap import Container
from headwater.gateway.identity.addresses import client_address
from headwater.gateway.identity.audit import AuditWriter
from headwater.gateway.settings import Settings
from headwater.gateway.upstream import UpstreamResponse, UpstreamUnavailable


@dataclass
class Call:
    method: str
    path: str
    body: bytes | None
    principal: Principal
    query: str


@dataclass
class FakeUpstream:
    """Answers every call with `answer` (or raises UpstreamUnavailable when `down`), recording the calls."""

    name: str = "fake"
    answer: UpstreamResponse = field(default_factory=lambda: UpstreamResponse(200, b"{}", "application/json"))
    down: bool = False
    calls: list[Call] = field(default_factory=list)
    chunks: list[list[bytes]] = field(default_factory=list)  # of each streamed call

    async def call(
        self, method: str, path: str, *, body: bytes | None = None, principal: Principal, query: str = ""
    ) -> UpstreamResponse:
        if self.down:
            raise UpstreamUnavailable(f"{self.name} is unavailable")
        self.calls.append(Call(method, path, body, principal, query))
        return self.answer

    async def stream(
        self,
        method: str,
        path: str,
        chunks: AsyncIterable[bytes],
        *,
        principal: Principal,
        query: str = "",
        content_type: str = "application/octet-stream",
    ) -> UpstreamResponse:
        """As `call`, reading the streamed body through (its chunks are kept in `chunks`, and joined as the
        call's body)."""
        if self.down:
            raise UpstreamUnavailable(f"{self.name} is unavailable")
        received = [chunk async for chunk in chunks]
        self.chunks.append(received)
        self.calls.append(Call(method, path, b"".join(received), principal, query))
        return self.answer

    async def close(self) -> None:
        return None


def assert_refused(response: Any, upstream: FakeUpstream, where: str = "") -> None:
    """The gateway answered 422 (naming `where`, a field or a word of the message, when given) and forwarded
    nothing."""
    assert response.status_code == 422, response.text
    if where:
        detail = response.json()["detail"]
        assert any(where in str(d["loc"]) or where in d["msg"] for d in detail), detail
    assert upstream.calls == []


EDITOR = Principal(
    subject="00000000-0000-0000-0000-000000000001", username="tester", role="editor", via="api_token"
)


@dataclass
class FakeIdentityStore:
    audited: list[dict[str, Any]] = field(default_factory=list)

    async def audit(self, entries: list[dict[str, Any]]) -> None:
        self.audited.extend(entries)


@dataclass
class FakeIdentity:
    """Authenticates every request as `principal` (None: refuses every request) and lets it into any project:
    it plays both parts the guard asks for (`authentication` and `projects`)."""

    principal: Principal | None = EDITOR
    settings: Settings = field(default_factory=lambda: Settings(log_json=False))
    store: FakeIdentityStore = field(default_factory=FakeIdentityStore)

    @property
    def authentication(self) -> FakeIdentity:
        return self

    @property
    def projects(self) -> FakeIdentity:
        return self

    async def authenticate(self, bearer: str | None, session_id: str | None) -> Principal | None:
        return self.principal

    async def may_enter(self, principal: Principal, project_id: str) -> bool:
        return True

    def address_of(self, scope: Any) -> str:
        return client_address(scope, ())


def fake_container(
    execution_tracking: FakeUpstream | None = None,
    quality_alerting: FakeUpstream | None = None,
    scheduler: FakeUpstream | None = None,
    identity: FakeIdentity | None = None,
    ingestion: FakeUpstream | None = None,
) -> Container:
    """A gateway container whose upstreams and identity are fakes (a fresh one for each not given)."""
    fake_identity = identity or FakeIdentity()
    return Container(
        settings=Settings(log_json=False),
        identity=fake_identity,  # type: ignore[arg-type]
        audit=AuditWriter(fake_identity.store),
        execution_tracking=execution_tracking or FakeUpstream("execution-tracking"),  # type: ignore[arg-type]
        quality_alerting=quality_alerting or FakeUpstream("quality-alerting"),  # type: ignore[arg-type]
        scheduler=scheduler or FakeUpstream("scheduler"),  # type: ignore[arg-type]
        ingestion=ingestion or FakeUpstream("ingestion"),  # type: ignore[arg-type]
    )

"""Fakes for tests of the gateway: an upstream that records calls and answers from a script."""

from __future__ import annotations

from dataclasses import dataclass, field

from headwater.gateway.bootstrap import Container
from headwater.gateway.identity import Principal
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

    async def call(
        self, method: str, path: str, *, body: bytes | None = None, principal: Principal, query: str = ""
    ) -> UpstreamResponse:
        if self.down:
            raise UpstreamUnavailable(f"{self.name} is unavailable")
        self.calls.append(Call(method, path, body, principal, query))
        return self.answer

    async def ready(self) -> None:
        if self.down:
            raise UpstreamUnavailable(f"{self.name} is unavailable")

    async def close(self) -> None:
        return None


def fake_container(
    execution_tracking: FakeUpstream | None = None,
    quality_alerting: FakeUpstream | None = None,
    scheduler: FakeUpstream | None = None,
) -> Container:
    """A gateway container whose upstreams are fakes (a fresh one for each not given)."""
    return Container(
        settings=Settings(log_json=False),
        execution_tracking=execution_tracking or FakeUpstream("execution-tracking"),  # type: ignore[arg-type]
        quality_alerting=quality_alerting or FakeUpstream("quality-alerting"),  # type: ignore[arg-type]
        scheduler=scheduler or FakeUpstream("scheduler"),  # type: ignore[arg-type]
    )

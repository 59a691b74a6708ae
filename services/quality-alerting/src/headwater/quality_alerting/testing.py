"""A real HTTP receiver of notifications on loopback, for tests and local trials: records every request.

Each path `/hooks/<name>` answers from its own script of status codes (then 200), optionally after a delay,
so a test can make a receiver fail, recover, or be slow.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Received:
    name: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when it arrived

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._scripts: dict[str, deque[int]] = defaultdict(deque)
        self._delays: dict[str, float] = {}
        self.received: list[Received] = []
        self.port = 0

    async def start(self) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post("/hooks/{name}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def url(self, name: str) -> str:
        return f"http://{self._host}:{self.port}/hooks/{name}"

    def answer(self, name: str, *statuses: int, delay: float = 0.0) -> None:
        """Answer the next requests to `name` with `statuses` in order (200 after them), `delay` s late."""
        self._scripts[name].extend(statuses)
        self._delays[name] = delay

    def requests(self, name: str) -> list[Received]:
        return [r for r in self.received if r.name == name]

    async def _handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.received.append(Received(name, dict(request.headers), await request.read(), time.monotonic()))
        if delay := self._delays.get(name, 0.0):
            await asyncio.sleep(delay)
        script = self._scripts[name]
        status = script.popleft() if script else 200
        return web.Response(status=status, text="ok" if status < 300 else f"receiver says {status}")

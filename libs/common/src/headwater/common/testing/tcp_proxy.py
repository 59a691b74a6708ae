"""A TCP proxy a test puts between a service and what it talks to (Postgres, another service), to make that
peer stop answering without stopping it: `blackhole()` keeps every connection open but passes nothing on, as a
server that hangs or a network that drops packets does; `restore()` forwards again.

It runs on an event loop of its own in a thread, because Litestar's test clients run the app on theirs (and
block the test's loop while the app starts)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Generator
from concurrent.futures import Future


class TcpProxy:
    """Forwards `127.0.0.1:<port>` to `host:port` until blackholed."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._forwarding = asyncio.Event()
        self._connections: set[asyncio.StreamWriter] = set()

    @property
    def port(self) -> int:
        assert self._server is not None, "the proxy is not running"
        return int(self._server.sockets[0].getsockname()[1])

    def blackhole(self) -> None:
        """From now on nothing passes either way, on open connections and new ones (which are accepted)."""
        self._call(self._forwarding.clear)

    def restore(self) -> None:
        """Forward again; connections that were held are closed (their peers gave up on them)."""

        def restore() -> None:
            self._forwarding.set()
            for writer in list(self._connections):
                writer.close()

        self._call(restore)

    def _call(self, fn: Callable[[], None]) -> None:
        """Run `fn` on the proxy's loop and wait until it has."""

        async def run() -> None:
            fn()

        asyncio.run_coroutine_threadsafe(run(), self._loop).result()

    @contextlib.contextmanager
    def running(self) -> Generator[None]:
        """Serve on a thread of its own for the block."""
        started: Future[None] = Future()

        def serve() -> None:
            with contextlib.suppress(asyncio.CancelledError):
                self._loop.run_until_complete(self._serve(started))
            self._loop.close()

        thread = threading.Thread(target=serve, daemon=True, name="tcp-proxy")
        thread.start()
        started.result(timeout=10)
        try:
            yield
        finally:

            def stop() -> None:
                for task in asyncio.all_tasks(self._loop):
                    task.cancel()

            self._loop.call_soon_threadsafe(stop)
            thread.join(timeout=10)

    async def _serve(self, started: Future[None]) -> None:
        self._forwarding.set()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        started.set_result(None)
        async with self._server:
            await self._server.serve_forever()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        try:
            if not self._forwarding.is_set():
                await reader.read()  # hold it silently until the client or restore() closes it
                return
            up_reader, up_writer = await asyncio.open_connection(*self._target)
            self._connections.add(up_writer)
            pipes = [
                asyncio.create_task(self._pipe(reader, up_writer)),
                asyncio.create_task(self._pipe(up_reader, writer)),
            ]
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
            for pipe in pipes:
                pipe.cancel()
            up_writer.close()
            self._connections.discard(up_writer)
        except OSError:
            pass
        finally:
            writer.close()
            self._connections.discard(writer)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                await self._forwarding.wait()  # while blackholed, hold what arrives: the peer never sees it
                writer.write(data)
                await writer.drain()


@contextlib.contextmanager
def tcp_proxy(host: str, port: int) -> Generator[TcpProxy]:
    """A running `TcpProxy` to `host:port`, stopped after the block."""
    proxy = TcpProxy(host, port)
    with proxy.running():
        yield proxy

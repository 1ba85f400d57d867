"""A real HTTP receiver on loopback for the webhook tests and bench: an asyncio server that
records every request (with its arrival time) and answers as each path is told to."""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # sleep before answering (a slow receiver)


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float  # time.monotonic() on arrival, before any delay

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


class Receiver:
    """``plan(path, replies...)`` answers the next requests to ``path`` in turn, then
    ``then``; a path never planned answers 200."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._plans: dict[str, tuple[list[Reply], Reply]] = {}
        self._arrived = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[object]] = set()
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def plan(self, path: str, *replies: Reply, then: Reply | None = None) -> None:
        self._plans[path] = (list(replies), then or Reply())

    def at(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    async def wait_for(self, path: str, count: int, timeout_s: float = 10.0) -> list[Received]:
        """The first ``count`` requests to ``path``, waiting up to ``timeout_s`` for them."""
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: len(self.at(path)) >= count), timeout_s
            )
        return self.at(path)[:count]

    def _reply_for(self, path: str) -> Reply:
        queued, then = self._plans.get(path, ([], Reply()))
        return queued.pop(0) if queued else then

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        try:
            request_line = await reader.readline()
            if not request_line:
                return
            _method, target, _version = request_line.decode("latin-1").split(" ", 2)
            headers: dict[str, str] = {}
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            received = Received(target, headers, body, time.monotonic())
            reply = self._reply_for(target)
            async with self._arrived:
                self.requests.append(received)
                self._arrived.notify_all()
            if reply.delay_s:
                await asyncio.sleep(reply.delay_s)
            head = [f"HTTP/1.1 {reply.status} X", f"content-length: {len(reply.body)}"]
            head += [f"{k}: {v}" for k, v in reply.headers.items()]
            head.append("connection: close")
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + reply.body)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # a client gone, or the receiver closing while it sleeps
        finally:
            writer.close()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            # Cut the sleeping handlers short rather than wait for them.
            for task in list(self._handlers):
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)
            await self._server.wait_closed()


@asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.close()

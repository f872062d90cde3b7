"""A real local HTTP receiver for webhook tests: answers from a script, records every request."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

from tests.harness.ports import free_ports


@dataclass
class Received:
    at: float  # monotonic
    headers: dict[str, str]
    body: bytes
    answered: int


@dataclass
class WebhookReceiver:
    """`script`: statuses to answer in order (then `default`); (status, headers) tuples add headers."""

    port: int = 0
    script: list[int | tuple[int, dict[str, str]]] = field(default_factory=list)
    default: int = 200
    delay_s: float = 0.0
    requests: list[Received] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        step = self.script.pop(0) if self.script else self.default
        status, headers = step if isinstance(step, tuple) else (step, {})
        self.requests.append(Received(time.monotonic(), dict(request.headers), body, status))
        self._arrived.set()
        return web.Response(status=status, headers=headers, text="ok" if status < 300 else "no")

    async def start(self) -> None:
        if not self.port:
            self.port = free_ports(1)[0]
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.answered < 300]

    async def wait_for(self, n: int, timeout: float = 10.0) -> list[Received]:
        """Wait until at least `n` requests arrived."""
        deadline = time.monotonic() + timeout
        while len(self.requests) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"only {len(self.requests)} of {n} webhook requests within {timeout}s")
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except TimeoutError:
                continue
        return self.requests


@asynccontextmanager
async def webhook_receiver(**kwargs: object) -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver(**kwargs)  # type: ignore[arg-type]
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()

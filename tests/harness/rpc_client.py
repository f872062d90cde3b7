"""A small async JSON-RPC 2.0 test client over a real WebSocket (the `websockets` library)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect


class RpcCallError(Exception):
    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.data = data


class RpcClient:
    """Correlates replies by id; notifications land in `self.notifications` (an asyncio.Queue)."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[Any, asyncio.Future[dict[str, Any]]] = {}
        self._raw_waiters: asyncio.Queue[Any] = asyncio.Queue()
        self.notifications: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, url: str, **kwargs: Any) -> RpcClient:
        kwargs.setdefault("max_size", 64 << 20)
        return cls(await connect(url, **kwargs))

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                msg = json.loads(raw)
                if isinstance(msg, dict) and "method" in msg and "id" not in msg:
                    await self.notifications.put(msg)
                elif isinstance(msg, dict) and msg.get("id") in self._pending:
                    self._pending.pop(msg["id"]).set_result(msg)
                else:
                    await self._raw_waiters.put(msg)

    async def call(self, method: str, params: Any = None, timeout: float = 30.0) -> Any:
        reply = await self.request(method, params, timeout=timeout)
        if "error" in reply:
            err = reply["error"]
            raise RpcCallError(err["code"], err["message"], err.get("data"))
        return reply["result"]

    async def request(self, method: str, params: Any = None, timeout: float = 30.0) -> dict[str, Any]:
        req_id = next(self._ids)
        msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": req_id}
        if params is not None:
            msg["params"] = params
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = fut
        await self.ws.send(json.dumps(msg))
        return await asyncio.wait_for(fut, timeout)

    async def notify(self, method: str, params: Any = None) -> None:
        msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        await self.ws.send(json.dumps(msg))

    async def send_raw(self, text: str | bytes, timeout: float = 5.0) -> Any:
        """Send any text and return the next reply that is not matched to a pending call."""
        await self.ws.send(text)
        return await asyncio.wait_for(self._raw_waiters.get(), timeout)

    async def expect_no_reply(self, within: float = 0.5) -> None:
        try:
            msg = await asyncio.wait_for(self._raw_waiters.get(), within)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected reply: {msg}")

    async def next_notification(
        self, method: str | None = None, timeout: float = 5.0, where: Any = None
    ) -> dict[str, Any]:
        """The next notification (optionally of one method and matching `where(params)`)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"no notification {method or ''} within {timeout}s")
            msg = await asyncio.wait_for(self.notifications.get(), remaining)
            if (method is None or msg["method"] == method) and (where is None or where(msg.get("params"))):
                return msg

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

    async def __aenter__(self) -> RpcClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

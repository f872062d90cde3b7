"""The tests' JSON-RPC client: a thin shim over `camera_service.client` that keeps the raw-frame abilities
protocol tests need (send any text, see replies no call waits for, the raw WebSocket, every notification)."""

from __future__ import annotations

import asyncio
from typing import Any

from websockets.asyncio.client import ClientConnection

from camera_service.client.connection import Connection
from camera_service.client.errors import NotConnected
from camera_service.client.errors import RpcError as RpcCallError

__all__ = ["RpcCallError", "RpcClient"]


class RpcClient:
    """Correlates replies by id; notifications land in `self.notifications` (an asyncio.Queue)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._raw_waiters: asyncio.Queue[Any] = asyncio.Queue()
        self.notifications: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        conn.on_unmatched = self._unmatched

    @property
    def ws(self) -> ClientConnection:
        ws = self.conn.websocket
        assert ws is not None
        return ws

    @classmethod
    async def connect(cls, url: str, **kwargs: Any) -> RpcClient:
        """Connect (no reconnects; authentication only by `additional_headers`, as tests set up)."""
        conn = Connection(
            url,
            token="",
            reconnect=False,
            headers=kwargs.pop("additional_headers", None),
            max_message_bytes=kwargs.pop("max_size", 64 << 20) or 1 << 40,
        )
        if kwargs:
            raise TypeError(f"unsupported connect options: {sorted(kwargs)}")
        client = cls(conn)
        try:
            await conn.connect()
        except NotConnected as exc:  # tests assert on the handshake's own error (e.g. InvalidStatus 401)
            raise exc.__cause__ or exc from None
        return client

    def _unmatched(self, msg: Any) -> None:
        if isinstance(msg, dict) and "method" in msg and "id" not in msg:
            self.notifications.put_nowait(msg)
        else:
            self._raw_waiters.put_nowait(msg)

    async def call(self, method: str, params: Any = None, timeout: float = 30.0) -> Any:
        return await self.conn.call(method, params, timeout=timeout)

    async def request(self, method: str, params: Any = None, timeout: float = 30.0) -> dict[str, Any]:
        return await self.conn.request(method, params, timeout=timeout)

    async def notify(self, method: str, params: Any = None) -> None:
        await self.conn.notify(method, params)

    async def send_raw(self, text: str | bytes, timeout: float = 5.0) -> Any:
        """Send any text and return the next reply that is not matched to a pending call."""
        await self.conn.send_text(text)
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
        await self.conn.close()

    async def __aenter__(self) -> RpcClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

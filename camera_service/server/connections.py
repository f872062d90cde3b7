"""Open WebSocket connections: each with a bounded outbound queue, and the set of all of them.

Responses are written directly (they are bounded by in-flight requests); server-to-client notifications
go through a per-connection bounded queue drained by one writer task, so a slow consumer only ever
loses its own notifications and never stalls the publisher or other clients.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from aiohttp import WSMsgType, web

from camera_service.core.tasks import cancel_and_wait
from camera_service.observability.metrics import Metrics
from camera_service.rpc.context import ConnectionContext
from camera_service.rpc.dispatcher import encode_notification

log = logging.getLogger("camera_service.server")

# Close codes the server uses (documented in docs/api/json-rpc-methods.md).
CLOSE_TOO_MANY_CONNECTIONS = 1013
CLOSE_MESSAGE_TOO_BIG = 1009
CLOSE_AUTH_TIMEOUT = 4001
CLOSE_SLOW_CONSUMER = 4008
CLOSE_SHUTDOWN = 1001

DROPPED_NOTIFICATION = "notifications_dropped"

# Below this many bytes waiting in the socket's buffer a notification is written straight away; above it
# notifications wait in the bounded queue (whose writer awaits drain), so a client that stops reading
# holds at most this much in the kernel-side buffer plus the queue.
DIRECT_WRITE_LIMIT = 64 * 1024


def text_frame(payload: bytes) -> bytes:
    """An unmasked, unfragmented server-to-client WebSocket text frame (RFC 6455 section 5.2)."""
    n = len(payload)
    if n < 126:
        header = bytes((0x81, n))
    elif n < 1 << 16:
        header = bytes((0x81, 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + n.to_bytes(8, "big")
    return header + payload


class SendQueue:
    """Bounded notification queue of one connection, drained by a single writer task."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        maxsize: int,
        close_after: int,
        metrics: Metrics,
        on_overflow_close: Callable[[], None],
        *,
        transport: asyncio.Transport | None = None,
    ) -> None:
        self._ws = ws
        self._transport = transport
        self._maxsize = maxsize
        self._close_after = close_after
        self._metrics = metrics
        self._on_overflow_close = on_overflow_close
        self._queue: deque[bytes] = deque()
        self._wake = asyncio.Event()
        self._closed = False
        self.dropped_unreported = 0
        self.dropped_total = 0
        self._task = asyncio.create_task(self._run(), name="ws-outbox")

    def offer(self, payload: bytes) -> bool:
        if self._closed:
            return False
        transport = self._transport
        if (
            not self._queue
            and not self.dropped_unreported
            and transport is not None
            and not transport.is_closing()
            and transport.get_write_buffer_size() < DIRECT_WRITE_LIMIT
        ):
            # Fast path for fan-out: nothing queued, so writing now keeps order and skips a task wake-up.
            # Safe next to aiohttp's own sends: uncompressed frames are written whole, synchronously.
            transport.write(text_frame(payload))
            return True
        if len(self._queue) >= self._maxsize:
            self.dropped_unreported += 1
            self.dropped_total += 1
            self._metrics.notifications_dropped.inc()
            if self.dropped_total == self._close_after:
                self._on_overflow_close()
            return False
        self._queue.append(payload)
        self._wake.set()
        return True

    async def _run(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._queue:
                    if self.dropped_unreported:
                        # Tell the client how much it missed before it gets the next message.
                        n, self.dropped_unreported = self.dropped_unreported, 0
                        await self._ws.send_frame(
                            encode_notification(DROPPED_NOTIFICATION, {"dropped": n}), WSMsgType.TEXT
                        )
                    await self._ws.send_frame(self._queue.popleft(), WSMsgType.TEXT)
        except (ConnectionResetError, RuntimeError, asyncio.CancelledError):
            pass
        except Exception:
            log.exception("outbox writer failed")

    @property
    def depth(self) -> int:
        return len(self._queue)

    async def close(self) -> None:
        self._closed = True
        await cancel_and_wait(self._task)


class ConnectionRegistry:
    """All open connections; used for broadcasts and for the connection limit."""

    def __init__(self) -> None:
        self._conns: dict[int, ConnectionContext] = {}

    def add(self, conn: ConnectionContext) -> None:
        self._conns[conn.id] = conn

    def remove(self, conn: ConnectionContext) -> None:
        self._conns.pop(conn.id, None)

    def __len__(self) -> int:
        return len(self._conns)

    def __iter__(self) -> Iterator[ConnectionContext]:
        return iter(list(self._conns.values()))

    def broadcast(
        self, method: str, params: Any, where: Callable[[ConnectionContext], bool] | None = None
    ) -> int:
        """Queue one notification to every matching connection, encoding it once. Returns how many took it."""
        payload = encode_notification(method, params)
        sent = 0
        for conn in list(self._conns.values()):
            if (where is None or where(conn)) and conn.notify_encoded(payload):
                sent += 1
        return sent

"""The JSON-RPC WebSocket endpoint: one ConnectionContext per socket, requests handled concurrently
up to a per-connection limit (further reads wait: backpressure), responses written in completion order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import WSCloseCode, WSMsgType, web

from camera_service.config.sections import ServerConfig
from camera_service.core.tasks import TaskSet
from camera_service.observability.metrics import Metrics
from camera_service.rpc.context import ConnectionContext
from camera_service.rpc.dispatcher import Dispatcher
from camera_service.server.connections import (
    CLOSE_SLOW_CONSUMER,
    CLOSE_TOO_MANY_CONNECTIONS,
    ConnectionRegistry,
    SendQueue,
)

log = logging.getLogger("camera_service.server")

# Called once a socket is open (handshake auth, auth timeouts) and once it is gone (subscriptions,
# PTZ safety stops). A connect hook may raise web.HTTPException to refuse before the upgrade.
ConnectHook = Callable[[web.Request, ConnectionContext], Awaitable[None]]
DisconnectHook = Callable[[ConnectionContext], Awaitable[None]]
# Seconds to hold a reply of n bytes before writing it (a byte budget, e.g. before authentication).
SendPacer = Callable[[ConnectionContext, int], float]


class WebSocketEndpoint:
    def __init__(
        self, dispatcher: Dispatcher, cfg: ServerConfig, metrics: Metrics, connections: ConnectionRegistry
    ) -> None:
        self.dispatcher = dispatcher
        self.cfg = cfg
        self.metrics = metrics
        self.connections = connections
        self.on_connect: list[ConnectHook] = []
        self.on_disconnect: list[DisconnectHook] = []
        self.send_pacer: SendPacer | None = None
        # Told about a paced reply that was never sent (its connection went away while it waited).
        self.send_unpaced: Callable[[ConnectionContext, int], None] | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._closers = TaskSet("websocket-close")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(
            heartbeat=self.cfg.ping_interval_s,
            max_msg_size=self.cfg.max_message_bytes,
            compress=False,
            decode_text=False,
        )
        if len(self.connections) >= self.cfg.max_connections:
            await ws.prepare(request)
            self.metrics.connections_rejected.labels("max_connections").inc()
            await ws.close(code=CLOSE_TOO_MANY_CONNECTIONS, message=b"too many connections")
            return ws
        conn = ConnectionContext(
            remote=request.remote or "", user_agent=request.headers.get("User-Agent", "")
        )
        for hook in self.on_connect:
            await hook(request, conn)  # may raise HTTPUnauthorized etc. before the upgrade
        await ws.prepare(request)

        def close_slow() -> None:
            self.metrics.connections_rejected.labels("slow_consumer").inc()
            self._closers.spawn(ws.close(code=CLOSE_SLOW_CONSUMER, message=b"slow consumer"))

        # No isinstance check: uvloop's transports do not subclass asyncio.Transport.
        transport = request.transport
        outbox = SendQueue(
            ws,
            self.cfg.send_queue_size,
            self.cfg.slow_consumer_close_after,
            self.metrics,
            close_slow,
            transport=transport,
        )
        conn._send_encoded = outbox.offer

        async def close(code: int, reason: str) -> None:
            await ws.close(code=code, message=reason.encode())

        conn._close = close
        conn.state["outbox"] = outbox
        self.connections.add(conn)
        self._sockets.add(ws)
        self.metrics.connections.inc()
        try:
            await self._serve(ws, conn, close_slow)
        finally:
            self.connections.remove(conn)
            self._sockets.discard(ws)
            self.metrics.connections.dec()
            await outbox.close()
            for disconnect_hook in self.on_disconnect:
                try:
                    await disconnect_hook(conn)
                except Exception:
                    log.exception("disconnect hook failed")
        return ws

    async def _serve(
        self, ws: web.WebSocketResponse, conn: ConnectionContext, close_slow: Callable[[], None]
    ) -> None:
        slots = asyncio.Semaphore(self.cfg.max_inflight_per_connection)
        tasks = TaskSet(f"websocket:{conn.remote}")
        unsent = [0, 0]  # reply bytes waiting for the client to read them (security M5)

        async def run(data: bytes | str) -> None:
            try:
                reply = await self.dispatcher.handle(data, conn)
                if reply is not None and self.send_pacer is not None:
                    delay = self.send_pacer(conn, len(reply))
                    if delay > 0:  # the slot stays taken: the client's further requests wait
                        try:
                            await asyncio.sleep(delay)
                        except asyncio.CancelledError:
                            if self.send_unpaced is not None:  # gone: give back what it was charged
                                self.send_unpaced(conn, len(reply))
                            raise
                if reply is not None and not ws.closed:
                    if unsent[0] > self.cfg.max_pending_reply_bytes:
                        if unsent[1] == 0:  # it does not read: stop holding its replies in memory
                            unsent[1] = 1
                            close_slow()
                        return
                    unsent[0] += len(reply)
                    try:
                        await ws.send_frame(reply, WSMsgType.TEXT)
                    finally:
                        unsent[0] -= len(reply)
            except (ConnectionResetError, RuntimeError):
                pass  # the client went away mid-reply
            finally:
                slots.release()

        async for msg in ws:
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                await slots.acquire()
                tasks.spawn(run(msg.data))
            elif msg.type == WSMsgType.ERROR:
                log.info("websocket error", extra={"remote": conn.remote, "error": str(ws.exception())})
                break
        await tasks.close()

    async def close_all(self, code: int = WSCloseCode.GOING_AWAY, reason: str = "server shutdown") -> None:
        await asyncio.gather(
            *(ws.close(code=code, message=reason.encode()) for ws in list(self._sockets)),
            return_exceptions=True,
        )
        await self._closers.close()

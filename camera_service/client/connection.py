"""One JSON-RPC 2.0 connection over a WebSocket that survives restarts of the service.

Replies are matched to calls by id; notifications fan out to listeners. When the socket drops, calls in
flight fail with ConnectionLost (they may have run: nothing is retried behind the caller's back), and a
supervisor reconnects with capped, jittered exponential backoff, authenticates again and renews every
event subscription before new calls go out.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
from collections.abc import Callable
from typing import Any, Protocol

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from camera_service.client.credentials import Backoff, Credentials
from camera_service.client.errors import (
    AUTH_REQUIRED,
    AuthenticationError,
    CallTimeout,
    ClientError,
    ConnectionLost,
    NotConnected,
    RpcError,
    error_from_reply,
)

log = logging.getLogger("camera_service.client")

DEFAULT_URL = "ws://127.0.0.1:8002/ws"
EVENT_NOTIFICATION = "event"
_CONNECT_ERRORS = (OSError, InvalidHandshake, TimeoutError, ConnectionClosed)


class Resubscriber(Protocol):
    """An event subscription that renews itself on a new connection (see events.EventStream)."""

    async def resubscribe(self) -> None: ...
    def connection_lost(self) -> None: ...
    def connection_failed(self, exc: BaseException) -> None: ...


class _Listener:
    __slots__ = ("method", "queue", "where")

    def __init__(self, method: str | None, where: Callable[[Any], bool] | None, maxsize: int) -> None:
        self.method = method
        self.where = where
        self.queue: asyncio.Queue[tuple[str, Any] | BaseException] = asyncio.Queue(maxsize)

    def offer(self, method: str, params: Any) -> None:
        if self.method is not None and self.method != method:
            return
        if self.where is not None and not self.where(params):
            return
        if self.queue.full():  # a consumer that stopped reading loses the oldest, never blocks the reader
            self.queue.get_nowait()
        self.queue.put_nowait((method, params))


class Connection:
    """The transport half of the client: connect, call, notifications, reconnect."""

    def __init__(
        self,
        url: str | None = None,
        *,
        token: str | None = None,
        api_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        reconnect: bool = True,
        backoff: Backoff | None = None,
        max_message_bytes: int = 64 << 20,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.url = url or os.environ.get("CAMERA_SERVICE_URL") or DEFAULT_URL
        self.credentials = Credentials.resolve(token, api_key, username, password)
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.reconnect = reconnect
        self.backoff = backoff or Backoff()
        self.max_message_bytes = max_message_bytes
        self.headers = dict(headers or {})
        self.identity: dict[str, Any] | None = None  # the `authenticate` result of the current connection
        self.reconnects = 0  # successful reconnects since connect()
        self._ws: ClientConnection | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._listeners: set[_Listener] = set()
        self._subscriptions: list[Resubscriber] = []
        self._event_routes: dict[str, Callable[[Any], None]] = {}
        self._early_events: list[Any] = []  # events that arrived before their subscribe reply
        self._up = asyncio.Event()
        self._fatal: ClientError | None = None
        self._closed = False
        self._reader: asyncio.Task[None] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        # Sees every notification and every reply no call waits for (raw-frame tests use it).
        self.on_unmatched: Callable[[Any], None] | None = None

    # ---- life cycle ----------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the connection (and authenticate); raises at once if that fails. Then keep it open."""
        await self._open()
        self._supervisor = asyncio.create_task(self._supervise(), name="camera-service-client")

    async def close(self) -> None:
        self._closed = True
        self._fail(NotConnected("client closed"))
        for task in (self._supervisor, self._reader):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def connected(self) -> bool:
        return self._up.is_set()

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until the connection is up (e.g. after a restart of the service)."""
        try:
            async with asyncio.timeout(timeout):
                await self._wait_up()
        except TimeoutError:
            raise CallTimeout(f"not connected to {self.url} within {timeout}s") from None

    async def _open(self) -> None:
        try:
            ws = await connect(
                self.url,
                open_timeout=self.connect_timeout,
                max_size=self.max_message_bytes,
                additional_headers=self.headers or None,
                user_agent_header="camera-service-client",
            )
        except _CONNECT_ERRORS as exc:
            raise NotConnected(f"cannot connect to {self.url}: {exc}") from exc
        self._ws = ws
        self._early_events.clear()
        self._event_routes.clear()
        self._reader = asyncio.create_task(self._read(ws), name="camera-service-client-reader")
        try:
            await self._authenticate(ws)
            for sub in list(self._subscriptions):
                await sub.resubscribe()  # before `up`: no event is missed between reconnect and renewal
            self._up.set()
        except BaseException:
            self._up.clear()
            await ws.close()
            raise

    async def _authenticate(self, ws: ClientConnection) -> None:
        call = self.credentials.call()
        if call is not None:
            self.identity = await self._request(ws, *call, self.connect_timeout)

    async def _supervise(self) -> None:
        while not self._closed:
            assert self._reader is not None
            await asyncio.wait([self._reader])
            if self.closed:
                return
            if not self.reconnect:
                self._fail(NotConnected(f"connection to {self.url} lost (reconnect is off)"))
                return
            attempt = 0
            while not self._closed:
                await asyncio.sleep(self.backoff.delay(attempt))
                try:
                    await self._open()
                except AuthenticationError as exc:  # the credentials stopped working: retrying won't help
                    self._fail(exc)
                    return
                except (NotConnected, ConnectionLost, CallTimeout) as exc:
                    log.debug("reconnect attempt %d failed: %s", attempt + 1, exc)
                    attempt += 1
                    continue
                self.reconnects += 1
                log.info("reconnected to %s after %d attempt(s)", self.url, attempt + 1)
                break

    def _fail(self, exc: ClientError) -> None:
        """No more connection: wake every waiter and listener with `exc`."""
        self._fatal = exc
        self._up.set()  # waiters wake and see _fatal
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(exc)
        for listener in self._listeners:
            if listener.queue.full():
                listener.queue.get_nowait()
            listener.queue.put_nowait(exc)
        for sub in self._subscriptions:
            sub.connection_failed(exc)

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                self._dispatch(raw)
        except ConnectionClosed:
            pass
        finally:
            if self._ws is ws:
                self._up.clear()
            lost = ConnectionLost(f"connection to {self.url} lost")
            for fut in list(self._pending.values()):
                if not fut.done():
                    fut.set_exception(lost)
            for sub in self._subscriptions:
                sub.connection_lost()

    def _dispatch(self, raw: str | bytes) -> None:
        try:
            msg = json.loads(raw)
        except ValueError:
            log.warning("ignoring a frame that is not JSON")
            return
        if isinstance(msg, list) and not any(self._waited(item) for item in msg):
            if self.on_unmatched is not None:  # a batch reply to a raw frame
                self.on_unmatched(msg)
            return
        for item in msg if isinstance(msg, list) else [msg]:
            self._dispatch_one(item)

    def _waited(self, msg: Any) -> bool:
        try:
            return isinstance(msg, dict) and msg.get("id") in self._pending
        except TypeError:  # an unhashable id
            return False

    def _dispatch_one(self, msg: Any) -> None:
        if not isinstance(msg, dict):
            if self.on_unmatched is not None:
                self.on_unmatched(msg)
            return
        if "method" in msg and "id" not in msg:
            method, params = msg["method"], msg.get("params")
            if method == EVENT_NOTIFICATION and isinstance(params, dict):
                route = self._event_routes.get(str(params.get("subscription")))
                if route is not None:
                    route(params)
                else:
                    self._early_events.append(params)
                    del self._early_events[:-1000]
            for listener in self._listeners:
                listener.offer(method, params)
            if self.on_unmatched is not None:
                self.on_unmatched(msg)
            return
        fut = self._pending.get(msg["id"]) if self._waited(msg) else None
        if fut is not None and not fut.done():
            fut.set_result(msg)
        elif self.on_unmatched is not None:
            self.on_unmatched(msg)

    # ---- calls ---------------------------------------------------------------------------------------

    def _session_expired(self, reply: dict[str, Any], method: str) -> bool:
        error = reply.get("error")
        return (
            self.credentials.username is not None
            and isinstance(error, dict)
            and error.get("code") == AUTH_REQUIRED
            and method not in ("login", "logout", "authenticate", "refresh")
        )

    async def _wait_up(self) -> ClientConnection:
        while True:
            if self._fatal is not None:
                raise self._fatal
            if self._up.is_set() and self._ws is not None:
                return self._ws
            await self._up.wait()

    async def call(self, method: str, params: Any = None, *, timeout: float | None = None) -> Any:
        """Call `method` and return its JSON result; waits (within `timeout`) while reconnecting."""
        limit = self.timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                ws = await self._wait_up()
                reply = await self._exchange(ws, method, params)
                if self._session_expired(reply, method):  # sign in again; the refused call did not run
                    await self._authenticate(ws)
                    reply = await self._exchange(ws, method, params)
        except TimeoutError:
            raise CallTimeout(f"{method}: no reply within {limit}s") from None
        if "error" in reply:
            raise error_from_reply(reply["error"], method)
        return reply.get("result")

    async def request(
        self, method: str, params: Any = None, *, timeout: float | None = None
    ) -> dict[str, Any]:
        """The whole reply object (result or error) of one call, for protocol-level tests."""
        limit = self.timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                return await self._exchange(await self._wait_up(), method, params)
        except TimeoutError:
            raise CallTimeout(f"{method}: no reply within {limit}s") from None

    @property
    def websocket(self) -> ClientConnection | None:
        """The current WebSocket (None before connecting); replaced on every reconnect."""
        return self._ws

    async def send_text(self, text: str | bytes) -> None:
        """Send one frame as it is (no JSON-RPC envelope): for protocol-level tests."""
        ws = await self._wait_up()
        await ws.send(text)

    async def _request(self, ws: ClientConnection, method: str, params: Any, timeout: float) -> Any:
        """A call on a connection that is still opening (authenticate, resubscribe)."""
        try:
            async with asyncio.timeout(timeout):
                reply = await self._exchange(ws, method, params)
        except TimeoutError:
            raise CallTimeout(f"{method}: no reply within {timeout}s") from None
        if "error" in reply:
            raise error_from_reply(reply["error"], method)
        return reply.get("result")

    async def _exchange(self, ws: ClientConnection, method: str, params: Any) -> dict[str, Any]:
        req_id = next(self._ids)
        msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": req_id}
        if params is not None:
            msg["params"] = params
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = fut
        try:
            try:
                await ws.send(json.dumps(msg, separators=(",", ":")))
            except ConnectionClosed as exc:
                raise ConnectionLost(f"{method}: connection lost before sending") from exc
            return await fut
        finally:
            self._pending.pop(req_id, None)

    async def notify(self, method: str, params: Any = None) -> None:
        """Send a JSON-RPC notification (no reply)."""
        ws = await self._wait_up()
        msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        await ws.send(json.dumps(msg, separators=(",", ":")))

    # ---- notifications -------------------------------------------------------------------------------

    def add_listener(
        self, method: str | None = None, where: Callable[[Any], bool] | None = None, maxsize: int = 10_000
    ) -> _Listener:
        listener = _Listener(method, where, maxsize)
        if self._fatal is not None:
            listener.queue.put_nowait(self._fatal)
        self._listeners.add(listener)
        return listener

    def remove_listener(self, listener: _Listener) -> None:
        self._listeners.discard(listener)

    def add_subscription(self, sub: Resubscriber) -> None:
        self._subscriptions.append(sub)

    def remove_subscription(self, sub: Resubscriber) -> None:
        with contextlib.suppress(ValueError):
            self._subscriptions.remove(sub)

    def route_events(self, subscription_id: str, deliver: Callable[[Any], None]) -> None:
        """Deliver `event` notifications of this subscription id (and any that came before its reply)."""
        self._event_routes[subscription_id] = deliver
        early = [p for p in self._early_events if str(p.get("subscription")) == subscription_id]
        self._early_events = [p for p in self._early_events if str(p.get("subscription")) != subscription_id]
        for params in early:
            deliver(params)

    def unroute_events(self, subscription_id: str) -> None:
        self._event_routes.pop(subscription_id, None)

    async def raw_call(self, ws_method: str, params: Any, timeout: float) -> Any:
        """For subscriptions renewing themselves while the connection opens (no wait for `up`)."""
        assert self._ws is not None
        return await self._request(self._ws, ws_method, params, timeout)


__all__ = ["Backoff", "Connection", "Credentials", "RpcError"]

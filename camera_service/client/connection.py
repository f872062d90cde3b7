"""One JSON-RPC 2.0 connection over a WebSocket that survives restarts of the service.

Replies are matched to calls by id; notifications fan out to listeners. When the socket drops, calls in
flight fail with ConnectionLost (they may have run: nothing is retried behind the caller's back), and a
supervisor reconnects with capped, jittered exponential backoff, authenticates again and renews every
event subscription before new calls go out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Callable
from typing import Protocol

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
from camera_service.client.router import Deliver, FrameRouter, Listener, Unmatched
from camera_service.core.types import JsonObject, JsonValue

log = logging.getLogger("camera_service.client")

DEFAULT_URL = "ws://127.0.0.1:8002/ws"
_CONNECT_ERRORS = (OSError, InvalidHandshake, TimeoutError, ConnectionClosed)


class Resubscriber(Protocol):
    """An event subscription that renews itself on a new connection (see events.EventStream)."""

    async def resubscribe(self) -> None: ...
    def connection_lost(self) -> None: ...
    def connection_failed(self, exc: BaseException) -> None: ...


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
        self.identity: JsonValue = None  # the `authenticate` result of the current connection
        self.reconnects = 0  # successful reconnects since connect()
        self._ws: ClientConnection | None = None
        self._router = FrameRouter()
        self._subscriptions: list[Resubscriber] = []
        self._up = asyncio.Event()
        self._fatal: ClientError | None = None
        self._closed = False
        self._reader: asyncio.Task[None] | None = None
        self._supervisor: asyncio.Task[None] | None = None

    @property
    def on_unmatched(self) -> Unmatched | None:
        """Sees every notification and every reply no call waits for (raw-frame tests use it)."""
        return self._router.on_unmatched

    @on_unmatched.setter
    def on_unmatched(self, hook: Unmatched | None) -> None:
        self._router.on_unmatched = hook

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
        self._router.new_socket()
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
        self._router.fail_calls(exc)
        self._router.end_listeners(exc)
        for sub in self._subscriptions:
            sub.connection_failed(exc)

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                self._router.dispatch(raw)
        except ConnectionClosed:
            pass
        finally:
            if self._ws is ws:
                self._up.clear()
            self._router.fail_calls(ConnectionLost(f"connection to {self.url} lost"))
            for sub in self._subscriptions:
                sub.connection_lost()

    # ---- calls ---------------------------------------------------------------------------------------

    def _session_expired(self, reply: JsonObject, method: str) -> bool:
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

    async def call(self, method: str, params: JsonValue = None, *, timeout: float | None = None) -> JsonValue:
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
        self, method: str, params: JsonValue = None, *, timeout: float | None = None
    ) -> JsonObject:
        """The whole reply object (result or error) of one call, for protocol-level tests."""
        limit = self.timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                return await self._exchange(await self._wait_up(), method, params)
        except TimeoutError:
            raise CallTimeout(f"{method}: no reply within {limit}s") from None

    @property
    def in_flight(self) -> int:
        """Calls waiting for their reply."""
        return self._router.in_flight

    @property
    def websocket(self) -> ClientConnection | None:
        """The current WebSocket (None before connecting); replaced on every reconnect."""
        return self._ws

    async def send_text(self, text: str | bytes) -> None:
        """Send one frame as it is (no JSON-RPC envelope): for protocol-level tests."""
        ws = await self._wait_up()
        await ws.send(text)

    async def _request(
        self, ws: ClientConnection, method: str, params: JsonValue, timeout: float
    ) -> JsonValue:
        """A call on a connection that is still opening (authenticate, resubscribe)."""
        try:
            async with asyncio.timeout(timeout):
                reply = await self._exchange(ws, method, params)
        except TimeoutError:
            raise CallTimeout(f"{method}: no reply within {timeout}s") from None
        if "error" in reply:
            raise error_from_reply(reply["error"], method)
        return reply.get("result")

    async def _exchange(self, ws: ClientConnection, method: str, params: JsonValue) -> JsonObject:
        req_id, fut = self._router.expect_reply()
        msg: JsonObject = {"jsonrpc": "2.0", "method": method, "id": req_id}
        if params is not None:
            msg["params"] = params
        try:
            try:
                await ws.send(json.dumps(msg, separators=(",", ":")))
            except ConnectionClosed as exc:
                raise ConnectionLost(f"{method}: connection lost before sending") from exc
            return await fut
        finally:
            self._router.forget(req_id)

    async def notify(self, method: str, params: JsonValue = None) -> None:
        """Send a JSON-RPC notification (no reply)."""
        ws = await self._wait_up()
        msg: JsonObject = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        await ws.send(json.dumps(msg, separators=(",", ":")))

    # ---- notifications -------------------------------------------------------------------------------

    def add_listener(
        self,
        method: str | None = None,
        where: Callable[[JsonValue], bool] | None = None,
        maxsize: int = 10_000,
    ) -> Listener:
        listener = Listener(method, where, maxsize)
        if self._fatal is not None:
            listener.end(self._fatal)
        self._router.add_listener(listener)
        return listener

    def remove_listener(self, listener: Listener) -> None:
        self._router.remove_listener(listener)

    def add_subscription(self, sub: Resubscriber) -> None:
        self._subscriptions.append(sub)

    def remove_subscription(self, sub: Resubscriber) -> None:
        with contextlib.suppress(ValueError):
            self._subscriptions.remove(sub)

    def route_events(self, subscription_id: str, deliver: Deliver) -> None:
        """Deliver `event` notifications of this subscription id (and any that came before its reply)."""
        self._router.route_events(subscription_id, deliver)

    def unroute_events(self, subscription_id: str) -> None:
        self._router.unroute_events(subscription_id)

    async def raw_call(self, ws_method: str, params: JsonValue, timeout: float) -> JsonValue:
        """For subscriptions renewing themselves while the connection opens (no wait for `up`)."""
        assert self._ws is not None
        return await self._request(self._ws, ws_method, params, timeout)


__all__ = ["Backoff", "Connection", "Credentials", "RpcError"]

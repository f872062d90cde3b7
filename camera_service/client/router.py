"""Where each incoming frame goes: the reply to a waiting call, listeners, or an event subscription.

Owned by one `Connection`; it outlives the WebSockets the connection opens one after another.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Callable

from camera_service.core.types import JsonObject, JsonValue

log = logging.getLogger("camera_service.client")

EVENT_NOTIFICATION = "event"
# Events kept for a subscription whose `subscribe_events` reply has not arrived yet.
_EARLY_EVENTS_KEPT = 1000

Deliver = Callable[[JsonObject], None]
Unmatched = Callable[[JsonValue], None]


class Listener:
    """A queue of (method, params) notifications; it ends with the exception that ended the connection."""

    __slots__ = ("method", "queue", "where")

    def __init__(self, method: str | None, where: Callable[[JsonValue], bool] | None, maxsize: int) -> None:
        self.method = method
        self.where = where
        self.queue: asyncio.Queue[tuple[str, JsonValue] | BaseException] = asyncio.Queue(maxsize)

    def offer(self, method: str, params: JsonValue) -> None:
        if self.method is not None and self.method != method:
            return
        if self.where is not None and not self.where(params):
            return
        self.put(method, params)

    def put(self, method: str, params: JsonValue) -> None:
        if self.queue.full():  # a consumer that stopped reading loses the oldest, never blocks the reader
            self.queue.get_nowait()
        self.queue.put_nowait((method, params))

    def end(self, exc: BaseException) -> None:
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(exc)


class FrameRouter:
    """Matches replies to calls by id and fans notifications out."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[JsonObject]] = {}
        self._listeners: set[Listener] = set()
        self._event_routes: dict[str, Deliver] = {}
        self._early_events: list[JsonObject] = []
        # Sees every notification and every reply no call waits for (raw-frame tests use it).
        self.on_unmatched: Unmatched | None = None

    # ---- calls ---------------------------------------------------------------------------------------

    def expect_reply(self) -> tuple[int, asyncio.Future[JsonObject]]:
        """A new request id and the future its reply will complete (`forget` it when done)."""
        req_id = next(self._ids)
        fut: asyncio.Future[JsonObject] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = fut
        return req_id, fut

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    def forget(self, req_id: int) -> None:
        self._pending.pop(req_id, None)

    def fail_calls(self, exc: BaseException) -> None:
        for fut in list(self._pending.values()):
            if not fut.done():
                fut.set_exception(exc)

    # ---- notifications -------------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        self._listeners.add(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._listeners.discard(listener)

    def end_listeners(self, exc: BaseException) -> None:
        for listener in self._listeners:
            listener.end(exc)

    def route_events(self, subscription_id: str, deliver: Deliver) -> None:
        """Deliver `event` notifications of this subscription id (and any that came before its reply)."""
        self._event_routes[subscription_id] = deliver
        early = [p for p in self._early_events if str(p.get("subscription")) == subscription_id]
        self._early_events = [p for p in self._early_events if str(p.get("subscription")) != subscription_id]
        for params in early:
            deliver(params)

    def unroute_events(self, subscription_id: str) -> None:
        self._event_routes.pop(subscription_id, None)

    def new_socket(self) -> None:
        """Subscription ids are per socket: forget the old socket's routes and early events."""
        self._early_events.clear()
        self._event_routes.clear()

    # ---- incoming frames -----------------------------------------------------------------------------

    def dispatch(self, raw: str | bytes) -> None:
        try:
            msg: JsonValue = json.loads(raw)
        except ValueError:
            log.warning("ignoring a frame that is not JSON")
            return
        if isinstance(msg, list) and not any(self._waited(item) is not None for item in msg):
            if self.on_unmatched is not None:  # a batch reply to a raw frame
                self.on_unmatched(msg)
            return
        for item in msg if isinstance(msg, list) else [msg]:
            self._dispatch_one(item)

    def _waited(self, msg: JsonValue) -> asyncio.Future[JsonObject] | None:
        """The future of the call waiting for this reply, if any."""
        if not isinstance(msg, dict):
            return None
        req_id = msg.get("id")
        try:
            return self._pending.get(req_id) if isinstance(req_id, int) else None
        except TypeError:  # an unhashable id
            return None

    def _dispatch_one(self, msg: JsonValue) -> None:
        if isinstance(msg, dict) and "method" in msg and "id" not in msg:
            self._notification(msg)
        else:
            fut = self._waited(msg)
            if fut is not None and not fut.done():
                assert isinstance(msg, dict)  # _waited found it
                fut.set_result(msg)
                return
        if self.on_unmatched is not None:
            self.on_unmatched(msg)

    def _notification(self, msg: JsonObject) -> None:
        method, params = msg["method"], msg.get("params")
        if not isinstance(method, str):
            return
        if method == EVENT_NOTIFICATION and isinstance(params, dict):
            route = self._event_routes.get(str(params.get("subscription")))
            if route is not None:
                route(params)
            else:
                self._early_events.append(params)
                del self._early_events[:-_EARLY_EVENTS_KEPT]
        for listener in self._listeners:
            listener.offer(method, params)

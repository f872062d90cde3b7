"""Notifications as async iterators: an event subscription (renewed after reconnects), or any notification."""

from __future__ import annotations

import abc
import asyncio
import contextlib
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Generic, TypeVar

from pydantic import BaseModel

from camera_service.client.connection import Connection
from camera_service.client.errors import ClientError, ConnectionLost, RpcError
from camera_service.client.router import Listener
from camera_service.client.typed import notification_adapter
from camera_service.core.types import JsonObject, JsonValue

if TYPE_CHECKING:
    from camera_service.events.models import EventNotification

T = TypeVar("T")


def _subscription_id(result: JsonValue) -> str:
    if not isinstance(result, dict) or "subscription" not in result:
        raise ClientError(f"subscribe_events: unexpected reply {result!r}")
    return str(result["subscription"])


class _Stream(abc.ABC, Generic[T]):
    async def __aenter__(self) -> _Stream[T]:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> _Stream[T]:
        return self

    @abc.abstractmethod
    async def __anext__(self) -> T: ...

    @abc.abstractmethod
    async def aclose(self) -> None: ...

    async def next(self, timeout: float | None = None) -> T:
        """The next item, or CallTimeout-like TimeoutError after `timeout` seconds."""
        async with asyncio.timeout(timeout):
            return await self.__anext__()


class EventStream(_Stream["EventNotification"]):
    """`event` notifications of one subscription; the subscription is renewed on every reconnect.

    Filters are the server's (topics, cameras, min_severity) plus an optional local `where(event)`.
    Iterating yields EventNotification models (`.event` is the event).
    """

    def __init__(
        self,
        conn: Connection,
        params: JsonObject,
        where: Callable[[EventNotification], bool] | None = None,
        maxsize: int = 10_000,
    ) -> None:
        self._conn = conn
        self.params = params
        self.where = where
        self.subscription: str | None = None
        self.renewals = 0
        self._queue: asyncio.Queue[JsonObject | BaseException] = asyncio.Queue(maxsize)
        self._closed = False

    async def start(self, timeout: float | None = None) -> EventStream:
        notification_adapter("event")  # import the model now, not when the first event is waiting
        result = await self._conn.call("subscribe_events", self.params, timeout=timeout)
        self._bind(_subscription_id(result))
        self._conn.add_subscription(self)
        return self

    def _bind(self, sid: str) -> None:
        self.subscription = sid
        self._conn.route_events(sid, self._deliver)

    def _deliver(self, params: JsonObject | BaseException) -> None:
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(params)

    async def resubscribe(self) -> None:
        """Called by the connection after a reconnect, before new calls go out."""
        try:
            result = await self._conn.raw_call("subscribe_events", self.params, self._conn.connect_timeout)
        except RpcError as exc:  # e.g. the camera is gone: this stream ends, the connection lives on
            self._deliver(exc)
            self._conn.remove_subscription(self)
            return
        self.renewals += 1
        self._bind(_subscription_id(result))

    def connection_lost(self) -> None:
        if self.subscription is not None:
            self._conn.unroute_events(self.subscription)

    def connection_failed(self, exc: BaseException) -> None:
        self._deliver(exc)

    async def __anext__(self) -> EventNotification:
        adapter = notification_adapter("event")
        assert adapter is not None
        while True:
            if self._closed:
                raise StopAsyncIteration
            item = await self._queue.get()
            if isinstance(item, BaseException):
                raise item
            note: EventNotification = adapter.validate_python(item)
            if self.where is None or self.where(note):
                return note

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._conn.remove_subscription(self)
        if self.subscription is not None:
            self._conn.unroute_events(self.subscription)
            if self._conn.connected:
                with contextlib.suppress(ClientError):
                    await self._conn.call(
                        "unsubscribe_events", {"subscription": self.subscription}, timeout=5
                    )


class NotificationStream(_Stream[BaseModel | JsonValue]):
    """Every notification named `method` (all when None) whose params pass `where(params)`.

    Yields the params as the registered notification model when the server registers one, else as JSON.
    """

    def __init__(
        self,
        conn: Connection,
        method: str | None = None,
        where: Callable[[JsonValue], bool] | None = None,
    ) -> None:
        self._conn = conn
        self.method = method
        self._listener: Listener | None = conn.add_listener(method, where)

    async def __anext__(self) -> BaseModel | JsonValue:
        if self._listener is None:
            raise StopAsyncIteration
        item = await self._listener.queue.get()
        if isinstance(item, BaseException):
            raise item
        method, params = item
        adapter = notification_adapter(method)
        return adapter.validate_python(params) if adapter is not None else params

    async def aclose(self) -> None:
        if self._listener is not None:
            self._conn.remove_listener(self._listener)
            self._listener = None


__all__ = ["ConnectionLost", "EventStream", "NotificationStream"]

"""A blocking wrapper for scripts: the asyncio client runs on its own event loop in a daemon thread.

`with SyncClient() as cs: cs.cameras.list()` — same groups and methods as CameraServiceClient, blocking.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from camera_service.client.client import CameraServiceClient
from camera_service.client.streams import EventStream

if TYPE_CHECKING:
    from camera_service.core.types import JsonValue
    from camera_service.events.models import EventNotification

T = TypeVar("T")


class _Blocking:
    """Attribute proxy: coroutine methods become blocking calls; groups are proxied in turn."""

    def __init__(self, target: object, owner: SyncClient) -> None:
        self._target = target
        self._owner = owner

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if inspect.iscoroutinefunction(attr):

            def blocking(*args: Any, **kwargs: Any) -> Any:
                return self._owner._run(attr(*args, **kwargs))

            blocking.__doc__ = attr.__doc__
            blocking.__name__ = name
            return blocking
        if hasattr(attr, "_client"):  # a method group: cs.cameras.list()
            return _Blocking(attr, self._owner)
        return attr


class SyncClient:
    def __init__(self, url: str | None = None, **kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="camera-service", daemon=True)
        self._thread.start()
        self._streams: list[SyncEventStream] = []

        async def make() -> CameraServiceClient:
            client = CameraServiceClient(url, **kwargs)
            await client.connect()
            return client

        try:
            self._client = self._run(make())
        except BaseException:
            self._stop_loop()
            raise

    def _run(self, coro: Coroutine[object, object, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result()
        except KeyboardInterrupt:  # Ctrl-C cancels the call (the server may still finish it)
            future.cancel()
            raise

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(_Blocking(self._client, self), name)

    @property
    def client(self) -> CameraServiceClient:
        """The asyncio client underneath (runs on this wrapper's loop thread)."""
        return self._client

    def call(self, method: str, params: JsonValue = None, *, timeout: float | None = None) -> JsonValue:
        return self._run(self._client.call(method, params, timeout=timeout))

    def follow_events(self, **filters: Any) -> SyncEventStream:
        """Subscribe now; iterate to block on events: `for note in cs.follow_events(cameras=["demo"])`."""
        stream = SyncEventStream(self, self._run(self._client.events.follow(**filters)))
        self._streams.append(stream)
        return stream

    def close(self) -> None:
        if self._loop.is_closed():
            return
        for stream in self._streams:
            stream.close()
        self._run(self._client.close())
        self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class SyncEventStream:
    """Blocking iterator over an EventStream; `close()` (or leaving `with`) unsubscribes."""

    def __init__(self, owner: SyncClient, stream: EventStream) -> None:
        self._owner = owner
        self.stream = stream

    def __iter__(self) -> SyncEventStream:
        return self

    def __next__(self) -> EventNotification:
        try:
            return self._owner._run(self.stream.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None

    def next(self, timeout: float | None = None) -> EventNotification:
        return self._owner._run(self.stream.next(timeout))

    def close(self) -> None:
        if not self._owner._loop.is_closed():
            self._owner._run(self.stream.aclose())

    def __enter__(self) -> SyncEventStream:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

"""The asyncio client: a Connection plus one typed coroutine per registered method, grouped by domain."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from camera_service.client import _api
from camera_service.client.connection import Backoff, Connection
from camera_service.client.download import Progress, download
from camera_service.client.streams import EventStream, NotificationStream
from camera_service.client.typed import build_params, parse_result

if TYPE_CHECKING:
    from camera_service.core.bus import Severity
    from camera_service.core.types import JsonObject, JsonValue
    from camera_service.events.models import EventNotification


class EventsApi(_api.EventsApi):
    """The `events` methods plus `follow()`: a subscription as an async iterator."""

    def __init__(self, client: CameraServiceClient) -> None:
        super().__init__(client)
        self._conn = client

    async def follow(
        self,
        *,
        topics: list[str] | None = None,
        cameras: list[str] | None = None,
        min_severity: Severity | str | None = None,
        where: Callable[[EventNotification], bool] | None = None,
        timeout: float | None = None,
    ) -> EventStream:
        """Subscribe and return the stream of matching events (renewed after every reconnect).

        `async with await cs.events.follow(cameras=["demo"]) as events: async for note in events: ...`
        """
        params: JsonObject = {"topics": [*(topics or ["*"])]}
        if cameras is not None:
            params["cameras"] = [*cameras]
        if min_severity is not None:
            params["min_severity"] = build_params(None, {"s": min_severity})["s"]
        return await EventStream(self._conn, params, where).start(timeout)


class CameraServiceClient(Connection, _api.Groups):
    """`async with CameraServiceClient(url, token=...) as cs: await cs.cameras.list()`.

    Sign in with `token=` (JWT), `api_key=`, or `username=` + `password=` (the `login` method; signed in
    again when the session expires). URL and token default to $CAMERA_SERVICE_URL and
    $CAMERA_SERVICE_TOKEN. Every registered method is a typed coroutine under its group (see METHODS);
    `call()` sends any method with raw JSON params.
    """

    events: EventsApi

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
        super().__init__(
            url,
            token=token,
            api_key=api_key,
            username=username,
            password=password,
            timeout=timeout,
            connect_timeout=connect_timeout,
            reconnect=reconnect,
            backoff=backoff,
            max_message_bytes=max_message_bytes,
            headers=headers,
        )
        self._init_groups(self)
        self.events = EventsApi(self)

    async def __aenter__(self) -> CameraServiceClient:
        await self.connect()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def invoke(self, method: str, params: Mapping[str, object], timeout: float | None) -> object:
        """A typed call: params from keywords (unset ones left out), the result as the registered model."""
        result = await self.call(method, build_params(None, params), timeout=timeout)
        return parse_result(method, result)

    async def call_model(
        self,
        method: str,
        params: BaseModel | Mapping[str, object] | None = None,
        *,
        timeout: float | None = None,
    ) -> object:
        """Call `method` with a params model (or mapping) and return the parsed result model."""
        return await self.invoke(method, build_params(params, {}), timeout)

    def notifications(
        self, method: str | None = None, *, where: Callable[[JsonValue], bool] | None = None
    ) -> NotificationStream:
        """Notifications named `method` (all if None) as an async iterator of their registered models."""
        return NotificationStream(self, method, where)

    async def download(
        self, url: str, dest: str | Path, *, progress: Progress | None = None, timeout: float = 300.0
    ) -> Path:
        """Fetch a signed download URL (snapshot, recording, clip) to `dest`; returns the path."""
        return await download(url, Path(dest), progress=progress, timeout=timeout)


async def connect(url: str | None = None, **kwargs: Any) -> CameraServiceClient:
    """A connected client (close it with `await client.close()` or use `async with`)."""
    client = CameraServiceClient(url, **kwargs)
    await client.connect()
    return client

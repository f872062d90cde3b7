"""Shared events across instances (scale-out): committed events go to one stream; every instance reads it
and pushes to its own WebSocket clients.

The instance that raises an event stores it (with its webhook outbox rows, one transaction), pushes it to
its own subscribers and runs the rules, exactly as a single instance does; then it appends the event to
the stream. Every instance reads the stream from its own cursor (plain XREAD, not a consumer group: each
instance needs every message) and pushes what other instances raised; entries carrying its own origin id
are skipped, so nothing is pushed twice. A dropped Redis connection is retried from the last id read, so
a reconnect replays what was appended meanwhile (as far as the stream's MAXLEN keeps it).

Besides events, the stream carries `reload` notes: another instance changed webhooks or rules, so the
in-memory copies that match events here are re-read from the database.

The transport is a small port (`StreamTransport`): `RedisStreamTransport` in production, an in-memory one
in unit tests.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from camera_service.core.bus import Event
from camera_service.core.clock import Clock
from camera_service.core.pushes import PushHandler
from camera_service.core.tasks import TaskSet

log = logging.getLogger("camera_service.events.shared")

KIND_EVENT = "event"
KIND_RELOAD = "reload"
KIND_PUSH = "push"

Fields = Mapping[str, bytes]
Entry = tuple[str, Mapping[Any, Any]]  # (stream id, fields as the client returns them)


class StreamTransport(Protocol):
    """An append-only, trimmed, replayable log (a Redis Stream)."""

    async def last_id(self) -> str:
        """The id of the newest entry ("0-0" when empty): where a new reader starts."""
        ...

    async def append(self, entries: Sequence[Fields]) -> None:
        """Append entries in order (one round trip for the batch)."""
        ...

    async def read(self, after: str, *, block_ms: int, count: int) -> list[Entry]:
        """Entries after id `after`, waiting up to block_ms for the first one; [] on timeout."""
        ...

    async def close(self) -> None:
        """Release connections (the component stops)."""
        ...


@dataclass(frozen=True)
class SharedMessage:
    kind: str
    origin: str
    body: bytes


def encode_event(event: Event, origin: str) -> dict[str, bytes]:
    return {
        "k": KIND_EVENT.encode(),
        "o": origin.encode(),
        "b": orjson.dumps(event.model_dump(mode="json")),
    }


def encode_reload(what: str, origin: str) -> dict[str, bytes]:
    return {"k": KIND_RELOAD.encode(), "o": origin.encode(), "b": what.encode()}


def encode_push(channel: str, payload: dict[str, Any], origin: str) -> dict[str, bytes]:
    return {"k": KIND_PUSH.encode(), "o": origin.encode(), "b": orjson.dumps({"c": channel, "p": payload})}


def _field(fields: Mapping[Any, Any], name: str) -> bytes:
    value = fields.get(name.encode(), fields.get(name))
    if value is None:
        raise ValueError(f"stream entry without field {name!r}")
    return value if isinstance(value, bytes) else str(value).encode()


def decode(fields: Mapping[Any, Any]) -> SharedMessage:
    return SharedMessage(
        kind=_field(fields, "k").decode(), origin=_field(fields, "o").decode(), body=_field(fields, "b")
    )


@dataclass
class SharedStats:
    published: int = 0
    received: int = 0  # other instances' events pushed here
    skipped_own: int = 0
    publish_errors: int = 0
    read_errors: int = 0
    dropped: int = 0  # waiting to be appended while the stream was unreachable, beyond max_pending


class SharedEvents:
    """One instance's side of the shared stream: a publisher task and a reader task. Also the
    `core.pushes.PushRelay` of the domains' state pushes (camera and recording status)."""

    def __init__(
        self,
        transport: StreamTransport,
        *,
        clock: Clock,
        instance_id: str | None = None,
        block_ms: int = 1000,
        batch: int = 256,
        max_pending: int = 100_000,
        retry_s: float = 0.5,
    ) -> None:
        self.transport = transport
        self.instance_id = instance_id or uuid.uuid4().hex[:16]
        self.clock = clock
        self.stats = SharedStats()
        self._block_ms = block_ms
        self._batch = batch
        self._max_pending = max_pending
        self._retry_s = retry_s
        self._pending: deque[dict[str, bytes]] = deque()
        self._wake = asyncio.Event()
        self._tasks = TaskSet("shared-events")
        self._cursor = "0-0"
        self._on_event: Callable[[Event], None] = lambda _e: None
        self._on_reload: Callable[[str], Awaitable[None]] | None = None
        self._push_handlers: dict[str, PushHandler] = {}
        self.connected = False

    @property
    def cursor(self) -> str:
        """The id of the last entry read (the replay point after a reconnect)."""
        return self._cursor

    async def start(
        self, on_event: Callable[[Event], None], on_reload: Callable[[str], Awaitable[None]]
    ) -> None:
        """Read from the stream's current end on: an instance that starts hears what is raised from now."""
        self._on_event = on_event
        self._on_reload = on_reload
        try:
            self._cursor = await self.transport.last_id()
        except Exception as exc:  # Redis down at start: read from now (stream ids are ms timestamps)
            log.warning("shared events: stream unreachable at start", extra={"error": str(exc)})
            self._cursor = f"{int(self.clock.time() * 1000)}-0"
        self.connected = True
        self._tasks.reopen()
        self._tasks.spawn(self._publisher(), name="shared-events-publish")
        self._tasks.spawn(self._reader(), name="shared-events-read")

    async def stop(self) -> None:
        await self._flush(grace_s=2.0)
        await self._tasks.close()
        await self.transport.close()

    # --- publishing (never blocks the caller) ---
    def publish_events(self, events: Sequence[Event]) -> None:
        """Queue committed events for the stream."""
        for event in events:
            self._queue(encode_event(event, self.instance_id))

    def announce_reload(self, what: str) -> None:
        """Tell the other instances to re-read `what` ("webhooks", "rules") from the database."""
        self._queue(encode_reload(what, self.instance_id))

    # --- core.pushes.PushRelay ---
    def publish(self, channel: str, payload: dict[str, Any]) -> None:
        self._queue(encode_push(channel, payload, self.instance_id))

    def on(self, channel: str, handler: PushHandler) -> None:
        self._push_handlers[channel] = handler

    def _queue(self, fields: dict[str, bytes]) -> None:
        if len(self._pending) >= self._max_pending:
            self._pending.popleft()  # the stream is unreachable for long: keep the newest
            self.stats.dropped += 1
        self._pending.append(fields)
        self._wake.set()

    async def _flush(self, grace_s: float) -> None:
        deadline = self.clock.monotonic() + grace_s
        while self._pending and self.connected and self.clock.monotonic() < deadline:
            await self.clock.sleep(0.01)

    async def _publisher(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = [self._pending[i] for i in range(min(self._batch, len(self._pending)))]
                try:
                    await self.transport.append(batch)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self.stats.publish_errors += 1
                    log.warning("shared events: append failed, retrying", extra={"error": str(exc)})
                    await self.clock.sleep(self._retry_s)
                    continue
                for _ in batch:
                    self._pending.popleft()
                self.stats.published += len(batch)

    # --- reading ---
    async def _reader(self) -> None:
        failing = False
        while True:
            try:
                entries = await self.transport.read(self._cursor, block_ms=self._block_ms, count=self._batch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.stats.read_errors += 1
                self.connected = False
                if not failing:
                    log.warning("shared events: stream read failed, retrying", extra={"error": str(exc)})
                failing = True
                await self.clock.sleep(self._retry_s)
                continue
            if failing:
                log.info("shared events: stream reachable again", extra={"cursor": self._cursor})
                failing = False
            self.connected = True
            for i, (entry_id, fields) in enumerate(entries):
                self._cursor = entry_id if isinstance(entry_id, str) else bytes(entry_id).decode()
                if i and i % 64 == 0:
                    await asyncio.sleep(0)  # a long replay must not starve calls
                await self._handle(fields)

    async def _handle(self, fields: Mapping[Any, Any]) -> None:
        try:
            msg = decode(fields)
            if msg.origin == self.instance_id:
                self.stats.skipped_own += 1  # pushed here already, when it was raised
                return
            if msg.kind == KIND_EVENT:
                self.stats.received += 1
                self._on_event(Event.model_validate_json(msg.body))
            elif msg.kind == KIND_PUSH:
                push = orjson.loads(msg.body)
                handler = self._push_handlers.get(push["c"])
                if handler is not None:
                    handler(push["p"])
            elif msg.kind == KIND_RELOAD and self._on_reload is not None:
                await self._on_reload(msg.body.decode())
        except Exception:
            log.exception("shared events: entry skipped")

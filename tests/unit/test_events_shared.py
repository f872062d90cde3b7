"""Shared events between instances, over an in-memory stream (the Redis one is tested in
tests/integration/test_scaleout_bus.py): an event raised on A reaches B's subscribers once and A's once
(never twice), a dropped stream connection replays what was appended meanwhile, an append that fails is
retried, and a webhook added on A is known to B without a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.fernet import Fernet

from camera_service.core.bus import Event, EventBus
from camera_service.core.clock import SystemClock
from camera_service.events.config import EventsConfig
from camera_service.events.models import SubscriptionFilter
from camera_service.events.service import EventService
from camera_service.events.shared import SharedEvents, decode, encode_event
from camera_service.observability.metrics import Metrics
from camera_service.rpc.context import ConnectionContext
from camera_service.storage.crypto import SecretBox
from camera_service.storage.sqlite import SqliteDatabase as Database
from tests.unit.fakes import rule_deps


class MemoryStream:
    """A StreamTransport in memory; `down` makes every call fail like a lost Redis connection."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, dict[str, bytes]]] = []
        self.down = False
        self._grew = asyncio.Condition()

    def _check(self) -> None:
        if self.down:
            raise ConnectionError("stream unreachable")

    async def last_id(self) -> str:
        self._check()
        return self.entries[-1][0] if self.entries else "0-0"

    async def append(self, entries: Sequence[Mapping[str, bytes]]) -> None:
        self._check()
        async with self._grew:
            for fields in entries:
                self.entries.append((f"{len(self.entries) + 1}-0", dict(fields)))
            self._grew.notify_all()

    async def close(self) -> None:
        pass

    async def read(self, after: str, *, block_ms: int, count: int) -> list[tuple[str, Mapping[Any, Any]]]:
        self._check()
        seq = int(after.split("-", maxsplit=1)[0])
        async with self._grew:
            if len(self.entries) <= seq:
                try:
                    await asyncio.wait_for(self._grew.wait(), block_ms / 1000)
                except TimeoutError:
                    return []
        self._check()
        return list(self.entries[seq : seq + count])


async def until(cond: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        if loop.time() > deadline:
            raise AssertionError(f"never: {what}")
        await asyncio.sleep(0.01)


def subscriber(svc: EventService) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    conn = ConnectionContext(remote="test")

    def take(payload: bytes) -> bool:
        got.append(orjson.loads(payload)["params"]["event"])
        return True

    conn._send_encoded = take
    svc.subscriptions.subscribe(conn, SubscriptionFilter(topics=["*"]))
    return got


Instance = tuple[EventService, EventBus, SharedEvents]


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[Instance, Instance, MemoryStream]]:
    stream = MemoryStream()
    box = SecretBox(Fernet.generate_key())
    made: list[tuple[EventService, Database]] = []
    out: list[Instance] = []
    # Webhooks and rules are shared through one database in a cluster: both instances use one file.
    dbs = [Database(tmp_path / "ev.db"), Database(tmp_path / "ev.db")]
    for name, db in zip("ab", dbs, strict=True):
        bus = EventBus()
        shared = SharedEvents(stream, clock=SystemClock(), instance_id=name, block_ms=200, retry_s=0.05)
        deps = rule_deps()
        svc = EventService(
            EventsConfig(),
            db,
            bus,
            Metrics(),
            secret_box=lambda: box,
            cameras=deps.cameras,
            recordings=deps.recordings,
            rule_deps=deps,
            shared=shared,
        )
        await db.start()
        made.append((svc, db))
        out.append((svc, bus, shared))
    for svc, _db in made:
        await svc.start()
    try:
        yield out[0], out[1], stream
    finally:
        for svc, db in made:
            await svc.stop()
            await db.stop()


async def test_event_raised_on_a_is_pushed_once_on_each_instance(
    pair: tuple[Instance, Instance, MemoryStream],
) -> None:
    (a, a_bus, a_shared), (b, _b_bus, b_shared), stream = pair
    on_a, on_b = subscriber(a), subscriber(b)
    a_bus.publish(Event(type="test.thing", camera="cam1", data={"n": 1}))
    await until(lambda: len(on_b) == 1, "pushed on B")
    await until(lambda: a_shared.stats.skipped_own == 1, "A read its own entry back")
    await asyncio.sleep(0.1)
    assert [e["data"] for e in on_a] == [{"n": 1}]  # A pushed it once, when raised; not again
    assert on_b[0]["id"] == on_a[0]["id"] and on_b[0]["type"] == "test.thing"
    assert [decode(f).origin for _i, f in stream.entries] == ["a"]
    assert b_shared.stats.received == 1 and b_shared.stats.skipped_own == 0
    assert await b.store.count() == 1  # stored once, by A (B shares the database and stores nothing)


async def test_reader_replays_what_was_appended_while_it_was_cut_off(
    pair: tuple[Instance, Instance, MemoryStream],
) -> None:
    (_a, _a_bus, _a_shared), (b, _b_bus, b_shared), stream = pair
    on_b = subscriber(b)
    stream.down = True
    await until(lambda: b_shared.stats.read_errors > 0, "B noticed the lost stream")
    # Appended by a third instance while B cannot read:
    stream.down = False
    await stream.append([encode_event(Event(type="test.n", data={"n": n}), "c") for n in range(5)])
    stream.down = True
    await asyncio.sleep(0.2)
    assert on_b == []
    stream.down = False
    await until(lambda: len(on_b) == 5, "B replayed the five entries after reconnecting")
    assert [e["data"]["n"] for e in on_b] == [0, 1, 2, 3, 4]
    assert b_shared.connected and b_shared.cursor == "5-0"


async def test_failed_append_is_retried_in_order(pair: tuple[Instance, Instance, MemoryStream]) -> None:
    (_a, a_bus, a_shared), (b, _b_bus, _b_shared), stream = pair
    on_b = subscriber(b)
    stream.down = True
    for n in range(3):
        a_bus.publish(Event(type="test.n", data={"n": n}))
    await until(lambda: a_shared.stats.publish_errors > 0, "the append failed")
    stream.down = False
    await until(lambda: len(on_b) == 3, "appended after the stream came back")
    assert [e["data"]["n"] for e in on_b] == [0, 1, 2]


async def test_webhook_added_on_a_is_matched_on_b(pair: tuple[Instance, Instance, MemoryStream]) -> None:
    (a, _a_bus, _a_shared), (b, _b_bus, _b_shared), _stream = pair
    hook = await a.webhooks.add(
        url="http://127.0.0.1:9/hook",
        topics=["test.*"],
        cameras=None,
        min_severity=None,
        secret="s3cret",
        enabled=True,
        description="",
    )
    await until(lambda: b.webhooks.get(hook.id) is not None, "B reloaded its webhooks")
    row = b.webhooks.get(hook.id)
    assert row is not None and row.secret == "s3cret"
    assert [r.webhook.id for r in b.webhooks.matching(Event(type="test.x"))] == [hook.id]
    await a.webhooks.remove(hook.id)
    await until(lambda: b.webhooks.get(hook.id) is None, "B forgot the removed webhook")

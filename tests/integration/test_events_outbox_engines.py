"""The webhook outbox on real engines: an event and its outbox rows are stored in one transaction (SQLite
and PostgreSQL), and on PostgreSQL workers of several instances claim due deliveries with
FOR UPDATE SKIP LOCKED, so each delivery is sent exactly once however many workers race for it."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest
from cryptography.fernet import Fernet

from camera_service.core.bus import Event, EventBus
from camera_service.core.clock import SystemClock
from camera_service.events.config import EventsConfig
from camera_service.events.service import EventService
from camera_service.events.webhooks.models import DeliveryStatus
from camera_service.events.webhooks.policy import AttemptResult
from camera_service.observability.metrics import Metrics
from camera_service.storage.crypto import SecretBox
from camera_service.storage.factory import database_for_url
from tests.unit.fakes import rule_deps

pytestmark = pytest.mark.integration

BOX = SecretBox(Fernet.generate_key())


class RecordingSender:
    """Accepts every POST after `delay_s`; remembers which delivery ids it got (shared by workers)."""

    def __init__(self, got: Counter[str], delay_s: float = 0.0) -> None:
        self.got = got
        self.delay_s = delay_s

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def post(self, url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> AttemptResult:
        await asyncio.sleep(self.delay_s)
        self.got[headers["Idempotency-Key"]] += 1
        return AttemptResult(status=200)


def events_service(url: str, cfg: dict[str, Any] | None = None) -> EventService:
    deps = rule_deps()
    return EventService(
        EventsConfig.model_validate(cfg or {}),
        database_for_url(url),
        EventBus(),
        Metrics(),
        secret_box=lambda: BOX,
        cameras=deps.cameras,
        recordings=deps.recordings,
        rule_deps=deps,
        clock=SystemClock(),
    )


@pytest.fixture
async def started() -> AsyncIterator[Callable[[EventService], Any]]:
    async with AsyncExitStack() as stack:

        async def start(svc: EventService) -> EventService:
            await svc.db.start()
            stack.push_async_callback(svc.db.stop)
            await svc.start()
            stack.push_async_callback(svc.stop)
            return svc

        yield start


async def until(cond: Callable[[], Any], what: str, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        got = cond()
        if asyncio.iscoroutine(got):
            got = await got
        if got:
            return
        if loop.time() > deadline:
            raise AssertionError(f"never: {what}")
        await asyncio.sleep(0.02)


async def test_event_and_its_outbox_rows_are_stored_together_or_not_at_all(
    database_url: str, started: Callable[[EventService], Any]
) -> None:
    svc = await started(events_service(database_url, {"webhooks": {"poll_interval_s": 60}}))
    svc.outbox.sender = RecordingSender(Counter(), delay_s=3600)  # type: ignore[assignment]
    hook = await svc.webhooks.add(
        url="http://127.0.0.1:9/h",
        topics=["alarm.*"],
        cameras=None,
        min_severity=None,
        secret=None,
        enabled=True,
        description="",
    )
    kept = Event(type="alarm.kept")
    await svc.publish(kept)
    assert await svc.get_event(kept.id) is not None
    assert [d.event_id for d in await svc.deliveries(hook.id, None, 10, None)] == [kept.id]

    # The webhook row vanishes behind the manager's back: the next outbox INSERT breaks its foreign key,
    # and the event written in the same transaction must go with it.
    await svc.db.execute("DELETE FROM webhooks WHERE id=?", (hook.id,))
    lost = Event(type="alarm.lost")
    await svc.publish(lost)
    assert await svc.get_event(lost.id) is None
    other = Event(type="other.thing")  # matches no webhook: stored as usual
    await svc.publish(other)
    assert await svc.get_event(other.id) is not None


async def test_two_workers_on_postgresql_deliver_each_row_exactly_once(
    pg_url: str, started: Callable[[EventService], Any]
) -> None:
    fast = {"webhooks": {"poll_interval_s": 0.02, "concurrency": 4}}
    a = await started(events_service(pg_url, fast))
    b = await started(events_service(pg_url, fast))
    got: Counter[str] = Counter()
    for svc in (a, b):
        svc.outbox.sender = RecordingSender(got, delay_s=0.01)  # type: ignore[assignment]
    hook = await a.webhooks.add(
        url="http://127.0.0.1:9/h",
        topics=["alarm.*"],
        cameras=None,
        min_severity=None,
        secret="s",
        enabled=True,
        description="",
    )
    await b.webhooks.load()  # (the shared stream would tell it; here there is none)
    n = 200
    for i in range(n):
        await (a if i % 2 else b).publish(Event(type="alarm.tick", data={"i": i}))

    async def all_delivered() -> bool:
        rows = await a.deliveries(hook.id, DeliveryStatus.DELIVERED, 1000, None)
        return len(rows) == n

    await until(all_delivered, f"{n} deliveries delivered")
    await asyncio.sleep(0.5)  # any duplicate attempt would land now
    assert len(got) == n and set(got.values()) == {1}, "a delivery was sent twice"
    rows = await a.deliveries(hook.id, None, 1000, None)
    assert {r.attempts for r in rows} == {1}


async def test_skip_locked_claims_are_disjoint_and_leased(
    pg_url: str, started: Callable[[EventService], Any]
) -> None:
    idle = {"webhooks": {"poll_interval_s": 60}}
    a = await started(events_service(pg_url, idle))
    await a.outbox.stop()  # claims by hand below
    hook = await a.webhooks.add(
        url="http://127.0.0.1:9/h",
        topics=["alarm.*"],
        cameras=None,
        min_severity=None,
        secret=None,
        enabled=True,
        description="",
    )
    for i in range(40):
        await a.publish(Event(type="alarm.tick", data={"i": i}))
    store = a.webhooks.store
    now = SystemClock().time()
    claims = await asyncio.gather(*(store.due(now + 1, 15, [], lease_s=60) for _ in range(4)))
    ids = [row.id for claim in claims for row in claim]
    assert len(ids) == len(set(ids)) == 40  # every row claimed once, none twice
    assert await store.due(now + 1, 15, [], lease_s=60) == []  # leased: not due for anyone
    later = await store.due(now + 120, 100, [], lease_s=60)  # the lease ran out (a worker died)
    assert sorted(r.id for r in later) == sorted(ids)
    assert hook.id == later[0].webhook_id

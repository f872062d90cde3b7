"""The webhook outbox worker on a simulated clock and a fake HTTP sender: a failing receiver is retried
after base * 2^(n-1) seconds (no jitter here), not earlier, until it accepts. No sleeping, no network;
the events store is a real SQLite file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from camera_service.core.bus import EventBus, Severity
from camera_service.events.config import EventsConfig
from camera_service.events.service import EventService
from camera_service.events.webhooks.models import DeliveryStatus
from camera_service.events.webhooks.policy import AttemptResult
from camera_service.observability.metrics import Metrics
from camera_service.storage.crypto import SecretBox
from camera_service.storage.sqlite import SqliteDatabase as Database
from tests.harness.clock import FakeClock
from tests.unit.fakes import rule_deps


class FakeSender:
    """Answers from a script of statuses; records when (by the fake clock) each POST came."""

    def __init__(self, clock: FakeClock, statuses: list[int]) -> None:
        self.clock = clock
        self.statuses = statuses
        self.posts: list[float] = []

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def post(self, url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> AttemptResult:
        self.posts.append(self.clock.time())
        status = self.statuses[min(len(self.posts), len(self.statuses)) - 1]
        return AttemptResult(status=status)


async def until(cond: Callable[[], bool], what: str) -> None:
    for _ in range(2000):  # database writes run in a thread: poll with a generous real deadline
        if cond():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never: {what}")


@pytest.fixture
async def events(tmp_path: Path) -> AsyncIterator[tuple[EventService, FakeClock, EventBus]]:
    clock, bus = FakeClock(start=1_900_000_000.0), EventBus()
    db = Database(tmp_path / "ev.db")
    cfg = EventsConfig.model_validate(
        {"webhooks": {"backoff_base_s": 10, "backoff_max_s": 300, "jitter": 0, "max_attempts": 5}}
    )
    box = SecretBox(Fernet.generate_key())
    deps = rule_deps()
    svc = EventService(
        cfg,
        db,
        bus,
        Metrics(),
        secret_box=lambda: box,
        cameras=deps.cameras,
        recordings=deps.recordings,
        rule_deps=deps,
        clock=clock,
    )
    await db.start()
    try:
        yield svc, clock, bus
    finally:
        await svc.stop()
        await db.stop()


async def test_failed_deliveries_back_off_on_the_clock_then_deliver(
    events: tuple[EventService, FakeClock, EventBus],
) -> None:
    svc, clock, bus = events
    sender = FakeSender(clock, [503, 503, 503, 200])
    svc.outbox.sender = sender  # type: ignore[assignment]
    await svc.start()
    hook = await svc.webhooks.add(
        url="http://127.0.0.1:9/hook",
        topics=["camera.*"],
        cameras=None,
        min_severity=None,
        secret=None,
        enabled=True,
        description="",
    )
    t0 = clock.time()
    bus.emit(
        "camera.offline",
        camera="cam1",
        severity=Severity.MEDIUM,
        status="OFFLINE",
        previous="ONLINE",
        error=None,
    )
    await until(lambda: len(sender.posts) == 1, "first attempt")
    assert sender.posts == [t0]

    # Retries after 10, 20, 40 s (base 10, doubling, no jitter): none a moment early.
    expected = [t0]
    for gap in (10, 20, 40):
        await clock.advance(gap - 0.5)
        await asyncio.sleep(0.05)
        assert len(sender.posts) == len(expected), f"retried before its {gap} s backoff"
        await clock.advance(0.5)
        want = len(expected) + 1
        await until(lambda: len(sender.posts) == want, f"retry after {gap} s")  # noqa: B023
        expected.append(expected[-1] + gap)
        assert sender.posts == pytest.approx(expected, abs=0.01)

    async def delivered() -> bool:
        rows = await svc.webhooks.store.list(hook.id, None, 10, None)
        return bool(rows) and rows[0].status is DeliveryStatus.DELIVERED and rows[0].attempts == 4

    for _ in range(400):
        if await delivered():
            break
        await asyncio.sleep(0.005)
    assert await delivered()
    await clock.advance(3600)
    assert len(sender.posts) == 4  # delivered: never sent again

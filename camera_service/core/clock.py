"""Injectable clock: code that waits or measures time takes a Clock so tests can fake it.

`Application(settings, clock=...)` hands one clock to every component; tests pass a simulated one
(tests/harness/clock.py FakeClock) and move time forward instead of sleeping."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def time(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def utcnow(clock: Clock) -> datetime:
    """The clock's wall time as an aware UTC datetime."""
    return datetime.fromtimestamp(clock.time(), UTC)


async def wait_event(clock: Clock, event: asyncio.Event, timeout: float) -> bool:  # noqa: ASYNC109
    """Wait until `event` is set or `timeout` seconds of the clock's time pass; True if it was set."""
    if event.is_set():
        return True
    waiter = asyncio.ensure_future(event.wait())
    sleeper = asyncio.ensure_future(clock.sleep(timeout))
    try:
        await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (waiter, sleeper):
            task.cancel()
        await asyncio.wait({waiter, sleeper})
    return event.is_set()

"""A simulated clock for tests: time stands still until the test moves it, and sleepers wake in
deadline order as it passes their deadlines (Moonfire's SimulatedClocks, for asyncio)."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time


class FakeClock:
    """Satisfies camera_service.core.clock.Clock. `await advance(s)` moves wall and monotonic time."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._wall = start
        self._mono = 10_000.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def time(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._mono + seconds, next(self._seq), fut))
        await fut

    @property
    def sleepers(self) -> int:
        """Tasks sleeping on this clock now (a test waits for a component to park before advancing)."""
        return sum(1 for *_, f in self._sleepers if not f.done())

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking each sleeper at its deadline and letting the loop run."""
        await settle()  # tasks spawned just now start (and begin their sleeps) at the current time
        target = self._mono + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, fut = heapq.heappop(self._sleepers)
            self._move_to(deadline)
            if not fut.done():
                fut.set_result(None)
                await settle()
        self._move_to(target)
        await settle()

    def set_wall(self, wall: float) -> None:
        """Jump wall time (an NTP step); monotonic time and sleepers are unaffected."""
        self._wall = wall

    def _move_to(self, mono: float) -> None:
        if mono > self._mono:
            self._wall += mono - self._mono
            self._mono = mono


async def settle(rounds: int = 20) -> None:
    """Let ready tasks run (a woken sleeper, what it awaits next if that is ready at once)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


class JumpClock:
    """Real time plus an offset a test can jump forward: the service runs at real speed (MediaMTX,
    segments, hooks), but waiting for a future wall time (a schedule window's end, a cooldown) is a
    jump. Sleepers wake early when a jump passes their deadline."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._jumped: asyncio.Event | None = None

    def time(self) -> float:
        return time.time() + self._offset

    def monotonic(self) -> float:
        return time.monotonic() + self._offset

    async def sleep(self, seconds: float) -> None:
        deadline = self.monotonic() + seconds
        while (left := deadline - self.monotonic()) > 0:
            if self._jumped is None:
                self._jumped = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._jumped.wait(), left)

    def jump(self, seconds: float) -> None:
        self._offset += seconds
        jumped, self._jumped = self._jumped, None
        if jumped is not None:
            jumped.set()

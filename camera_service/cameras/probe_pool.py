"""Where stream probes run (security M4): their own small thread pool, a bound per identity.

A probe of a listener that never answers can hold its thread past the call's timeout (a thread cannot be
cancelled); on the shared default executor twelve such calls once starved every snapshot. Here they can
only exhaust the probe pool, and one identity may hold at most `per_identity` probes at a time.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from camera_service.core.errors import RateLimited

T = TypeVar("T")


class ProbePool:
    def __init__(self, workers: int = 4, per_identity: int = 2) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="probe")
        self._per_identity = per_identity
        self._running: Counter[str] = Counter()

    async def run(self, who: str, fn: Callable[[], T], timeout_s: float) -> T:
        """`fn()` in the pool; TimeoutError after `timeout_s`; RateLimited when `who` has too many running
        (counted until their threads really end, so a hung probe keeps counting)."""
        if self._running[who] >= self._per_identity:
            raise RateLimited(
                f"{self._per_identity} probes of yours are still running; wait for them",
                {"scope": "probe", "retry_after_s": 1.0},
            )
        self._running[who] += 1
        future = asyncio.get_running_loop().run_in_executor(self._executor, fn)
        future.add_done_callback(lambda _f: self._release(who))
        return await asyncio.wait_for(asyncio.shield(future), timeout_s)

    def _release(self, who: str) -> None:
        self._running[who] -= 1
        if self._running[who] <= 0:
            del self._running[who]

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

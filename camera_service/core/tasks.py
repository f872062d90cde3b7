"""Background tasks with an owner: every task a component starts lives in its TaskSet, so none is
fire-and-forget (the loop keeps only weak references to tasks), a crash is logged instead of lost, and
stopping the component cancels and awaits all of them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterator
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


RECANCEL_CHECK_S = 0.5


async def cancel_and_wait(*tasks: asyncio.Task[object] | None) -> None:
    """Cancel the tasks and wait until they have ended.

    asyncio.wait neither raises a task's CancelledError nor swallows a cancel of the caller itself,
    which `with suppress(CancelledError): await task` would."""
    live = {t for t in tasks if t is not None and t is not asyncio.current_task()}
    for task in live:
        task.cancel()
    while live:
        _, live = await asyncio.wait(live, timeout=RECANCEL_CHECK_S)
        for task in live:
            # A task still running with no cancel pending lost ours: a timeout that fired in the same loop
            # step took it for its own and uncancelled it (CPython 3.11), and the task carried on. Ask again;
            # a task cleaning up after our cancel still counts it and is left alone.
            if not task.cancelling():
                task.cancel()


class TaskSet:
    """The background tasks of one owner.

    spawn() keeps a strong reference until the task ends; a task that fails is logged with its
    traceback (a cancelled one is not); close() cancels every task still running and awaits them all.
    After close() new tasks are cancelled before they run, so a late callback cannot outlive its owner."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._tasks: set[asyncio.Task[object]] = set()
        self._closed = False

    def spawn(self, coro: Coroutine[object, object, T], *, name: str | None = None) -> asyncio.Task[T]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        if self._closed:
            task.cancel()  # cancelled before its first step: the coroutine body never runs
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error(
                "%s: background task %s failed",
                self.name,
                task.get_name(),
                exc_info=(type(exc), exc, exc.__traceback__),
            )

    def __len__(self) -> int:
        return len(self._tasks)

    def __iter__(self) -> Iterator[asyncio.Task[object]]:
        return iter(list(self._tasks))

    @property
    def closed(self) -> bool:
        return self._closed

    def reopen(self) -> None:
        """Accept new tasks again (a component started after it was stopped)."""
        self._closed = False

    async def wait(self, timeout: float | None = None) -> None:  # noqa: ASYNC109 - a grace period
        """Let running tasks finish on their own for up to timeout seconds (all of them if None)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def close(self) -> None:
        """Cancel every task and wait until all have ended; later spawns are cancelled at once."""
        self._closed = True
        me = asyncio.current_task()
        while others := [t for t in self._tasks if t is not me]:  # cleanup may spawn more: loop
            await cancel_and_wait(*others)

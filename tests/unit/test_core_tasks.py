"""core.tasks: owned background tasks, and a check that no code starts a task it does not keep."""

from __future__ import annotations

import ast
import asyncio
import logging
from pathlib import Path

import pytest

from camera_service.core.tasks import TaskSet, cancel_and_wait

PACKAGE = Path(__file__).resolve().parents[2] / "camera_service"


async def test_close_cancels_and_awaits_every_task() -> None:
    tasks = TaskSet("t")
    cleaned: list[str] = []

    async def forever(name: str) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0)  # cleanup that itself awaits: close() must wait for it
            cleaned.append(name)

    a = tasks.spawn(forever("a"))
    b = tasks.spawn(forever("b"))
    await asyncio.sleep(0)
    assert len(tasks) == 2
    await tasks.close()
    assert sorted(cleaned) == ["a", "b"]
    assert a.cancelled() and b.cancelled()
    assert len(tasks) == 0


async def test_spawn_after_close_never_runs_the_body() -> None:
    tasks = TaskSet("t")
    await tasks.close()
    ran: list[int] = []

    async def body() -> None:
        ran.append(1)

    task = tasks.spawn(body())
    await asyncio.wait({task})
    assert task.cancelled() and ran == []
    tasks.reopen()
    await tasks.spawn(body())
    assert ran == [1]


async def test_finished_tasks_are_dropped_and_failures_logged(caplog: pytest.LogCaptureFixture) -> None:
    tasks = TaskSet("owner")

    async def ok() -> int:
        return 7

    async def boom() -> None:
        raise RuntimeError("kaput")

    assert await tasks.spawn(ok()) == 7
    failing = tasks.spawn(boom(), name="boomer")
    with caplog.at_level(logging.ERROR, logger="camera_service.core.tasks"):
        await asyncio.wait({failing})
        await asyncio.sleep(0)
    assert len(tasks) == 0
    assert any("owner: background task boomer failed" in r.getMessage() for r in caplog.records)
    assert any(r.exc_info and "kaput" in str(r.exc_info[1]) for r in caplog.records)


async def test_close_from_inside_one_of_its_tasks_does_not_hang() -> None:
    tasks = TaskSet("t")
    other = tasks.spawn(asyncio.Event().wait())

    async def closer() -> str:
        await tasks.close()
        return "closed"

    assert await asyncio.wait_for(tasks.spawn(closer()), 5) == "closed"
    assert other.cancelled()


async def test_wait_lets_tasks_finish_within_the_grace() -> None:
    tasks = TaskSet("t")
    gate = asyncio.Event()

    async def quick() -> str:
        await gate.wait()
        return "done"

    task = tasks.spawn(quick())
    slow = tasks.spawn(asyncio.Event().wait())
    gate.set()
    await tasks.wait(timeout=0.05)
    assert task.result() == "done" and not slow.done()
    await tasks.close()
    assert slow.cancelled()


async def test_cancel_and_wait_keeps_the_callers_own_cancellation() -> None:
    child_done = asyncio.Event()

    async def child() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0.01)
            child_done.set()

    task = asyncio.create_task(child())
    await asyncio.sleep(0)

    async def stopper() -> None:
        await cancel_and_wait(task, None)

    outer = asyncio.create_task(stopper())
    await asyncio.sleep(0)
    outer.cancel()  # cancelling the caller must cancel the caller, not be swallowed as the child's
    with pytest.raises(asyncio.CancelledError):
        await outer
    await asyncio.wait({task})
    assert child_done.is_set()


def test_no_task_is_started_without_keeping_it() -> None:
    """A task nobody references can be garbage-collected mid-run and its errors are never seen."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Expr)
                and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Attribute)
                and node.value.func.attr in ("create_task", "ensure_future")
            ):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []


async def test_cancel_and_wait_asks_again_when_a_cancel_was_lost() -> None:
    # A timeout that fires in the same loop step as our cancel takes it for its own and uncancels it
    # (CPython 3.11): the task carries on. cancel_and_wait must still end it.
    resumed = asyncio.Event()

    async def loses_one_cancel() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            assert task is not None
            task.uncancel()  # what the timeout does with a cancel it believes is its own
        resumed.set()
        await asyncio.sleep(10)  # without a second cancel this runs to the end

    task = asyncio.create_task(loses_one_cancel())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait(task), timeout=5)
    assert resumed.is_set() and task.cancelled()


async def test_cancel_and_wait_leaves_a_task_cleaning_up_after_the_cancel_alone() -> None:
    cleaned = False

    async def cleans_up() -> None:
        nonlocal cleaned
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            await asyncio.sleep(1.2)  # cleanup longer than the re-check: a second cancel would cut it short
            cleaned = True
            raise

    task = asyncio.create_task(cleans_up())
    await asyncio.sleep(0)
    await cancel_and_wait(task)
    assert cleaned and task.cancelled()

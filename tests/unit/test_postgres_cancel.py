"""A task cancelled while its PostgreSQL query runs ends at once with CancelledError, through every entry
point of PostgresDatabase, and the pool stays usable (components stop promptly on PostgreSQL)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from camera_service.storage.postgres import PostgresDatabase

SLEEP = "SELECT pg_sleep(5)"


@pytest.fixture
async def pg_db(pg_url: str) -> AsyncIterator[PostgresDatabase]:
    db = PostgresDatabase(pg_url, pool_size=2)
    await db.start()
    try:
        yield db
    finally:
        await db.stop()


async def _tx_sleep(db: PostgresDatabase) -> None:
    async with db.tx() as tx:
        await tx.execute("SELECT 1")
        await tx.fetch_one(SLEEP)


CALLS: dict[str, Callable[[PostgresDatabase], Awaitable[object]]] = {
    "execute": lambda db: db.execute(SLEEP),
    "fetch_one": lambda db: db.fetch_one(SLEEP),
    "fetch_all": lambda db: db.fetch_all(SLEEP),
    "transaction": lambda db: db.transaction([("SELECT 1", ()), (SLEEP, ())]),
    "execute_many": lambda db: db.execute_many("SELECT pg_sleep(?)", [(5,)]),
    "tx": _tx_sleep,
}


@pytest.mark.parametrize("call", sorted(CALLS))
async def test_cancel_mid_query_ends_the_task_promptly(pg_db: PostgresDatabase, call: str) -> None:
    for _ in range(3):  # the same pool connections again: each cancel leaves them usable
        task = asyncio.create_task(CALLS[call](pg_db))
        await asyncio.sleep(0.2)  # the query is in flight on the server
        t0 = time.monotonic()
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=4.0)
        assert task in done, f"{call}: still running 4 s after the cancel (the query sleeps 5 s)"
        assert task.cancelled(), f"{call}: the cancel was lost: {task.exception() or task.result()!r}"
        assert time.monotonic() - t0 < 4.0
    row = await pg_db.fetch_one("SELECT 41 + 1")
    assert row is not None and row[0] == 42
    # No query of ours is left running on the server.
    busy = await pg_db.fetch_all(
        "SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' AND state = 'active'"
    )
    assert busy == []


async def test_cancel_while_waiting_for_a_pool_connection(pg_db: PostgresDatabase) -> None:
    holders = [asyncio.create_task(pg_db.execute(SLEEP)) for _ in range(2)]  # the whole pool (2)
    await asyncio.sleep(0.2)
    waiter = asyncio.create_task(pg_db.fetch_one("SELECT 1"))
    await asyncio.sleep(0.2)
    for task in (waiter, *holders):
        task.cancel()
    done, _ = await asyncio.wait({waiter, *holders}, timeout=4.0)
    assert len(done) == 3 and all(t.cancelled() for t in done)
    row = await pg_db.fetch_one("SELECT 1")
    assert row is not None and row[0] == 1


async def _busy(db: PostgresDatabase, kind: str) -> None:
    """Short queries back to back, like a worker's loop: a cancel lands anywhere in them."""
    while True:
        if kind == "fetch":
            await db.fetch_all("SELECT 1")
            await db.fetch_one("SELECT 2")
        elif kind == "transaction":
            await db.transaction([("SELECT 1", ()), ("SELECT 2", ())])
        else:
            async with db.tx() as tx:
                await tx.fetch_one("SELECT 1")


@pytest.mark.parametrize("kind", ["fetch", "transaction", "tx"])
async def test_a_cancel_landing_anywhere_in_short_queries_is_never_lost(
    pg_db: PostgresDatabase, kind: str
) -> None:
    """A cancel that lands as a query completes, between statements, while a connection is taken or
    given back: the task always ends cancelled (never goes on, never ends with another error)."""
    rng = random.Random(16)
    for _ in range(100):
        task = asyncio.create_task(_busy(pg_db, kind))
        await asyncio.sleep(rng.uniform(0.0, 0.02))
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=5.0)
        assert task in done, f"{kind}: the cancel was lost (the loop went on)"
        assert task.cancelled(), f"{kind}: ended with {task.exception()!r} instead of the cancel"
    row = await pg_db.fetch_one("SELECT 1")
    assert row is not None and row[0] == 1

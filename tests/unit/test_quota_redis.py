"""The Redis quota scripts and RedisLiveViewQuotas against a private redis-server (tests/harness/redis.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from camera_service.auth.quota import LeaseBook, pending_cap
from camera_service.auth.quota_redis import LeaseScripts, RedisLiveViewQuotas, live_key
from camera_service.core.errors import QuotaExceeded
from camera_service.storage.redis import Redis, open_redis
from tests.harness.procs import wait_for


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = open_redis(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


async def test_reserve_renew_release(redis: Redis) -> None:
    scripts = LeaseScripts(redis)
    assert await scripts.reserve("POLICE", "a", 2, 30) == (True, 1, "granted")
    assert await scripts.reserve("POLICE", "b", 2, 30) == (True, 2, "granted")
    assert await scripts.reserve("POLICE", "c", 2, 30) == (False, 2, "limit")
    # renewing an existing lease is idempotent: same count, still granted when the agency is full
    assert await scripts.reserve("POLICE", "a", 2, 30) == (True, 2, "renewed")
    assert await scripts.count("POLICE") == 2
    assert await scripts.release("POLICE", "a") is True
    assert await scripts.release("POLICE", "a") is False  # twice: nothing left to free
    assert await scripts.reserve("POLICE", "c", 2, 30) == (True, 2, "granted")
    # agencies are counted apart, on hash-tagged keys (one cluster slot per agency)
    assert await scripts.reserve("METRO", "a", 1, 30) == (True, 1, "granted")
    assert await redis.zcard(live_key("POLICE")) == 2 and live_key("POLICE") == "quota:{POLICE}:live"


async def test_a_lease_that_is_not_renewed_lapses(redis: Redis) -> None:
    scripts = LeaseScripts(redis)
    assert (await scripts.reserve("POLICE", "short", 1, 0.2))[0]
    assert not (await scripts.reserve("POLICE", "other", 1, 30))[0]

    async def lapsed() -> bool:
        return await scripts.count("POLICE") == 0

    await wait_for(lapsed, 10, 0.05)
    assert await scripts.reserve("POLICE", "other", 1, 30) == (True, 1, "granted")
    # the key itself expires with its longest lease: nothing is left behind by crashed instances
    assert 0 < await redis.pttl(live_key("POLICE")) <= 30_000


async def test_renewal_extends_a_lease(redis: Redis) -> None:
    scripts = LeaseScripts(redis)
    await scripts.reserve("POLICE", "kept", 5, 0.3)
    await scripts.reserve("POLICE", "dropped", 5, 0.3)
    for _ in range(8):  # renew 'kept' well past its first expiry
        await scripts.reserve("POLICE", "kept", 5, 0.3)
        await asyncio.sleep(0.1)
    members = {m.decode() for m in await redis.zrange(live_key("POLICE"), 0, -1)}
    assert "kept" in members
    assert await scripts.count("POLICE") == 1  # 'dropped' lapsed


async def test_fifty_concurrent_reserves_limit_ten_grant_exactly_ten(redis_url: str) -> None:
    # 50 clients (own connections, like 50 callers across instances) race for 10 slots
    clients = [open_redis(redis_url) for _ in range(50)]
    try:
        results = await asyncio.gather(
            *(LeaseScripts(c).reserve("POLICE", f"viewer-{i}", 10, 30) for i, c in enumerate(clients))
        )
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    granted = [r for r in results if r[0]]
    assert len(granted) == 10
    assert sorted(r[1] for r in granted) == list(range(1, 11))
    assert all(r == (False, 10, "limit") for r in results if not r[0])


async def test_pending_cap_per_holder(redis: Redis) -> None:
    scripts = LeaseScripts(redis)
    cap = pending_cap(20)
    for i in range(cap):
        assert (await scripts.reserve("POLICE", f"m{i}", 20, 30, holder="mallory", cap=cap))[0]
    assert await scripts.reserve("POLICE", "m-x", 20, 30, holder="mallory", cap=cap) == (
        False,
        cap,
        "pending",
    )
    assert (await scripts.reserve("POLICE", "a1", 20, 30, holder="alice", cap=cap))[0]
    # confirming (cap 0) takes the lease out of the holder's pending set
    assert (await scripts.reserve("POLICE", "m0", 20, 30, holder="mallory"))[0]
    assert (await scripts.reserve("POLICE", "m-x", 20, 30, holder="mallory", cap=cap))[0]
    assert await scripts.count("POLICE") == cap + 2


async def test_quotas_across_two_instances(redis_url: str) -> None:
    """Two RedisLiveViewQuotas (two instances) share one count; MediaMTX ids stay local to each."""
    a = RedisLiveViewQuotas({"POLICE": 3}, open_redis(redis_url), lease_ttl_s=30)
    b = RedisLiveViewQuotas({"POLICE": 3}, open_redis(redis_url), lease_ttl_s=30)
    await a.start()
    await b.start()
    try:
        assert await a.acquire("conn-1", "cam", "POLICE", "fp1", holder="v1")
        assert await a.acquire("sess-1", "cam", "POLICE", "fp1", holder="v1")  # same viewer, same lease
        await a.confirm("sess-1")
        assert await b.acquire("conn-2", "cam", "POLICE", "fp2", holder="v2")
        assert await b.acquire("conn-3", "cam", "POLICE", "fp3", holder="v3")
        assert await a.status() == {"POLICE": (3, 3)} == await b.status()
        assert a.healthy and a.describe() == {"quotas": "redis", "quota_store_reachable": True, "leases": 1}
        assert not await a.acquire("conn-4", "cam", "POLICE", "fp4", holder="v4")
        with pytest.raises(QuotaExceeded) as err:
            await b.check("POLICE", "cam")
        assert err.value.data == {"agency": "POLICE", "limit": 3, "in_use": 3, "camera": "cam"}
        await b.release("sess-1")  # not b's reader: nothing happens
        assert (await a.status())["POLICE"] == (3, 3)
        await a.release("sess-1")  # runOnUnread on a's MediaMTX
        assert (await b.status())["POLICE"] == (3, 2)
        assert await b.acquire("conn-4", "cam", "POLICE", "fp4", holder="v4")
        # unlimited agencies and cameras without an agency take no lease
        assert await a.acquire("x", "cam", None) and await a.acquire("y", "cam", "METRO")
        await a.check(None)
    finally:
        await a.stop()
        await b.stop()


async def test_stopped_instance_frees_its_slots_and_crashed_one_lapses(redis_url: str) -> None:
    a = RedisLiveViewQuotas({"POLICE": 5}, open_redis(redis_url), lease_ttl_s=1.5)
    crashed = RedisLiveViewQuotas({"POLICE": 5}, open_redis(redis_url), lease_ttl_s=1.5)
    await a.start()
    await crashed.start()
    observer = open_redis(redis_url)
    scripts = LeaseScripts(observer)
    try:
        for i in range(2):
            assert await a.acquire(f"a{i}", "cam", "POLICE", f"fa{i}", holder=f"va{i}")
            await a.confirm(f"a{i}")
            assert await crashed.acquire(f"c{i}", "cam", "POLICE", f"fc{i}", holder=f"vc{i}")
            await crashed.confirm(f"c{i}")
        assert await scripts.count("POLICE") == 4
        # 'crashed' stops renewing (its task dies with the process); a keeps renewing its two
        assert crashed._renewer is not None
        crashed._renewer.cancel()

        async def two_left() -> bool:
            return await scripts.count("POLICE") == 2

        await wait_for(two_left, 10, 0.1)
        await asyncio.sleep(2)  # longer than the TTL: a's confirmed leases are still being renewed
        assert await scripts.count("POLICE") == 2
        await a.stop()  # a clean stop releases at once
        assert await scripts.count("POLICE") == 0
    finally:
        await crashed.stop()
        await observer.aclose()


def test_lease_book_reuses_a_pending_lease_of_the_same_viewer() -> None:
    now = [0.0]
    book = LeaseBook(lambda: now[0])
    book.add("k", "conn", camera="cam", agency="POLICE", fingerprint="fp", holder="v")
    assert book.reuse("sess", "fp") is book.leases["k"] and book.find("sess") == "k"
    book.leases["k"].confirmed = True
    assert book.reuse("other", "fp") is None  # a confirmed lease is found by its ids only
    now[0] = 100
    assert book.expire() == []  # confirmed leases are not timed out locally


async def test_unreachable_redis_refuses_reads_but_not_the_advisory_check() -> None:
    from redis.exceptions import RedisError

    from tests.harness.ports import free_port

    quotas = RedisLiveViewQuotas({"POLICE": 5}, open_redis(f"redis://127.0.0.1:{free_port()}/0"))
    await quotas.start()
    try:
        assert not await quotas.acquire("s1", "cam", "POLICE", "fp", holder="v")  # fail closed
        await quotas.check("POLICE", "cam")  # advisory: no error, the read is what is refused
        assert await quotas.acquire("s2", "cam", None)  # no agency, no lease, no Redis needed
        with pytest.raises(RedisError):
            await quotas.status()
        assert not quotas.healthy and quotas.describe()["quota_store_reachable"] is False
    finally:
        await quotas.stop()


async def test_a_reader_gone_without_unread_hook_is_released(redis_url: str) -> None:
    """MediaMTX crashed or restarted: its readers are gone and no runOnUnread comes. The renewal round
    asks MediaMTX for its readers and releases the leases of readers that are not there any more."""
    readers: set[str] | None = {"s1", "s2"}

    async def active() -> set[str] | None:
        return readers

    quotas = RedisLiveViewQuotas({"POLICE": 5}, open_redis(redis_url), lease_ttl_s=0.6, active_readers=active)
    observer = open_redis(redis_url)
    scripts = LeaseScripts(observer)
    await quotas.start()
    try:
        for sid in ("s1", "s2"):
            assert await quotas.acquire(sid, "cam", "POLICE", f"fp-{sid}", holder=sid)
            await quotas.confirm(sid)
        readers = None  # MediaMTX not answering: unknown, so both are still renewed
        await asyncio.sleep(1.5)  # several renewal rounds and more than one TTL
        assert await scripts.count("POLICE") == 2
        readers = {"s2"}  # s1's reader vanished

        async def one_left() -> bool:
            return await scripts.count("POLICE") == 1

        await wait_for(one_left, 10, 0.05)
        await asyncio.sleep(1.5)
        assert await scripts.count("POLICE") == 1  # s2 is still renewed
        await quotas.release("s1")  # a late hook for it changes nothing
        assert await scripts.count("POLICE") == 1
    finally:
        await quotas.stop()
        await observer.aclose()


async def test_renew_many_is_one_pipelined_round_of_atomic_renewals(redis: Redis) -> None:
    scripts = LeaseScripts(redis)
    assert (await scripts.reserve("POLICE", "a", 2, 0.5))[0]
    items = [("POLICE", "a", 2, 30.0, ""), ("POLICE", "b", 2, 30.0, ""), ("POLICE", "c", 2, 30.0, "")]
    assert await scripts.renew_many(items) == [
        (True, 1, "renewed"),
        (True, 2, "granted"),
        (False, 2, "limit"),
    ]
    assert 25_000 < await redis.pttl(live_key("POLICE")) <= 30_000

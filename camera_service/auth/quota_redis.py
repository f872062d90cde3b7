"""Live-view quotas shared by several instances: leases in Redis, counted atomically by Lua scripts.

Per agency, a sorted set `quota:{agency}:live` holds every lease (member: lease id, score: expiry in
Redis server milliseconds); `quota:{agency}:pending:<holder digest>` holds one identity's unconfirmed
leases (the security M8 cap). The hash tag `{agency}` keeps an agency's keys in one cluster slot.

Each script reads the server's TIME (no client clock skew), drops expired leases, then acts: so a
reservation is one atomic check-and-add however many instances ask at once. A lease lapses unless
renewed: a pending one after PENDING_TTL_S, a confirmed one after `security.live_lease_ttl_s`; the
instance renews its readers' leases every third of that, so a crashed instance's (or a vanished
viewer's) slots free themselves. docs/adr/0020-redis-lua-agency-quotas.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from camera_service.auth.quota import PENDING_TTL_S, ActiveReaders, LeaseBook, pending_cap, quota_exceeded
from camera_service.core.tasks import cancel_and_wait

log = logging.getLogger("camera_service.auth.quota")

# KEYS[1] agency leases, KEYS[2] the holder's pending leases. ARGV: lease, limit, ttl ms, pending cap
# (0: a confirmed lease, no cap: it leaves the pending set). Returns {granted 1/0, leases in use, reason}.
RESERVE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease, limit, ttl, cap = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if cap == 0 then redis.call('ZREM', KEYS[2], lease) end
local function keep(key)
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
if redis.call('ZSCORE', KEYS[1], lease) then
  redis.call('ZADD', KEYS[1], now + ttl, lease)
  keep(KEYS[1])
  return {1, redis.call('ZCARD', KEYS[1]), 'renewed'}
end
local used = redis.call('ZCARD', KEYS[1])
if used >= limit then return {0, used, 'limit'} end
if cap > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= cap then return {0, used, 'pending'} end
  redis.call('ZADD', KEYS[2], now + ttl, lease)
  keep(KEYS[2])
end
redis.call('ZADD', KEYS[1], now + ttl, lease)
keep(KEYS[1])
return {1, used + 1, 'granted'}
"""

RELEASE_LUA = """
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('ZREM', KEYS[1], ARGV[1])
"""

COUNT_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])
"""


def live_key(agency: str) -> str:
    return f"quota:{{{agency}}}:live"


def pending_key(agency: str, holder: str) -> str:
    digest = hashlib.sha256(holder.encode()).hexdigest()[:24]
    return f"quota:{{{agency}}}:pending:{digest}"


RENEW_BATCH = 500  # leases renewed per pipelined round trip


def _decoded(res: Any) -> tuple[bool, int, str]:
    reason = res[2].decode() if isinstance(res[2], bytes) else str(res[2])
    return bool(int(res[0])), int(res[1]), reason


class LeaseScripts:
    """The three scripts, loaded once (EVALSHA; redis-py reloads them after a server restart)."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._reserve = redis.register_script(RESERVE_LUA)
        self._release = redis.register_script(RELEASE_LUA)
        self._count = redis.register_script(COUNT_LUA)
        self.reachable: bool | None = None  # how the last call went (None: no call yet)

    async def _run(self, call: Awaitable[Any]) -> Any:
        try:
            res = await call
        except RedisError:
            self.reachable = False
            raise
        self.reachable = True
        return res

    async def reserve(
        self, agency: str, lease: str, limit: int, ttl_s: float, *, holder: str = "", cap: int = 0
    ) -> tuple[bool, int, str]:
        """Take or renew `lease`. cap > 0: a pending lease, at most `cap` pending per holder."""
        keys = [live_key(agency), pending_key(agency, holder)]
        args: list[str | int] = [lease, limit, max(1, int(ttl_s * 1000)), cap]
        return _decoded(await self._run(self._reserve(keys=keys, args=args)))

    async def renew_many(self, items: list[tuple[str, str, int, float, str]]) -> list[tuple[bool, int, str]]:
        """Renew (or re-take) confirmed leases, (agency, lease, limit, ttl_s, holder) each, in one round
        trip: a pipeline of script calls, each still atomic on its own."""
        pipe = self._redis.pipeline(transaction=False)
        for agency, lease, limit, ttl_s, holder in items:
            args: list[str | int] = [lease, limit, max(1, int(ttl_s * 1000)), 0]
            await self._reserve(keys=[live_key(agency), pending_key(agency, holder)], args=args, client=pipe)
        return [_decoded(res) for res in await self._run(pipe.execute())]

    async def release(self, agency: str, lease: str, holder: str = "") -> bool:
        keys = [live_key(agency), pending_key(agency, holder)]
        return bool(int(await self._run(self._release(keys=keys, args=[lease]))))

    async def count(self, agency: str) -> int:
        return int(await self._run(self._count(keys=[live_key(agency)], args=[])))

    async def ping(self) -> None:
        await self._run(self._redis.ping())


class RedisLiveViewQuotas:
    """The `LiveViewQuota` port on Redis (`storage.redis_url`): one count per agency for all instances."""

    def __init__(
        self,
        limits: dict[str, int],
        redis: Redis,
        *,
        lease_ttl_s: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
        instance: str | None = None,
        active_readers: ActiveReaders | None = None,
    ) -> None:
        self.limits = dict(limits)
        self._redis = redis
        self.scripts = LeaseScripts(redis)
        self.lease_ttl_s = lease_ttl_s
        self._book = LeaseBook(clock)
        self._instance = instance or secrets.token_hex(6)  # lease ids unique across instances
        self._seq = 0
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}  # per viewer, with its waiters
        self._renewer: asyncio.Task[None] | None = None
        self._stopping = False
        self._clock = clock
        # MediaMTX's current reader ids (None: unknown): a confirmed lease whose reader is gone without a
        # runOnUnread (MediaMTX crashed or restarted, the hook's call failed) is released, not renewed.
        self._active_readers = active_readers

    async def start(self) -> None:
        self._stopping = False
        self._renewer = asyncio.create_task(self._renew_loop(), name="quota-renew")

    async def stop(self) -> None:
        self._stopping = True
        await cancel_and_wait(self._renewer)
        self._renewer = None
        # Our viewers' slots are freed now rather than after the TTL (a clean shutdown).
        for key, lease in list(self._book.leases.items()):
            try:
                await self.scripts.release(lease.agency, key, lease.holder)
            except RedisError:
                break
        self._book.leases.clear()
        await self._redis.aclose()

    async def check(self, agency: str | None, camera: str | None = None) -> None:
        if agency is None or agency not in self.limits:
            return
        try:
            used = await self.scripts.count(agency)
        except RedisError as exc:
            # Advisory only: the read itself is refused while Redis is unreachable (acquire fails closed).
            log.warning("quota check skipped: Redis unreachable (%s)", exc)
            return
        if used >= self.limits[agency]:
            raise quota_exceeded(agency, self.limits[agency], used, camera)

    async def acquire(
        self, session_id: str, camera: str, agency: str | None, fingerprint: str = "", holder: str = ""
    ) -> bool:
        if agency is None or agency not in self.limits:
            return True
        # One viewer's requests one at a time: its second request must find the first one's lease.
        name = fingerprint or session_id
        entry = self._locks.setdefault(name, (asyncio.Lock(), [0]))
        entry[1][0] += 1
        try:
            async with entry[0]:
                return await self._acquire(session_id, camera, agency, fingerprint, holder)
        finally:
            entry[1][0] -= 1
            if not entry[1][0]:
                self._locks.pop(name, None)

    async def _acquire(
        self, session_id: str, camera: str, agency: str, fingerprint: str, holder: str
    ) -> bool:
        await self._expire_local()
        if self._book.reuse(session_id, fingerprint) is not None:
            return True
        self._seq += 1
        key = f"{self._instance}:{self._seq}"
        limit = self.limits[agency]
        try:
            granted, _, reason = await self.scripts.reserve(
                agency, key, limit, PENDING_TTL_S, holder=holder, cap=pending_cap(limit) if holder else 0
            )
        except RedisError as exc:
            log.warning("live view refused: Redis unreachable (%s)", exc)
            return False
        if granted:
            self._book.add(
                key, session_id, camera=camera, agency=agency, fingerprint=fingerprint, holder=holder
            )
        else:
            log.info("live view refused", extra={"agency": agency, "camera": camera, "reason": reason})
        return granted

    async def confirm(self, reader_id: str) -> None:
        key = self._book.find(reader_id)
        if key is None:
            return
        self._book.confirm(key)
        await self._renew([key])

    async def release(self, reader_id: str) -> None:
        key = self._book.find(reader_id)
        if key is None:
            return
        lease = self._book.leases.pop(key)
        try:
            await self.scripts.release(lease.agency, key, lease.holder)
        except RedisError as exc:
            log.warning("lease release failed (it lapses within its TTL): %s", exc)

    async def status(self) -> dict[str, tuple[int, int]]:
        return {
            agency: (limit, await self.scripts.count(agency)) for agency, limit in sorted(self.limits.items())
        }

    # ---- lease upkeep ------------------------------------------------------------------------------
    async def _expire_local(self) -> None:
        for key, lease in self._book.expire():
            with contextlib.suppress(RedisError):  # else it lapses in Redis on its own
                await self.scripts.release(lease.agency, key, lease.holder)

    async def _renew(self, keys: list[str]) -> None:
        """Extend confirmed leases (re-taken if one lapsed, e.g. Redis restarted, while there is room), in
        pipelined batches: one round trip per RENEW_BATCH leases."""
        batch = [
            (k, v) for k in keys if (v := self._book.leases.get(k)) is not None and v.agency in self.limits
        ]
        for start in range(0, len(batch), RENEW_BATCH):
            chunk = batch[start : start + RENEW_BATCH]
            items = [(v.agency, k, self.limits[v.agency], self.lease_ttl_s, v.holder) for k, v in chunk]
            try:
                results = await self.scripts.renew_many(items)
            except RedisError as exc:
                log.warning("lease renewal failed: %s", exc)
                return
            for (key, lease), (granted, used, _) in zip(chunk, results, strict=True):
                if key not in self._book.leases:  # released while the renewal was on its way: undo it
                    with contextlib.suppress(RedisError):
                        await self.scripts.release(lease.agency, key, lease.holder)
                elif not granted:
                    log.warning(
                        "a live view's lease lapsed and the agency is full: not counted until a slot frees",
                        extra={"agency": lease.agency, "camera": lease.camera, "in_use": used},
                    )

    async def _renew_loop(self) -> None:
        # Ends on the stop flag too: a cancel that lands inside a Redis call can come back as a RedisError
        # (caught below), and the loop would go on renewing a stopped instance's leases.
        while not self._stopping:
            await asyncio.sleep(self.lease_ttl_s / 3)
            try:
                await self.renew_all()
            except Exception:
                log.exception("lease renewal round failed")

    @property
    def healthy(self) -> bool:
        return self.scripts.reachable is not False

    def describe(self) -> dict[str, object]:
        return {
            "quotas": "redis",
            "quota_store_reachable": self.scripts.reachable,
            "leases": len(self._book.leases),
        }

    async def renew_all(self) -> None:
        """One renewal round: release leases whose reader vanished, extend every other confirmed one."""
        if not self._book.leases:
            with contextlib.suppress(RedisError):
                await self.scripts.ping()  # keeps `healthy` current while nobody watches
        await self._expire_local()
        asked = self._clock()
        active = await self._active_readers() if self._active_readers is not None else None
        for key, lease in self._book.vanished(active, asked) if active is not None else []:
            log.info("live view ended without runOnUnread: lease released", extra={"camera": lease.camera})
            with contextlib.suppress(RedisError):
                await self.scripts.release(lease.agency, key, lease.holder)
        await self._renew([k for k, v in self._book.leases.items() if v.confirmed])

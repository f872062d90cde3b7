"""Per-agency concurrent live-view quotas, counted from MediaMTX reads.

A read that MediaMTX authorises through us opens a *pending* lease keyed by MediaMTX's session id; the
runOnRead hook (same id as MTX_READER_ID) confirms it and runOnUnread releases it. A pending lease
that is never confirmed (the client only asked for the SDP, or went away) expires after PENDING_TTL_S.
The service's own readers (internal credential) never take a lease.

`LiveViewQuota` is the port; `LiveViewQuotas` counts in this process (one instance, the default),
`auth.quota_redis.RedisLiveViewQuotas` counts in Redis across instances (`storage.redis_url`). Both keep
MediaMTX's ids in a local `LeaseBook`: every callback of one viewer comes from the MediaMTX of the
instance it reads from.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from camera_service.core.errors import QuotaExceeded
from camera_service.core.tasks import cancel_and_wait

log = logging.getLogger("camera_service.auth.quota")

PENDING_TTL_S = 15.0
RECONCILE_INTERVAL_S = 5.0  # in memory: how often leases are checked against MediaMTX's readers
ActiveReaders = Callable[[], Awaitable[set[str] | None]]  # MediaMTX's reader ids now; None: unknown


@dataclass
class Lease:
    camera: str
    agency: str
    created: float
    fingerprint: str  # (client ip, path, credential) digest: one viewer's repeated auth requests
    ids: set[str] = field(default_factory=set)  # MediaMTX ids seen (RTSP: connection, then session)
    confirmed: bool = False
    holder: str = ""  # the identity (subject) that asked
    confirmed_at: float = 0.0


class LiveViewQuota(Protocol):
    """Live-view leases per agency (the MediaMTX auth callback, its read hooks and the stream-URL calls)."""

    limits: dict[str, int]

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def check(self, agency: str | None, camera: str | None = None) -> None:
        """Raise QuotaExceeded when one more live view of `agency` would exceed its limit."""

    async def acquire(
        self, session_id: str, camera: str, agency: str | None, fingerprint: str = "", holder: str = ""
    ) -> bool:
        """An authorised external read asks for a lease; False: over quota (refuse the read)."""

    async def confirm(self, reader_id: str) -> None: ...
    async def release(self, reader_id: str) -> None: ...
    async def status(self) -> dict[str, tuple[int, int]]:
        """agency -> (limit, in use)."""

    @property
    def healthy(self) -> bool:
        """False while the shared store is unreachable (new live views are refused)."""

    def describe(self) -> dict[str, object]:
        """Health details: where leases are counted."""


def pending_cap(limit: int) -> int:
    """Unconfirmed leases one identity may hold in an agency (security M8: setup-only requests by one
    viewer once filled a whole agency's quota for 15 s each); a real viewer confirms within a second."""
    return max(2, limit // 4)


def quota_exceeded(agency: str, limit: int, in_use: int, camera: str | None = None) -> QuotaExceeded:
    data: dict[str, object] = {"agency": agency, "limit": limit, "in_use": in_use}
    if camera is not None:
        data["camera"] = camera
    return QuotaExceeded(
        f"Live-view quota of agency {agency} is used up ({in_use}/{limit} streams)",
        data,
    )


class LeaseBook:
    """This instance's leases by key, with the MediaMTX ids and fingerprints that find them."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.leases: dict[str, Lease] = {}
        self._clock = clock

    def expire(self) -> list[tuple[str, Lease]]:
        """Drop pending leases older than PENDING_TTL_S; returns what was dropped."""
        now = self._clock()
        stale = [
            (k, v) for k, v in self.leases.items() if not v.confirmed and now - v.created > PENDING_TTL_S
        ]
        for k, _ in stale:
            del self.leases[k]
        return stale

    def reuse(self, session_id: str, fingerprint: str) -> Lease | None:
        """The lease this request belongs to: MediaMTX authenticates one viewer several times (RTSP:
        DESCRIBE on the connection, then SETUP/PLAY on the session, with different ids), so a pending
        lease with the same fingerprint is reused; the new id is added to it."""
        for lease in self.leases.values():
            if (session_id and session_id in lease.ids) or (
                not lease.confirmed and fingerprint and lease.fingerprint == fingerprint
            ):
                if session_id:
                    lease.ids.add(session_id)
                return lease
        return None

    def add(
        self, key: str, session_id: str, *, camera: str, agency: str, fingerprint: str, holder: str
    ) -> Lease:
        lease = Lease(
            camera=camera,
            agency=agency,
            created=self._clock(),
            fingerprint=fingerprint,
            ids={session_id} if session_id else set(),
            holder=holder,
        )
        self.leases[key] = lease
        return lease

    def confirm(self, key: str) -> Lease:
        lease = self.leases[key]
        lease.confirmed, lease.confirmed_at = True, self._clock()
        return lease

    def vanished(self, active: set[str], asked: float) -> list[tuple[str, Lease]]:
        """Confirmed leases (before `asked`, when MediaMTX was asked) none of whose ids MediaMTX still
        has among its readers: gone without a runOnUnread (MediaMTX crashed and restarted, the hook's
        call failed). Removed from the book and returned."""
        gone = [
            (k, v)
            for k, v in self.leases.items()
            if v.confirmed and v.confirmed_at < asked and not v.ids & active
        ]
        for k, _ in gone:
            del self.leases[k]
        return gone

    def find(self, reader_id: str) -> str | None:
        return next((k for k, v in self.leases.items() if reader_id and reader_id in v.ids), None)

    def pending_of(self, holder: str, agency: str) -> int:
        return sum(
            1 for v in self.leases.values() if v.holder == holder and v.agency == agency and not v.confirmed
        )


class LiveViewQuotas:
    """In-process quotas: one instance (no `storage.redis_url`)."""

    def __init__(
        self,
        limits: dict[str, int],
        clock: Callable[[], float] = time.monotonic,
        *,
        active_readers: ActiveReaders | None = None,
        reconcile_interval_s: float = RECONCILE_INTERVAL_S,
    ) -> None:
        self.limits = dict(limits)
        self._clock = clock
        self._book = LeaseBook(clock)
        self._seq = itertools.count(1)
        # Confirmed leases never time out here: those whose reader vanished without a runOnUnread are
        # found by asking MediaMTX for its readers now and then.
        self._active_readers = active_readers
        self._interval = reconcile_interval_s
        self._reconciler: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._active_readers is not None and self.limits:
            self._reconciler = asyncio.create_task(self._reconcile_loop(), name="quota-reconcile")

    async def stop(self) -> None:
        await cancel_and_wait(self._reconciler)
        self._reconciler = None

    async def reconcile(self) -> int:
        """Release confirmed leases whose reader MediaMTX no longer has; how many were released."""
        if self._active_readers is None:
            return 0
        asked = self._clock()
        active = await self._active_readers()
        if active is None:
            return 0
        gone = self._book.vanished(active, asked)
        for _, lease in gone:
            log.info("live view ended without runOnUnread: lease released", extra={"camera": lease.camera})
        return len(gone)

    async def _reconcile_loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.reconcile()
            except Exception:
                log.exception("quota reconcile failed")

    def in_use(self, agency: str) -> int:
        self._book.expire()
        return sum(1 for lease in self._book.leases.values() if lease.agency == agency)

    async def check(self, agency: str | None, camera: str | None = None) -> None:
        if agency is None or agency not in self.limits:
            return
        used = self.in_use(agency)
        if used >= self.limits[agency]:
            raise quota_exceeded(agency, self.limits[agency], used, camera)

    async def acquire(
        self, session_id: str, camera: str, agency: str | None, fingerprint: str = "", holder: str = ""
    ) -> bool:
        if agency is None or agency not in self.limits:
            return True
        self._book.expire()
        if self._book.reuse(session_id, fingerprint) is not None:
            return True
        if self.in_use(agency) >= self.limits[agency]:
            return False
        if holder and self._book.pending_of(holder, agency) >= pending_cap(self.limits[agency]):
            return False
        self._book.add(
            f"lease-{next(self._seq)}",
            session_id,
            camera=camera,
            agency=agency,
            fingerprint=fingerprint,
            holder=holder,
        )
        return True

    async def confirm(self, reader_id: str) -> None:
        key = self._book.find(reader_id)
        if key is not None:
            self._book.confirm(key)

    async def release(self, reader_id: str) -> None:
        key = self._book.find(reader_id)
        if key is not None:
            del self._book.leases[key]

    async def status(self) -> dict[str, tuple[int, int]]:
        return {agency: (limit, self.in_use(agency)) for agency, limit in sorted(self.limits.items())}

    @property
    def healthy(self) -> bool:
        return True

    def describe(self) -> dict[str, object]:
        return {"quotas": "memory", "leases": len(self._book.leases)}

"""Per-agency concurrent live-view quotas, counted from MediaMTX reads.

A read that MediaMTX authorises through us opens a *pending* lease keyed by MediaMTX's session id; the
runOnRead hook (same id as MTX_READER_ID) confirms it and runOnUnread releases it. A pending lease
that is never confirmed (the client only asked for the SDP, or went away) expires after PENDING_TTL_S.
The service's own readers (internal credential) never take a lease.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from camera_service.core.errors import QuotaExceeded

PENDING_TTL_S = 15.0


@dataclass
class Lease:
    camera: str
    agency: str
    created: float
    fingerprint: str  # (client ip, path, credential) digest: one viewer's repeated auth requests
    ids: set[str] = field(default_factory=set)  # MediaMTX ids seen (RTSP: connection, then session)
    confirmed: bool = False
    holder: str = ""  # the identity (subject) that asked


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


class LiveViewQuotas:
    def __init__(self, limits: dict[str, int], clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = dict(limits)
        self._leases: dict[str, Lease] = {}
        self._clock = clock
        self._seq = itertools.count(1)

    def _expire(self) -> None:
        now = self._clock()
        stale = [k for k, v in self._leases.items() if not v.confirmed and now - v.created > PENDING_TTL_S]
        for k in stale:
            del self._leases[k]

    def in_use(self, agency: str) -> int:
        self._expire()
        return sum(1 for lease in self._leases.values() if lease.agency == agency)

    def check(self, agency: str | None, camera: str | None = None) -> None:
        """Raise QUOTA_EXCEEDED when one more live view of `agency` would exceed its limit."""
        if agency is None or agency not in self.limits:
            return
        used = self.in_use(agency)
        if used >= self.limits[agency]:
            raise quota_exceeded(agency, self.limits[agency], used, camera)

    def acquire(
        self, session_id: str, camera: str, agency: str | None, fingerprint: str = "", holder: str = ""
    ) -> bool:
        """Called on an authorised external read. False when over quota (the read must be refused).

        MediaMTX authenticates one viewer several times (RTSP: DESCRIBE on the connection, then SETUP/PLAY
        on the session, with different ids), so a pending lease with the same fingerprint is reused.
        """
        if agency is None or agency not in self.limits:
            return True
        self._expire()
        for lease in self._leases.values():
            if (session_id and session_id in lease.ids) or (
                not lease.confirmed and fingerprint and lease.fingerprint == fingerprint
            ):
                if session_id:
                    lease.ids.add(session_id)
                return True
        if self.in_use(agency) >= self.limits[agency]:
            return False
        if holder:
            mine = [v for v in self._leases.values() if v.holder == holder and v.agency == agency]
            pending = sum(1 for v in mine if not v.confirmed)
            if pending >= pending_cap(self.limits[agency]):
                return False
        key = f"lease-{next(self._seq)}"
        self._leases[key] = Lease(
            camera=camera,
            agency=agency,
            created=self._clock(),
            fingerprint=fingerprint,
            ids={session_id} if session_id else set(),
            holder=holder,
        )
        return True

    def _find(self, reader_id: str) -> str | None:
        return next((k for k, v in self._leases.items() if reader_id and reader_id in v.ids), None)

    def confirm(self, reader_id: str) -> None:
        key = self._find(reader_id)
        if key is not None:
            self._leases[key].confirmed = True

    def release(self, reader_id: str) -> None:
        key = self._find(reader_id)
        if key is not None:
            del self._leases[key]

    def status(self) -> dict[str, tuple[int, int]]:
        """agency -> (limit, in use)."""
        return {agency: (limit, self.in_use(agency)) for agency, limit in sorted(self.limits.items())}

"""Ownership: the cameras this instance owns now, with their lease epoch and local deadline.

The cameras domain asks `owns(camera_id)` before giving a camera a MediaMTX path; the recordings domain
asks `fence(camera_id)` for the (instance, epoch) it writes into segment rows. Both are plain callables
for them (no import of this package). Without a cluster this instance owns every camera (fence None).
Only the cluster service changes the state (grant/revoke), from its ownership rounds.
"""

from __future__ import annotations

from dataclasses import dataclass

from camera_service.core.clock import Clock


@dataclass(frozen=True)
class Held:
    epoch: int
    deadline: float  # our monotonic clock: stop acting as owner after this (assign.local_deadline)


class Ownership:
    def __init__(self, instance_id: str | None, clock: Clock) -> None:
        """`instance_id` None: no cluster, this instance owns every camera."""
        self.instance_id = instance_id
        self.clock = clock
        self._held: dict[str, Held] = {}
        self._last: dict[str, int] = {}  # epoch of our latest holding of a camera we released

    @property
    def clustered(self) -> bool:
        return self.instance_id is not None

    def owns(self, camera_id: str) -> bool:
        """True while this instance may configure and record the camera (a lease past its local
        deadline counts as lost even before the service notices)."""
        if self.instance_id is None:
            return True
        held = self._held.get(camera_id)
        return held is not None and held.deadline > self.clock.monotonic()

    def fence(self, camera_id: str) -> tuple[str, int] | None:
        """(instance id, epoch) to stamp on the camera's segment rows: the epoch of our current or
        latest holding (MediaMTX closes the last segment after we stopped the path, so it arrives just
        after a release). None without a cluster or when we never held the camera: such a write is
        refused (recordings/index.py)."""
        if self.instance_id is None:
            return None
        held = self._held.get(camera_id)
        epoch = held.epoch if held is not None else self._last.get(camera_id)
        return (self.instance_id, epoch) if epoch is not None else None

    def epoch(self, camera_id: str) -> int | None:
        held = self._held.get(camera_id)
        return held.epoch if held is not None else None

    def held(self) -> dict[str, Held]:
        return dict(self._held)

    def grant(self, camera_id: str, epoch: int, deadline: float) -> bool:
        """Record a claim or renewal; True when the camera was not ours before (start it)."""
        new = camera_id not in self._held
        self._held[camera_id] = Held(epoch, deadline)
        return new

    def revoke(self, camera_id: str) -> bool:
        """Forget a camera; True when it was ours (stop it)."""
        held = self._held.pop(camera_id, None)
        if held is None:
            return False
        self._last[camera_id] = held.epoch
        return True

    def lapsed(self) -> list[str]:
        """Cameras we still hold whose local deadline passed (renewals failed): to stop now."""
        now = self.clock.monotonic()
        return sorted(cid for cid, h in self._held.items() if h.deadline <= now)

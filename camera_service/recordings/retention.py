"""Retention: age and size limits globally, per kind and per camera; oldest first; locks always win.

`plan()` is a pure function from the stored items and the settings to the list of deletions, so dry runs
and real runs decide identically and it is unit-testable. Locked clips, segments inside locked clip
ranges and segments of exports in flight are never deleted (they still count towards sizes).
Events-mode buffer segments older than the camera's buffer are deleted regardless of the limits.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from camera_service.recordings.config import RetentionConfig, RetentionLimits

Kind = Literal["continuous", "clips", "snapshots"]
GB = 1_000_000_000


@dataclass
class Item:
    kind: Kind
    camera: str
    key: str  # segment path / clip id / snapshot id
    time: float  # start or creation, unix seconds
    end: float
    size: int
    protected: bool = False
    buffer: bool = False  # events-mode rolling buffer segment


@dataclass
class Deletion:
    item: Item
    reason: str


@dataclass
class Plan:
    deletions: list[Deletion] = field(default_factory=list)
    protected_kept: int = 0

    @property
    def freed_bytes(self) -> int:
        return sum(d.item.size for d in self.deletions)


def overlaps(camera: str, start: float, end: float, ranges: Iterable[tuple[str, float, float]]) -> bool:
    return any(c == camera and start < e and end > s for c, s, e in ranges)


def _age_limit(limits: Iterable[RetentionLimits]) -> float | None:
    ages = [lim.max_age_days for lim in limits if lim.max_age_days > 0]
    return min(ages) * 86_400 if ages else None


def plan(
    items: list[Item], settings: RetentionConfig, buffers: dict[str, float], now: float | None = None
) -> Plan:
    """Which items to delete, oldest first. `buffers`: camera -> buffer seconds (events mode only)."""
    now = time.time() if now is None else now
    result = Plan()
    doomed: dict[int, Deletion] = {}
    ordered = sorted(items, key=lambda i: (i.time, i.key))
    kind_limits = {
        "continuous": settings.continuous,
        "clips": settings.clips,
        "snapshots": settings.snapshots,
    }

    def limits_for(item: Item) -> list[RetentionLimits]:
        out = [settings.global_limits, kind_limits[item.kind]]
        if item.camera in settings.per_camera:
            out.append(settings.per_camera[item.camera])
        return out

    for item in ordered:
        if item.protected:
            continue
        if item.buffer and item.camera in buffers and item.end < now - buffers[item.camera]:
            doomed[id(item)] = Deletion(item, "event buffer expired")
            continue
        max_age = _age_limit(limits_for(item))
        if max_age is not None and item.end < now - max_age:
            doomed[id(item)] = Deletion(item, "max age")

    scopes: list[tuple[str, RetentionLimits, list[Item]]] = [("global", settings.global_limits, ordered)]
    for kind, lim in kind_limits.items():
        scopes.append((f"kind {kind}", lim, [i for i in ordered if i.kind == kind]))
    for cam, lim in settings.per_camera.items():
        scopes.append((f"camera {cam}", lim, [i for i in ordered if i.camera == cam]))
    # Narrow scopes first, so a per-camera cap frees that camera's own files before the global cap
    # reaches into other cameras.
    for name, lim, scope_items in reversed(scopes):
        if lim.max_size_gb <= 0:
            continue
        cap = int(lim.max_size_gb * GB)
        total = sum(i.size for i in scope_items if id(i) not in doomed)
        for item in scope_items:
            if total <= cap:
                break
            if id(item) in doomed or item.protected:
                continue
            doomed[id(item)] = Deletion(item, f"size cap ({name})")
            total -= item.size
    result.deletions = sorted(doomed.values(), key=lambda d: (d.item.time, d.item.key))
    result.protected_kept = sum(1 for i in items if i.protected)
    return result

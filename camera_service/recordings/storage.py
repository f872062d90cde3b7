"""Storage housekeeping: retention runs (periodic and on demand), the low-disk guard, storage statistics.

Retention settings start from config and are persisted in the database once changed at runtime
(`set_retention_settings`); the stored copy wins on the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from camera_service.core.bus import EventBus, Severity
from camera_service.core.clock import Clock, SystemClock
from camera_service.core.tasks import cancel_and_wait
from camera_service.core.types import JsonObject
from camera_service.recordings.config import RetentionConfig
from camera_service.recordings.retention import GB, Item, Plan, overlaps, plan
from camera_service.recordings.store import RecordingStore
from camera_service.recordings.usage import UsageRow, usage

log = logging.getLogger("camera_service.recordings.storage")

SETTINGS_KEY = "retention"
DiskLevel = str  # "ok" | "warning" | "critical"


def _unlink(paths: list[Path]) -> None:
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


class StorageManager:
    def __init__(
        self,
        store: RecordingStore,
        bus: EventBus,
        roots: dict[str, Path],
        initial: RetentionConfig,
        *,
        protected: Callable[[], list[tuple[str, float, float]]],
        buffers: Callable[[], dict[str, float]],
        recording_now: Callable[[], set[str]],
        on_warning: Callable[[JsonObject], None],
        clock: Clock | None = None,
        owner: str | None = None,
    ) -> None:
        """`owner` (several instances): retention considers only the segments, clips and snapshots this
        instance wrote (their files are on its disk)."""
        self.clock: Clock = clock or SystemClock()
        self.owner = owner
        self.store = store
        self.bus = bus
        self.roots = roots
        self.settings = initial
        self._protected = protected
        self._buffers = buffers
        self._recording_now = recording_now
        self._on_warning = on_warning
        self.level: DiskLevel = "ok"
        self._task: asyncio.Task[None] | None = None
        self._run_lock = asyncio.Lock()
        self.last_run: JsonObject | None = None

    async def start(self) -> None:
        stored = await self.store.get_setting(SETTINGS_KEY)
        if stored is not None:
            try:
                self.settings = RetentionConfig.model_validate(stored)
            except ValidationError:
                log.warning("stored retention settings are invalid; using the configured ones")
        self.check_disk()
        self._task = asyncio.create_task(self._loop(), name="recordings-retention")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def update_settings(self, settings: RetentionConfig) -> RetentionConfig:
        await self.store.put_setting(SETTINGS_KEY, settings.model_dump(mode="json"))
        self.settings = settings
        self.check_disk()
        return settings

    async def _loop(self) -> None:
        last = self.clock.monotonic()
        while True:
            await self.clock.sleep(min(5.0, self.settings.interval_s))
            try:
                self.check_disk()
                if self.settings.enabled and self.clock.monotonic() - last >= self.settings.interval_s:
                    last = self.clock.monotonic()
                    await self.run(dry_run=False)
            except Exception:
                log.exception("retention run failed")

    # ---- disk guard --------------------------------------------------------------------------------

    def disk(self) -> tuple[int, int, int]:
        root = self.roots["recordings"]
        root.mkdir(parents=True, exist_ok=True)
        du = shutil.disk_usage(root)
        return du.total, du.used, du.free

    def check_disk(self) -> DiskLevel:
        total, _used, free = self.disk()
        free_pct = 100.0 * free / total if total else 100.0
        st = self.settings
        # A level is reached by either threshold: percent of the volume or absolute free bytes.
        if free_pct < st.block_free_percent or free < st.block_free_gb * GB:
            level = "critical"
        elif free_pct < st.warn_free_percent or free < st.warn_free_gb * GB:
            level = "warning"
        else:
            level = "ok"
        if level != self.level:
            previous, self.level = self.level, level
            # Any: also the keyword arguments of bus.emit (checked there against the topic's model)
            data: dict[str, Any] = {
                "level": level,
                "previous": previous,
                "free_percent": round(free_pct, 2),
                "free_bytes": free,
                "total_bytes": total,
            }
            if level != "ok":
                log.warning("low disk space", extra=data)
                self.bus.emit(
                    "storage.warning",
                    severity=Severity.CRITICAL if level == "critical" else Severity.HIGH,
                    **data,
                )
            self._on_warning(data)
        return level

    @property
    def blocked(self) -> bool:
        return self.level == "critical"

    # ---- retention ---------------------------------------------------------------------------------

    async def _items(self) -> list[Item]:
        locked = await self.store.locked_ranges()
        protected = locked + self._protected()
        recording = self._recording_now()
        segs = await self.store.list_segments(limit=10_000_000, owner=self.owner)
        newest: dict[str, float] = {}
        for s in segs:
            newest[s.camera] = max(newest.get(s.camera, 0.0), s.start)
        items = [
            Item(
                "continuous",
                s.camera,
                s.path,
                s.start,
                s.end,
                s.size,
                protected=overlaps(s.camera, s.start, s.end, protected)
                or (s.camera in recording and s.start >= newest[s.camera]),  # may still be written
                buffer=s.kind == "buffer",
            )
            for s in segs
        ]
        items += [
            Item("clips", c.camera, c.id, c.created_at, c.created_at, c.size, protected=c.locked)
            for c in await self.store.list_clips(limit=10_000_000, owner=self.owner)
        ]
        items += [
            Item("snapshots", s.camera, s.id, s.created_at, s.created_at, s.size)
            for s in await self.store.list_snapshots(limit=10_000_000, owner=self.owner)
        ]
        return items

    async def run(self, dry_run: bool) -> tuple[Plan, JsonObject]:
        async with self._run_lock:
            items = await self._items()
            result = plan(items, self.settings, self._buffers(), now=self.clock.time())
            if not dry_run:
                await self._apply(result)
            summary: JsonObject = {
                "dry_run": dry_run,
                "at": self.clock.time(),
                "deleted": len(result.deletions),
                "freed_bytes": result.freed_bytes,
                "protected_kept": result.protected_kept,
            }
            if not dry_run:
                self.last_run = summary
                if result.deletions:
                    log.info("retention deleted files", extra=summary)
            return result, summary

    async def _apply(self, result: Plan) -> None:
        seg_paths = [d.item.key for d in result.deletions if d.item.kind == "continuous"]
        files = [self.roots["recordings"] / p for p in seg_paths]
        for d in result.deletions:
            if d.item.kind == "clips":
                clip = await self.store.get_clip(d.item.key)
                if clip is None or clip.locked:  # locked meanwhile: keep
                    continue
                files.append(self.roots["clips"] / clip.path)
                if clip.thumbnail:
                    files.append(self.roots["clips"] / clip.thumbnail)
                await self.store.delete_clip(clip.id)
            elif d.item.kind == "snapshots":
                snap = await self.store.get_snapshot(snap_id=d.item.key)
                if snap is not None:
                    files.append(self.roots["snapshots"] / snap.path)
                    await self.store.delete_snapshot(snap.id)
        await self.store.delete_segments(seg_paths)
        await asyncio.to_thread(_unlink, files)
        self.check_disk()

    # ---- statistics ------------------------------------------------------------------------------

    async def usage(self) -> list[UsageRow]:
        return await usage(self.store.db)


def dir_size(path: Path) -> int:
    total = 0
    for dirpath, _dirs, names in os.walk(path):
        for n in names:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, n)).st_size
    return total

"""The read side of the recordings index for handlers: pages and totals, both limited to the caller's cameras
(`cameras`: None = every camera), and the few writes an operator makes (lock a clip)."""

from __future__ import annotations

from collections.abc import Collection

from camera_service.recordings.models import Clip, RecordingSession, Segment, Snapshot
from camera_service.recordings.store import RecordingStore


class ArchiveQueries:
    def __init__(self, store: RecordingStore) -> None:
        self.store = store

    async def segments_page(
        self,
        camera: str | None,
        start: float | None,
        end: float | None,
        *,
        limit: int,
        offset: int = 0,
        before: tuple[float, int] | None = None,
        cameras: Collection[str] | None = None,
    ) -> tuple[list[Segment], int]:
        """One page of segments (newest first) and the total matching, both limited to `cameras`."""
        segs = await self.store.list_segments(
            camera, start, end, limit=limit, offset=offset, before=before, cameras=cameras
        )
        return segs, await self.store.count_segments(camera, start, end, cameras=cameras)

    async def last_session(self, camera_id: str) -> RecordingSession | None:
        return await self.store.last_session(camera_id)

    async def clips_page(
        self,
        camera: str | None,
        *,
        limit: int,
        offset: int,
        locked: bool | None,
        cameras: Collection[str] | None,
    ) -> tuple[list[Clip], int]:
        clips = await self.store.list_clips(
            camera, limit=limit, offset=offset, locked=locked, cameras=cameras
        )
        return clips, await self.store.count_clips(camera, locked=locked, cameras=cameras)

    async def set_clip_locked(self, clip_id: str, locked: bool) -> None:
        await self.store.set_clip_locked(clip_id, locked)

    async def snapshots_page(
        self, camera: str | None, *, limit: int, offset: int, cameras: Collection[str] | None
    ) -> tuple[list[Snapshot], int]:
        snaps = await self.store.list_snapshots(camera, limit=limit, offset=offset, cameras=cameras)
        return snaps, await self.store.count_snapshots(camera, cameras=cameras)

    async def recorded_totals(
        self, start: float, end: float, cameras: list[str]
    ) -> dict[str, tuple[float, int]]:
        """camera -> (recorded seconds clipped to [start, end), bytes of the segments overlapping it)."""
        return await self.store.recorded_totals(start, end, cameras)

    async def snapshot_counts(self, start: float, end: float, cameras: list[str]) -> dict[str, int]:
        return await self.store.snapshot_counts(start, end, cameras)

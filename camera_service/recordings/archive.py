"""Read and delete operations on the archive: timeline, segment/clip/snapshot lookup and deletion.

Deletion of anything inside a locked range is refused (INVALID_STATE with the clip that locks it).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from camera_service.core.errors import InvalidState, not_found
from camera_service.recordings import compat_names
from camera_service.recordings.models import Clip, Segment, Snapshot
from camera_service.recordings.retention import overlaps
from camera_service.recordings.service import RecordingsService

GAP_TOLERANCE_S = 1.0  # segments closer than this are one continuous range


def merge_ranges(segments: list[Segment], tolerance: float = GAP_TOLERANCE_S) -> list[tuple[float, float]]:
    ranges: list[list[float]] = []
    for seg in sorted(segments, key=lambda s: s.start):
        if ranges and seg.start <= ranges[-1][1] + tolerance:
            ranges[-1][1] = max(ranges[-1][1], seg.end)
        else:
            ranges.append([seg.start, seg.end])
    return [(a, b) for a, b in ranges]


async def timeline(
    svc: RecordingsService, camera: str, start: float, end: float
) -> tuple[list[tuple[float, float]], list[tuple[float, float]], list[Segment]]:
    """(recorded ranges clipped to [start, end], gaps between them, segments)."""
    segs = await svc.store.list_segments(camera, start, end, limit=1_000_000, ascending=True)
    ranges = [(max(a, start), min(b, end)) for a, b in merge_ranges(segs)]
    gaps: list[tuple[float, float]] = []
    cursor = start
    for a, b in ranges:
        if a > cursor + GAP_TOLERANCE_S:
            gaps.append((cursor, a))
        cursor = max(cursor, b)
    if end > cursor + GAP_TOLERANCE_S:
        gaps.append((cursor, end))
    return ranges, gaps, segs


async def find_segment(svc: RecordingsService, *, seg_id: int | None, filename: str | None) -> Segment:
    seg = await svc.store.get_segment(seg_id=seg_id, path=filename)
    if seg is None and filename is not None:
        seg = await compat_names.find_segment(svc, filename)  # old flat names
    if seg is None:
        raise not_found("recording", str(seg_id if seg_id is not None else filename))
    return seg


async def delete_segment(svc: RecordingsService, seg: Segment) -> None:
    locked = await svc.store.locked_ranges(seg.camera)
    if overlaps(seg.camera, seg.start, seg.end, locked):
        raise InvalidState(
            "the recording is inside a locked clip's range",
            {"reason": "locked", "id": seg.id, "filename": seg.path},
        )
    if overlaps(seg.camera, seg.start, seg.end, svc.exporter.protected_ranges()):
        raise InvalidState(
            "the recording is being exported",
            {"reason": "exporting", "id": seg.id, "filename": seg.path},
        )
    await svc.store.delete_segments([seg.path])
    await asyncio.to_thread(_unlink, svc.roots["recordings"] / seg.path)


async def find_clip(svc: RecordingsService, clip_id: str) -> Clip:
    clip = await svc.store.get_clip(clip_id)
    if clip is None:
        raise not_found("clip", clip_id)
    return clip


async def delete_clip(svc: RecordingsService, clip: Clip) -> None:
    if clip.locked:
        raise InvalidState(
            "the clip is locked; unlock it first",
            {"reason": "locked", "id": clip.id},
        )
    await svc.store.delete_clip(clip.id)
    await asyncio.to_thread(_unlink, svc.roots["clips"] / clip.path)
    if clip.thumbnail:
        await asyncio.to_thread(_unlink, svc.roots["clips"] / clip.thumbnail)


async def find_snapshot(svc: RecordingsService, *, snap_id: str | None, filename: str | None) -> Snapshot:
    snap = await svc.store.get_snapshot(snap_id=snap_id, path=filename)
    if snap is None and filename is not None:
        snap = await compat_names.find_snapshot(svc, filename)  # old flat names, client-chosen names
    if snap is None:
        raise not_found("snapshot", str(snap_id if snap_id is not None else filename))
    return snap


async def delete_snapshot(svc: RecordingsService, snap: Snapshot) -> None:
    await svc.store.delete_snapshot(snap.id)
    await asyncio.to_thread(_unlink, svc.roots["snapshots"] / snap.path)


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()

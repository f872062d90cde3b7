"""The segment index: MediaMTX segment-complete hooks plus start-up reconciliation with the disk.

Segment files are <recordings root>/<camera>/<YYYY-mm-dd_HH-MM-SS-ffffff>.mp4 in UTC (MediaMTX runs with
TZ=UTC). Each new file is probed with PyAV off the event loop for duration, codec and resolution.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from camera_service.media.imaging import probe_file
from camera_service.recordings.models import Segment, SegmentKind
from camera_service.recordings.store import RecordingStore

log = logging.getLogger("camera_service.recordings.index")

NAME_FORMAT = "%Y-%m-%d_%H-%M-%S-%f"


def parse_segment_name(rel: str) -> tuple[str, float] | None:
    """'<camera>/<UTC time>.mp4' -> (camera, start unix seconds); None for anything else."""
    parts = rel.split("/")
    if len(parts) != 2 or not parts[1].endswith(".mp4"):
        return None
    try:
        start = datetime.strptime(parts[1][:-4], NAME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None
    return parts[0], start.timestamp()


def _probe_segment(
    root: Path, rel: str
) -> tuple[int, float | None, str | None, int | None, int | None] | None:
    path = root / rel
    try:
        size = path.stat().st_size
        info = probe_file(path)
    except FileNotFoundError:
        return None
    except Exception as exc:
        log.warning("cannot probe segment %s: %s", rel, exc)
        try:
            return path.stat().st_size, None, None, None, None
        except FileNotFoundError:
            return None
    return size, info.duration_s, info.codec, info.width, info.height


def _scan(root: Path) -> dict[str, tuple[int, float]]:
    """Every segment file under root: relative path -> (size, mtime). Symlinks are ignored."""
    found: dict[str, tuple[int, float]] = {}
    if not root.is_dir():
        return found
    for cam_dir in os.scandir(root):
        if not cam_dir.is_dir(follow_symlinks=False):
            continue
        for entry in os.scandir(cam_dir.path):
            if entry.is_file(follow_symlinks=False) and entry.name.endswith(".mp4"):
                st = entry.stat(follow_symlinks=False)
                found[f"{cam_dir.name}/{entry.name}"] = (st.st_size, st.st_mtime)
    return found


# camera id -> (this instance, its lease epoch on the camera), or None when it never held the camera.
Fence = Callable[[str], tuple[str, int] | None]


class SegmentIndex:
    def __init__(
        self,
        store: RecordingStore,
        root: Path,
        kind_of: Callable[[str], SegmentKind],
        *,
        instance_id: str | None = None,
        fence: Fence | None = None,
    ) -> None:
        """Several instances (camera_service/cluster): rows carry `instance_id` and the lease epoch from
        `fence`; a segment of a camera this instance never held is refused, and the start-up
        reconciliation only touches this instance's rows (the others' files are on their disks)."""
        self.store = store
        self.root = root.expanduser().resolve()
        self._kind_of = kind_of
        self.instance_id = instance_id
        self._fence = fence
        self._on_indexed: list[Callable[[Segment], None]] = []

    def on_indexed(self, cb: Callable[[Segment], None]) -> None:
        self._on_indexed.append(cb)

    def relative(self, segment_path: str) -> str | None:
        """MediaMTX's MTX_SEGMENT_PATH (absolute) -> path relative to the root, or None if outside."""
        p = Path(segment_path)
        if not p.is_absolute():
            p = self.root / p
        try:
            return p.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return None

    async def add(
        self, rel: str, duration_hint: float | None = None, *, on_disk: bool = False
    ) -> Segment | None:
        """Index one file (`on_disk`: found by the start-up reconciliation, not announced by MediaMTX)."""
        parsed = parse_segment_name(rel)
        if parsed is None:
            log.warning("ignoring segment with an unexpected name: %s", rel)
            return None
        camera, start = parsed
        epoch: int | None = None
        if self.instance_id is not None:
            fenced = self._fence(camera) if self._fence is not None else None
            if fenced is None and not on_disk:
                log.warning("segment of a camera this instance does not own: not indexed: %s", rel)
                return None
            epoch = fenced[1] if fenced is not None else None
        probed = await asyncio.to_thread(_probe_segment, self.root, rel)
        if probed is None:
            return None
        size, duration, codec, width, height = probed
        if duration_hint is not None and duration_hint > 0:
            duration = duration_hint  # MediaMTX's own figure is exact
        seg = await self.store.upsert_segment(
            Segment(
                id=0,
                camera=camera,
                path=rel,
                start=start,
                duration_s=round(duration or 0.0, 3),
                size=size,
                codec=codec,
                width=width,
                height=height,
                kind=self._kind_of(camera),
            ),
            owner=self.instance_id,
            epoch=epoch,
        )
        for cb in self._on_indexed:
            cb(seg)
        return seg

    async def reconcile(self) -> tuple[int, int]:
        """Make the index equal to the disk: index unknown files, drop rows whose file vanished."""
        on_disk = await asyncio.to_thread(_scan, self.root)
        known = await self.store.segment_paths(self.instance_id)
        vanished = [p for p in known if p not in on_disk]
        await self.store.delete_segments(vanished)
        added = 0
        for rel, (size, _mtime) in sorted(on_disk.items()):
            if rel in known and known[rel] == size:
                continue
            if await self.add(rel, on_disk=True) is not None:
                added += 1
        if added or vanished:
            log.info("segment index reconciled", extra={"added": added, "removed": len(vanished)})
        return added, len(vanished)

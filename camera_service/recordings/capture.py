"""Captures from cameras: clips exported from the recordings, and snapshots decoded from the live stream
(or taken from a frame another component already decoded). Each writes a file under its root, indexes
it in the store and publishes an event (`clip.ready`, `snapshot.taken`). RecordingsService, the façade,
owns one of each.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from camera_service.analytics.ports import FrameSource
from camera_service.cameras.ports import CameraRegistry
from camera_service.core.bus import EventBus
from camera_service.core.errors import CameraUnavailable, InvalidInput, StorageFailure, TimedOut
from camera_service.media.imaging import ImageFormat, encode_frame, first_frame, probe_file
from camera_service.media.snapshot import GrabbedFrame, SnapshotEngine, SnapshotError, SnapshotTimeout
from camera_service.recordings.compat_names import client_file_name
from camera_service.recordings.config import RecordingsConfig
from camera_service.recordings.export import Exporter
from camera_service.recordings.models import Clip, ClipKind, Snapshot
from camera_service.recordings.store import RecordingStore

_EXT = {"jpeg": "jpg", "png": "png"}


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d_%H-%M-%S-%f")


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)


class ClipExports:
    def __init__(
        self,
        cfg: RecordingsConfig,
        *,
        store: RecordingStore,
        exporter: Exporter,
        clips_root: Path,
        bus: EventBus,
        cameras: CameraRegistry,
    ) -> None:
        self.cfg = cfg
        self.store = store
        self.exporter = exporter
        self.root = clips_root
        self.bus = bus
        self.cameras = cameras

    async def export_range(
        self,
        camera_id: str,
        start: datetime,
        end: datetime,
        name: str | None = None,
        lock: bool = False,
        *,
        kind: ClipKind = "event",
    ) -> Clip:
        """Export [start, end] of a camera as one MP4 clip with a thumbnail; waits until it is recorded."""
        camera = await self.cameras.get(camera_id)
        s, e = start.timestamp(), end.timestamp()
        if e <= s:
            raise InvalidInput(
                "end must be after start",
                {"errors": [{"field": "end", "message": "must be after start", "type": "value_error"}]},
            )
        clip_id = uuid.uuid4().hex
        rel = f"{camera.id}/{_stamp(s)}-{clip_id[:8]}.mp4"
        dest = self.root / rel
        try:
            exported_start, size = await self.exporter.export(
                camera.id, s, e, dest, self.cfg.export_timeout_s
            )
            info = await asyncio.to_thread(probe_file, dest)
            thumb_rel: str | None = rel[:-4] + ".jpg"
            frame = await asyncio.to_thread(first_frame, dest)
            if frame is not None and thumb_rel is not None:
                img = await asyncio.to_thread(encode_frame, frame, "jpeg", 80, 320)
                await asyncio.to_thread(_write, self.root / thumb_rel, img.data)
            else:
                thumb_rel = None
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                dest.unlink()
            raise
        clip = Clip(
            id=clip_id,
            camera=camera.id,
            name=name or f"{camera.id} {_stamp(s)[:19]}",
            start=exported_start,
            end=exported_start + (info.duration_s or 0.0),
            path=rel,
            thumbnail=thumb_rel,
            size=size,
            duration_s=round(info.duration_s or 0.0, 3),
            codec=info.codec,
            width=info.width,
            height=info.height,
            locked=lock,
            kind=kind,
            created_at=time.time(),
        )
        await self.store.insert_clip(clip)
        self.bus.emit(
            "clip.ready",
            camera=camera.id,
            clip_id=clip.id,
            name=clip.name,
            start=clip.start,
            end=clip.end,
            duration_s=clip.duration_s,
            size=clip.size,
            locked=clip.locked,
            kind=kind,
        )
        return clip


class SnapshotTaker:
    def __init__(
        self,
        cfg: RecordingsConfig,
        *,
        store: RecordingStore,
        engine: SnapshotEngine,
        snapshots_root: Path,
        bus: EventBus,
        cameras: CameraRegistry,
        rtsp_url: Callable[[str], str],
        frames: FrameSource | None,
    ) -> None:
        """`frames`: a fresh decoded frame of a camera another component already reads (analytics)."""
        self.cfg = cfg
        self.store_ = store
        self.engine = engine
        self.root = snapshots_root
        self.bus = bus
        self.cameras = cameras
        self._rtsp_url = rtsp_url
        self.frames = frames

    async def take(
        self,
        camera_id: str,
        fmt: ImageFormat = "jpeg",
        quality: int = 85,
        max_width: int | None = None,
        *,
        name: str | None = None,
    ) -> Snapshot:
        """Decode a current frame in-process (warm reader when one is connected) and store it (as
        <camera>/<name> when a client chose `name`: sanitised, never over another file)."""
        camera = await self.cameras.get(camera_id)
        timeout = self.cfg.snapshot_timeout_s
        cached = self.frames.latest_frame(camera.id) if self.frames is not None else None
        try:
            if cached is not None:
                grabbed = GrabbedFrame(cached[0], cached[1], warm=True)
            else:
                grabbed = await self.engine.grab(camera.id, self._rtsp_url(camera.id), timeout)
        except SnapshotTimeout as exc:
            raise TimedOut(
                f"no frame from camera '{camera.id}' within {timeout:g}s",
                {"camera": camera.id, "timeout_s": timeout},
            ) from exc
        except SnapshotError as exc:
            status = getattr(getattr(self.cameras.status(camera.id), "status", None), "value", None)
            raise CameraUnavailable(
                f"camera '{camera.id}' is not streaming: {exc}",
                {"camera": camera.id, "status": status},
            ) from exc
        return await self.store(camera.id, grabbed, fmt, quality, max_width, name=name)

    async def store(
        self,
        camera_id: str,
        grabbed: GrabbedFrame,
        fmt: ImageFormat = "jpeg",
        quality: int = 85,
        max_width: int | None = None,
        *,
        name: str | None = None,
    ) -> Snapshot:
        """Encode an already decoded frame of a camera and store it as a snapshot."""
        camera = await self.cameras.get(camera_id)
        img = await asyncio.to_thread(encode_frame, grabbed.frame, fmt, quality, max_width)
        snap_id = uuid.uuid4().hex
        rel = f"{camera.id}/{_stamp(grabbed.captured_at)}-{snap_id[:8]}.{_EXT[fmt]}"
        if name is not None:
            rel = f"{camera.id}/{client_file_name(name, _EXT[fmt], snap_id[:8])}"
            if (self.root / rel).exists() or await self.store_.get_snapshot(path=rel):
                rel = f"{camera.id}/{client_file_name(name, _EXT[fmt], snap_id[:8], unique=True)}"
        try:
            await asyncio.to_thread(_write, self.root / rel, img.data)
        except OSError as exc:
            raise StorageFailure(f"cannot write the snapshot: {exc.strerror}", {"camera": camera.id}) from exc
        snap = Snapshot(
            id=snap_id,
            camera=camera.id,
            path=rel,
            format=fmt,
            width=img.width,
            height=img.height,
            size=len(img.data),
            created_at=grabbed.captured_at,
        )
        await self.store_.insert_snapshot(snap)
        self.bus.emit(
            "snapshot.taken",
            camera=camera.id,
            snapshot_id=snap.id,
            path=rel,
            width=img.width,
            height=img.height,
            size=snap.size,
            warm=grabbed.warm,
        )
        return snap

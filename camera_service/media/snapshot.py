"""Snapshots decoded in-process with PyAV, with warm per-camera readers.

A cold snapshot opens the camera's RTSP stream on MediaMTX and waits for the next keyframe (the physical
floor). The reader then stays connected for `warm_s` seconds after the last snapshot, decoding every
frame into `latest`, so the next snapshot is an encode of a frame already in memory. Every PyAV call
blocks, so readers run on their own daemon thread and callers wait through asyncio.to_thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from dataclasses import dataclass

import av
from av.video.frame import VideoFrame

from camera_service.media.rtsp import open_live_video

log = logging.getLogger("camera_service.media.snapshot")


class SnapshotError(Exception):
    """The stream could not be read (offline, refused, not found)."""


class SnapshotTimeout(SnapshotError):
    """No frame within the timeout."""


@dataclass(frozen=True)
class GrabbedFrame:
    frame: VideoFrame
    captured_at: float  # unix seconds
    warm: bool  # served from an already-connected reader


class _Reader:
    """One RTSP connection decoding into `latest` until idle for `warm_s` seconds."""

    def __init__(self, camera: str, url: str, warm_s: float, open_timeout_s: float) -> None:
        self.camera = camera
        self.url = url
        self.warm_s = warm_s
        self.open_timeout_s = open_timeout_s
        self._cond = threading.Condition()
        self._latest: VideoFrame | None = None
        self._latest_mono = 0.0
        self._latest_wall = 0.0
        self._seq = 0
        self._keep_until = time.monotonic() + max(warm_s, 0.0)
        self._stop = False
        self.done = False
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"snapshot-{camera}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def touch(self) -> None:
        with self._cond:
            self._keep_until = max(self._keep_until, time.monotonic() + self.warm_s)

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()

    @property
    def alive(self) -> bool:
        return not self.done

    def _run(self) -> None:
        try:
            with open_live_video(self.url, self.open_timeout_s) as (container, stream):
                seen_key = False
                for packet in container.demux(stream):
                    with self._cond:
                        if self._stop or (self._latest is not None and time.monotonic() > self._keep_until):
                            break
                    if packet.size == 0:
                        continue
                    if not seen_key:
                        if not packet.is_keyframe:
                            continue  # nothing decodes cleanly before the first keyframe
                        seen_key = True
                    try:
                        frames = packet.decode()
                    except av.error.InvalidDataError:
                        continue
                    for frame in frames:
                        with self._cond:
                            self._latest = frame
                            self._latest_mono = time.monotonic()
                            self._latest_wall = time.time()
                            self._seq += 1
                            self._cond.notify_all()
        except BaseException as exc:
            self.error = exc
        finally:
            with self._cond:
                self.done = True
                self._cond.notify_all()

    def wait_frame(self, max_age_s: float, timeout_s: float) -> GrabbedFrame:
        """A frame decoded at most max_age_s ago (now, or the next one to arrive). Blocks."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            warm = self._latest is not None
            while True:
                now = time.monotonic()
                if self._latest is not None and now - self._latest_mono <= max_age_s:
                    return GrabbedFrame(self._latest, self._latest_wall, warm)
                if self.done:
                    raise SnapshotError(_describe(self.error))
                if now >= deadline:
                    raise SnapshotTimeout(f"no frame within {timeout_s:g}s")
                warm = False
                self._cond.wait(deadline - now)


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "the stream ended"
    if isinstance(exc, av.error.HTTPNotFoundError):
        return "the stream is not available (camera offline or not publishing)"
    if isinstance(exc, TimeoutError | av.error.ExitError):
        return "the stream did not answer in time"
    if isinstance(exc, IndexError):
        return "the stream has no video track"
    return f"{type(exc).__name__}: {exc}"


class SnapshotEngine:
    """Per-camera warm readers; `grab` returns a decoded frame, cold or warm."""

    def __init__(self, warm_s: float = 10.0, max_age_s: float = 0.5) -> None:
        self.warm_s = warm_s
        self.max_age_s = max_age_s
        self._readers: dict[str, _Reader] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def grab(self, camera: str, url: str, timeout_s: float) -> GrabbedFrame:
        """Decoded frame of `camera` no older than max_age_s. Raises SnapshotError / SnapshotTimeout."""
        started = time.monotonic()
        lock = self._locks.setdefault(camera, asyncio.Lock())
        async with lock:
            reader = self._readers.get(camera)
            if reader is None or not reader.alive or reader.url != url:
                if reader is not None:
                    reader.stop()
                reader = _Reader(camera, url, self.warm_s, open_timeout_s=timeout_s)
                self._readers[camera] = reader
                reader.start()
            else:
                reader.touch()
        remaining = max(0.05, timeout_s - (time.monotonic() - started))
        try:
            return await asyncio.to_thread(reader.wait_frame, self.max_age_s, remaining)
        except SnapshotError:
            if self._readers.get(camera) is reader and reader.done:
                self._readers.pop(camera, None)
            raise

    def drop(self, camera: str) -> None:
        reader = self._readers.pop(camera, None)
        if reader is not None:
            reader.stop()

    def warm_cameras(self) -> list[str]:
        return [c for c, r in self._readers.items() if r.alive]

    async def close(self) -> None:
        readers = list(self._readers.values())
        self._readers.clear()
        for r in readers:
            r.stop()
        for r in readers:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(r._thread.join, 2.0)

"""Camera status from MediaMTX: a periodic (hook-woken) read of /v3/paths/list turned into transitions.

MediaMTX hooks (runOnOnline/runOnOffline -> the internal listener) wake the poll at once, so a change
is usually seen within milliseconds; the poll itself (default every 1 s) catches everything else,
including paths that vanished or appeared behind our back (drift, reported to `on_drift`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Collection

from camera_service.cameras.models import Camera, CameraStatus, CameraStatusInfo
from camera_service.mediamtx.errors import MediaMTXError
from camera_service.mediamtx.models import MtxPath

log = logging.getLogger("camera_service.cameras")

VIDEO_CODECS = frozenset(
    {"H264", "H265", "AV1", "VP9", "VP8", "M-JPEG", "MJPEG", "MPEG-4 Video", "MPEG-1/2 Video"}
)
ChangeListener = Callable[[Camera, CameraStatusInfo, CameraStatusInfo], None]


def _tracks(path: MtxPath) -> tuple[str | None, str | None, int | None, int | None, str | None]:
    codec = profile = audio = None
    width = height = None
    for track in path.tracks2:
        if track.codec in VIDEO_CODECS and codec is None:
            codec = track.codec
            props = track.codecProps
            width = props.get("width") if isinstance(props.get("width"), int) else None
            height = props.get("height") if isinstance(props.get("height"), int) else None
            profile = str(props["profile"]) if props.get("profile") else None
        elif track.codec not in VIDEO_CODECS and audio is None:
            audio = track.codec
    return codec, profile, width, height, audio


def evaluate(
    camera: Camera,
    path: MtxPath | None,
    prev: CameraStatusInfo,
    *,
    mtx_up: bool,
    provisioning_error: str | None,
    now: float,
    bitrate_kbps: float | None,
) -> CameraStatusInfo:
    """The camera's new status from what MediaMTX shows (pure, unit-tested)."""
    if not camera.enabled:
        if prev.status == CameraStatus.DISABLED:
            return prev
        return CameraStatusInfo(status=CameraStatus.DISABLED, last_seen=prev.last_seen)
    if camera.credentials_error:
        return _idle(prev, CameraStatus.ERROR, camera.credentials_error)
    if provisioning_error:
        return _idle(prev, CameraStatus.ERROR, f"MediaMTX refused the camera's config: {provisioning_error}")
    if not mtx_up:
        return _idle(prev, CameraStatus.OFFLINE, "MediaMTX is not reachable")
    if path is None:
        return _idle(prev, CameraStatus.OFFLINE, "no MediaMTX path (yet)")
    # `available` (not `online`): v1.20.1 reports a static source online before it ever connects.
    if path.available:
        codec, profile, width, height, audio = _tracks(path)
        restarted = prev.status != CameraStatus.ONLINE or not prev.streaming
        return CameraStatusInfo(
            status=CameraStatus.ONLINE,
            streaming=True,
            last_seen=now,
            online_since=prev.online_since
            if prev.status == CameraStatus.ONLINE and prev.online_since
            else now,
            codec=codec,
            profile=profile,
            width=width,
            height=height,
            # a new source session may have another frame rate: measure again
            fps=None
            if restarted or (width, height, codec) != (prev.width, prev.height, prev.codec)
            else prev.fps,
            audio_codec=audio,
            bitrate_kbps=bitrate_kbps,
            bytes_received=path.inboundBytes,
            bytes_sent=path.outboundBytes,
            readers=len(path.readers),
            frames_in_error=path.inboundFramesInError,
            source_type=path.source.type if path.source else None,
        )
    if camera.on_demand and prev.status == CameraStatus.ONLINE and prev.readers == 0:
        # MediaMTX closed an idle on-demand pull (no readers left): not a failure.
        return _idle(prev, CameraStatus.ONLINE, None, prev.online_since)
    return _idle(prev, CameraStatus.OFFLINE, None if camera.on_demand else "source not streaming")


def _idle(
    prev: CameraStatusInfo, status: CameraStatus, error: str | None, online_since: float | None = None
) -> CameraStatusInfo:
    """Not streaming: keep the last known stream facts. Returns `prev` itself when nothing changed
    (the poll evaluates every camera every second; 500 idle cameras then allocate nothing)."""
    update: dict[str, object] = {
        "status": status,
        "error": error,
        "streaming": False,
        "bitrate_kbps": None,
        "readers": 0,
        "online_since": online_since,
    }
    if all(getattr(prev, k) == v for k, v in update.items()):
        return prev
    return prev.model_copy(update=update)


class StatusTracker:
    def __init__(
        self, poll_interval_s: float, on_change: ChangeListener, on_drift: Callable[[], None]
    ) -> None:
        self.poll_interval_s = poll_interval_s
        self.on_change = on_change
        self.on_drift = on_drift
        self.infos: dict[str, CameraStatusInfo] = {}
        self._bytes: dict[str, tuple[int, float]] = {}
        self._wake = asyncio.Event()
        self.polls = 0

    def info(self, camera_id: str) -> CameraStatusInfo:
        return self.infos.get(camera_id) or CameraStatusInfo(status=CameraStatus.OFFLINE)

    def wake(self) -> None:
        self._wake.set()

    def forget(self, camera_id: str) -> None:
        self.infos.pop(camera_id, None)
        self._bytes.pop(camera_id, None)

    def _bitrate(self, camera_id: str, path: MtxPath | None, now: float) -> float | None:
        if path is None or not path.available:
            self._bytes.pop(camera_id, None)
            return None
        prev = self._bytes.get(camera_id)
        self._bytes[camera_id] = (path.inboundBytes, now)
        old = self.infos.get(camera_id)
        if prev is None or path.inboundBytes < prev[0]:
            return None
        dt = now - prev[1]
        if dt < 0.2:  # a hook-woken poll right after the last one: keep the previous estimate
            self._bytes[camera_id] = prev
            return old.bitrate_kbps if old else None
        return round((path.inboundBytes - prev[0]) * 8 / 1000 / dt, 1)

    def apply(
        self,
        cameras: Collection[Camera],
        paths: dict[str, MtxPath] | None,
        *,
        mtx_up: bool,
        provisioning_errors: dict[str, str],
    ) -> None:
        now = time.time()
        for camera in cameras:
            path = paths.get(camera.id) if paths is not None else None
            prev = self.info(camera.id)
            new = evaluate(
                camera,
                path,
                prev,
                mtx_up=mtx_up and paths is not None,
                provisioning_error=provisioning_errors.get(camera.id),
                now=now,
                bitrate_kbps=self._bitrate(camera.id, path, now),
            )
            self.infos[camera.id] = new
            if new.status != prev.status or new.resolution != prev.resolution or new.codec != prev.codec:
                self.on_change(camera, prev, new)

    def set_fps(self, camera: Camera, fps: float) -> None:
        prev = self.info(camera.id)
        if prev.status != CameraStatus.ONLINE:
            return
        new = prev.model_copy(update={"fps": fps})
        self.infos[camera.id] = new
        self.on_change(camera, prev, new)

    async def run(self, poll: Callable[[], Awaitable[None]]) -> None:
        """Loop: call `poll` (a coroutine function) every interval or when woken."""
        while True:
            self._wake.clear()
            try:
                await poll()
            except asyncio.CancelledError:
                raise
            except MediaMTXError as exc:
                log.debug("status poll failed: %s", exc.message)
            except Exception:
                log.exception("status poll failed")
            self.polls += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval_s)

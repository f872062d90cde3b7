"""What happens when a camera's status changes: bus events, the camera_status_update push, metrics,
and the frame-rate measurement of a camera that just came online."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from camera_service.auth import scopes
from camera_service.auth.identity import Identity
from camera_service.cameras.config import CamerasConfig
from camera_service.cameras.metrics import CameraMetrics
from camera_service.cameras.models import Camera, CameraStatus, CameraStatusInfo
from camera_service.cameras.notify import may_receive_push
from camera_service.cameras.probe import ProbeFailed, probe_stream
from camera_service.cameras.status import StatusTracker
from camera_service.cameras.streams import StreamUrls
from camera_service.cameras.urls import mask_credentials
from camera_service.core.bus import EventBus, Severity
from camera_service.core.pushes import LocalPushes, PushRelay
from camera_service.core.tasks import TaskSet
from camera_service.rpc.context import Broadcaster, ConnectionContext

log = logging.getLogger("camera_service.cameras")

# With security on each connection gets its own payload (its token in the URLs): a status wave (MediaMTX
# down or back flips every camera at once) is cameras x connections of work. It runs in a task that hands
# the loop back every PUSH_CHUNK connections, so ping/get_status never wait behind a whole wave.
PUSH_CHUNK = 16
PUSH_CHANNEL = "camera_status"  # core.pushes channel of camera_status_update between instances
_PUSH_URLS = "cameras.push_stream_urls"  # ConnectionContext.state: camera -> (identity, urls, reuse until)
_COMPAT_STATUS = {
    CameraStatus.ONLINE: "CONNECTED",
    CameraStatus.OFFLINE: "DISCONNECTED",
    CameraStatus.ERROR: "ERROR",
    CameraStatus.DISABLED: "DISCONNECTED",
}
_EVENT = {
    CameraStatus.ONLINE: ("camera.online", Severity.LOW),
    CameraStatus.OFFLINE: ("camera.offline", Severity.HIGH),
    CameraStatus.ERROR: ("camera.error", Severity.HIGH),
}


def compat_status(status: CameraStatus) -> str:
    """Status words of the established protocol: CONNECTED / DISCONNECTED / ERROR."""
    return _COMPAT_STATUS[status]


class LivePush:
    def __init__(
        self,
        cfg: CamerasConfig,
        bus: EventBus,
        connections: Broadcaster,
        metrics: CameraMetrics,
        tracker: StatusTracker,
        *,
        stream_urls: Callable[[str, Identity | None], StreamUrls],
        tokens_on: Callable[[], bool],
        reader_url: Callable[[str], str],
        lookup: Callable[[str], Camera | None],
        pushes: PushRelay | None = None,
        owns: Callable[[str], bool] | None = None,
    ) -> None:
        """`owns` (several instances): whether this instance tracks the camera; another instance's
        status pushes become the status this one reports for the cameras it does not own."""
        self.cfg = cfg
        self.owns = owns
        self.bus = bus
        self.connections = connections
        self.metrics = metrics
        self.tracker = tracker
        self.stream_urls = stream_urls
        self.tokens_on = tokens_on
        self.reader_url = reader_url
        self.lookup = lookup
        self.sampling: dict[str, asyncio.Task[None]] = {}
        self._tasks = TaskSet("fps-sampling")
        self._sample_sem = asyncio.Semaphore(cfg.fps_sample_concurrency)
        self._pushes = TaskSet("camera-push")
        self._push_order = asyncio.Lock()  # FIFO: a connection sees a camera's changes in order
        self.pushes: PushRelay = pushes or LocalPushes()
        self.pushes.on(PUSH_CHANNEL, self._on_remote_status)

    def on_status_change(self, camera: Camera, prev: CameraStatusInfo, new: CameraStatusInfo) -> None:
        if new.status != prev.status:
            self.metrics.status_changes.labels(new.status.value).inc()
            log.info(
                "camera %s: %s -> %s",
                camera.id,
                prev.status.value,
                new.status.value,
                extra={"camera": camera.id, "error": new.error},
            )
            event = _EVENT.get(new.status)
            if event is not None:
                self.bus.emit(
                    event[0],
                    camera=camera.id,
                    severity=event[1],
                    status=new.status.value,
                    previous=prev.status.value,
                    error=new.error,
                )
            self.bus.emit(
                "camera.status_changed",
                camera=camera.id,
                status=new.status.value,
                previous=prev.status.value,
                error=new.error,
            )
        if len(self.connections):
            self._push(camera, new)
        # Scale-out: the other instances push it to their clients (the owner alone tracks a camera).
        self.pushes.publish(PUSH_CHANNEL, {"camera": camera.id, "info": new.model_dump(mode="json")})
        if new.status == CameraStatus.ONLINE and new.streaming and new.fps is None:
            self._schedule_fps_sample(camera)

    def _on_remote_status(self, payload: dict[str, Any]) -> None:
        """Another instance's camera changed status: push it to this instance's clients (same scopes)."""
        camera = self.lookup(str(payload["camera"]))
        if camera is None:
            return
        info = CameraStatusInfo.model_validate(payload["info"])
        if self.owns is not None and not self.owns(camera.id):
            self.tracker.infos[camera.id] = info  # the owner's word: get_camera/list_cameras report it
        if len(self.connections):
            self._push(camera, info)

    def _push(self, camera: Camera, info: CameraStatusInfo) -> None:
        def permitted(conn: ConnectionContext) -> bool:
            return may_receive_push(conn) and scopes.in_scope(camera, conn.identity)

        if not self.tokens_on():  # one payload for everyone: encoded once
            self.connections.broadcast(
                "camera_status_update", self.compat_payload(camera, info), where=permitted
            )
            return
        # Security on: one payload per connection, built off this (synchronous) call in chunks.
        self._pushes.spawn(self._push_each(camera, info, permitted), name=f"push-{camera.id}")

    async def _push_each(
        self, camera: Camera, info: CameraStatusInfo, permitted: Callable[[ConnectionContext], bool]
    ) -> None:
        # A connection reuses its token for a camera during the first half of the token's lifetime:
        # minting costs ~0.1-0.3 ms, encoding ~0.004 ms (ADR 0012).
        async with self._push_order:
            for i, conn in enumerate(list(self.connections)):
                if i and i % PUSH_CHUNK == 0:
                    await asyncio.sleep(0)
                if not permitted(conn):
                    continue
                now = time.time()
                cache: dict[str, tuple[Identity | None, StreamUrls, float]] = conn.state.setdefault(
                    _PUSH_URLS, {}
                )
                cached = cache.get(camera.id)
                if cached is not None and cached[0] is conn.identity and now < cached[2]:
                    urls = cached[1]
                else:
                    urls = self.stream_urls(camera.id, conn.identity)
                    expires = (
                        datetime.fromisoformat(urls.token_expires_at).timestamp()
                        if urls.token_expires_at
                        else now
                    )
                    cache[camera.id] = (conn.identity, urls, now + (expires - now) / 2)
                conn.notify("camera_status_update", self.compat_payload(camera, info, conn.identity, urls))

    def compat_payload(
        self,
        camera: Camera,
        info: CameraStatusInfo,
        identity: Identity | None = None,
        urls: StreamUrls | None = None,
    ) -> dict[str, Any]:
        urls = urls or self.stream_urls(camera.id, identity)
        return {
            "device": camera.id,
            "status": compat_status(info.status),
            "state": info.status.value,
            "name": camera.name,
            "resolution": info.resolution,
            "fps": round(info.fps or 0),
            "streams": {"rtsp": urls.rtsp, "webrtc": urls.webrtc, "hls": urls.hls},
        }

    def _schedule_fps_sample(self, camera: Camera) -> None:
        if self.cfg.fps_sample_s <= 0 or camera.id in self.sampling:
            return

        async def sample() -> None:
            try:
                async with self._sample_sem:
                    result = await asyncio.to_thread(
                        probe_stream,
                        self.reader_url(camera.id),
                        timeout_s=self.cfg.fps_sample_s + 5,
                        sample_s=self.cfg.fps_sample_s,
                    )
                current = self.lookup(camera.id)
                if result.fps and current is not None:
                    self.tracker.set_fps(current, result.fps)
            except ProbeFailed as exc:
                log.debug("fps sample failed: %s", mask_credentials(exc.reason), extra={"camera": camera.id})
            finally:
                self.sampling.pop(camera.id, None)

        self.sampling[camera.id] = self._tasks.spawn(sample(), name=f"fps-{camera.id}")

    async def wait_pushed(self) -> None:
        """Until every camera_status_update queued so far is handed to its connections."""
        await self._pushes.wait()

    async def stop_sampling(self) -> None:
        """Cancel every fps sample and pending push and wait for them (the component stops)."""
        await self._tasks.close()
        await self._pushes.close()
        self.sampling.clear()
        self._tasks.reopen()
        self._pushes.reopen()

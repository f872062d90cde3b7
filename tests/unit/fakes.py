"""Small fakes of the domain ports (camera_service/*/ports.py) for unit tests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from camera_service.cameras.models import Camera
from camera_service.events.rules.actions import RuleDeps
from camera_service.media.imaging import ImageFormat
from camera_service.recordings.models import Clip, ClipKind, RecordingSession, Snapshot
from camera_service.rpc.errors import not_found


class FakeCameras:
    """CameraDirectory over a dict."""

    def __init__(self, *cameras: Camera) -> None:
        self.by_id = {c.id: c for c in cameras}

    def find(self, camera_id: str) -> Camera | None:
        return self.by_id.get(camera_id)

    async def get(self, camera_id: str) -> Camera:
        camera = self.by_id.get(camera_id)
        if camera is None:
            raise not_found("camera", camera_id)
        return camera

    def cameras(self) -> list[Camera]:
        return [self.by_id[k] for k in sorted(self.by_id)]

    def resolve_id(self, device: str) -> str:
        if device not in self.by_id:
            raise not_found("camera", device)
        return device


class NoRecordings:
    """RecordingActions of a server without recordings: every action fails."""

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
        raise RuntimeError("no recordings in this test")

    async def take_snapshot(
        self, camera_id: str, fmt: ImageFormat = "jpeg", quality: int = 85, max_width: int | None = None
    ) -> Snapshot:
        raise RuntimeError("no recordings in this test")

    async def start_recording(
        self, camera_id: str, duration_s: float | None = None, requested_by: str | None = None
    ) -> RecordingSession:
        raise RuntimeError("no recordings in this test")


class NoPtz:
    async def goto_preset(
        self, camera: Camera, preset: str, *, from_patrol: bool = False
    ) -> Mapping[str, object]:
        raise RuntimeError("no PTZ in this test")


def rule_deps(cameras: FakeCameras | None = None) -> RuleDeps:
    return RuleDeps(cameras=cameras or FakeCameras(), recordings=NoRecordings(), ptz=NoPtz())

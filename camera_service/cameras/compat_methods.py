"""Compatibility aliases of the established MediaMTX Camera Service protocol (camerarecorder.md §1).

Result shapes follow that protocol (status words CONNECTED / DISCONNECTED / ERROR; `state` carries our
ONLINE / OFFLINE / ERROR / DISABLED). One deliberate difference: an unknown `device` is a NOT_FOUND
error (-32004) instead of a result with status DISCONNECTED, so a typo cannot look like a dead camera.
"""

from __future__ import annotations

import time

from pydantic import BaseModel, Field

from camera_service.auth.roles import Role
from camera_service.cameras.models import Camera, CameraStatus
from camera_service.rpc.context import CallContext
from camera_service.rpc.errors import ErrorCode, not_found
from camera_service.rpc.registry import MethodRegistry, Params
from camera_service.rpc.scope import CameraScope

router = MethodRegistry(tag="cameras")


class CompatStreams(BaseModel):
    rtsp: str = Field(description="RTSP URL.")
    webrtc: str | None = Field(description="WebRTC page URL (null when WebRTC is off).")
    hls: str | None = Field(description="HLS URL (null when HLS is off).")


class CompatCamera(BaseModel):
    device: str = Field(description="Camera id (send it back as `device`).")
    status: str = Field(description="CONNECTED, DISCONNECTED or ERROR.")
    state: CameraStatus = Field(description="ONLINE, OFFLINE, ERROR or DISABLED.")
    name: str
    resolution: str = Field(description="'WIDTHxHEIGHT', or '' while unknown.")
    fps: int = Field(description="Measured frame rate, rounded; 0 while unknown.")
    streams: CompatStreams


class CameraListResult(BaseModel):
    cameras: list[CompatCamera]
    total: int = Field(description="Number of cameras.")
    connected: int = Field(description="Cameras that are CONNECTED (ONLINE).")


class CompatMetrics(BaseModel):
    bytes_sent: int = Field(description="Bytes MediaMTX sent to readers of this camera (current session).")
    readers: int = Field(description="Current readers.")
    uptime: int = Field(description="Seconds since the camera came ONLINE (0 when not online).")


class CompatCapabilities(BaseModel):
    formats: list[str] = Field(description="Video codec(s) seen.")
    resolutions: list[str] = Field(description="Resolution(s) seen.")


class CameraStatusResult(CompatCamera):
    metrics: CompatMetrics
    capabilities: CompatCapabilities


class DeviceParams(Params):
    device: str = Field(
        min_length=1,
        max_length=128,
        description=(
            "Camera id, or the established names cameraN / /dev/videoN (N-th camera by creation order, "
            "from 0)."
        ),
    )


def _compat(ctx: CallContext, camera: Camera) -> CompatCamera:
    payload = ctx.services.cameras.compat_status_payload(camera, ctx.services.cameras.status(camera.id))
    return CompatCamera.model_validate(payload)


@router.method(scope=CameraScope.CAMERAS, role=Role.VIEWER, compat=True)
async def get_camera_list(ctx: CallContext) -> CameraListResult:
    """All cameras in the established protocol's shape (compatibility alias of list_cameras).

    Role: viewer.
    """
    svc = ctx.services.cameras
    cams = [_compat(ctx, c) for c in svc.cameras() if ctx.scope.sees(c)]
    return CameraListResult(
        cameras=cams, total=len(cams), connected=sum(1 for c in cams if c.state == CameraStatus.ONLINE)
    )


@router.method(
    scope=CameraScope.CAMERAS,
    role=Role.VIEWER,
    compat=True,
    errors=(ErrorCode.NOT_FOUND, ErrorCode.INVALID_PARAMS),
)
async def get_camera_status(ctx: CallContext, params: DeviceParams) -> CameraStatusResult:
    """One camera's status and stream metrics (compatibility alias of get_camera).

    Role: viewer. `device` accepts our ids, cameraN and /dev/videoN. Unlike the old server, an unknown
    device is a NOT_FOUND error, not a DISCONNECTED result.
    """
    svc = ctx.services.cameras
    camera = svc.get_cached(svc.resolve_id(params.device))
    if not ctx.scope.sees(camera):
        raise not_found("camera", params.device)
    info = svc.status(camera.id)
    base = _compat(ctx, camera)
    uptime = int(time.time() - info.online_since) if info.online_since and info.streaming else 0
    return CameraStatusResult(
        **base.model_dump(),
        metrics=CompatMetrics(bytes_sent=info.bytes_sent, readers=info.readers, uptime=uptime),
        capabilities=CompatCapabilities(
            formats=[info.codec] if info.codec else [],
            resolutions=[info.resolution] if info.resolution else [],
        ),
    )


class CameraStatusUpdate(BaseModel):
    device: str
    status: str = Field(description="CONNECTED, DISCONNECTED or ERROR.")
    state: CameraStatus = Field(description="ONLINE, OFFLINE, ERROR or DISABLED.")
    name: str
    resolution: str
    fps: int
    streams: CompatStreams


router.notification(
    "camera_status_update",
    CameraStatusUpdate,
    "A camera's status, resolution or measured fps changed (sent to every permitted connection within "
    "about a second).",
    compat=True,
)

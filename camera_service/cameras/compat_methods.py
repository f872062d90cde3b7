"""Compatibility aliases of the established MediaMTX Camera Service protocol (camerarecorder.md §1).

Result shapes follow that protocol (status words CONNECTED / DISCONNECTED / ERROR; `state` carries our
ONLINE / OFFLINE / ERROR / DISABLED; `camera` our id). As in that protocol, `get_camera_status` of an
unknown device (or one outside the caller's scope: the two look the same) is a result with status
DISCONNECTED, not an error: the old clients drop error frames and would wait for their timeout.
Stream URLs carry a fresh stream token scoped to the caller when security is on (docs/adr/0012).
"""

from __future__ import annotations

import time
from typing import Literal

from pydantic import BaseModel, Field

from camera_service.auth.roles import Role
from camera_service.cameras.methods import CameraApi
from camera_service.cameras.models import Camera, CameraStatus
from camera_service.core.errors import NotFound
from camera_service.rpc.context import CallContext
from camera_service.rpc.errors import ErrorCode, not_found
from camera_service.rpc.registry import MethodRegistry, Params
from camera_service.rpc.scope import CameraScope

router = MethodRegistry(tag="cameras")


class CompatStreams(BaseModel):
    rtsp: str = Field(description="RTSP URL (with `?token=` when security is on).")
    webrtc: str | None = Field(description="WebRTC page URL (null when WebRTC is off).")
    hls: str | None = Field(description="HLS URL (null when HLS is off).")


class CompatCamera(BaseModel):
    device: str = Field(description="The device as given (get_camera_status), else the camera id.")
    camera: str | None = Field(None, description="Camera id (null for an unknown device).")
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


class UnknownDeviceStatus(BaseModel):
    """get_camera_status of a device that does not exist (or is outside the caller's scope)."""

    device: str = Field(description="The device as given.")
    camera: None = Field(None, description="null: no such camera.")
    status: Literal["DISCONNECTED"] = "DISCONNECTED"
    name: str = Field("", description="Empty: no such camera.")
    resolution: str = ""
    fps: int = 0
    streams: dict[str, str] = Field(default_factory=dict, description="Empty: nothing to play.")
    metrics: CompatMetrics
    capabilities: CompatCapabilities
    error: str = Field(description="Why: 'camera not found'.")


class DeviceParams(Params):
    device: str = Field(
        min_length=1,
        max_length=128,
        description=(
            "Camera id, or the established names cameraN / /dev/videoN (N-th camera by creation order, "
            "from 0, among the cameras the caller may see)."
        ),
    )


def _compat(api: CameraApi, ctx: CallContext, camera: Camera, device: str | None = None) -> CompatCamera:
    svc = api.cameras
    payload = svc.compat_status_payload(camera, svc.status(camera.id), ctx.connection.identity)
    payload["device"] = device or camera.id
    payload["camera"] = camera.id
    return CompatCamera.model_validate(payload)


def _lookup(api: CameraApi, ctx: CallContext, device: str) -> Camera | None:
    """The camera `device` names, if it exists and the caller may see it."""
    svc = api.cameras
    try:
        camera = svc.get_cached(svc.resolve_id(device, ctx.scope.sees))
    except NotFound:
        return None
    return camera if ctx.scope.sees(camera) else None


@router.method(scope=CameraScope.CAMERAS, role=Role.VIEWER, compat=True)
async def get_camera_list(api: CameraApi, ctx: CallContext) -> CameraListResult:
    """All cameras in the established protocol's shape (compatibility alias of list_cameras).

    Role: viewer. Stream URLs carry a fresh stream token for the caller (security on).
    """
    svc = api.cameras
    cams = [_compat(api, ctx, c) for c in svc.cameras() if ctx.scope.sees(c)]
    return CameraListResult(
        cameras=cams, total=len(cams), connected=sum(1 for c in cams if c.state == CameraStatus.ONLINE)
    )


@router.method(scope=CameraScope.CAMERAS, role=Role.VIEWER, compat=True, errors=(ErrorCode.INVALID_PARAMS,))
async def get_camera_status(
    api: CameraApi, ctx: CallContext, params: DeviceParams
) -> CameraStatusResult | UnknownDeviceStatus:
    """One camera's status and stream metrics (compatibility alias of get_camera).

    Role: viewer. `device` accepts our ids, cameraN and /dev/videoN and is echoed as given (`camera` is
    our id). As in the established protocol, an unknown device is a result with status DISCONNECTED
    (and `error`), not an error.
    """
    camera = _lookup(api, ctx, params.device)
    if camera is None:
        return UnknownDeviceStatus(
            device=params.device,
            metrics=CompatMetrics(bytes_sent=0, readers=0, uptime=0),
            capabilities=CompatCapabilities(formats=[], resolutions=[]),
            error="camera not found",
        )
    info = api.cameras.status(camera.id)
    base = _compat(api, ctx, camera, params.device)
    uptime = int(time.time() - info.online_since) if info.online_since and info.streaming else 0
    return CameraStatusResult(
        **base.model_dump(),
        metrics=CompatMetrics(bytes_sent=info.bytes_sent, readers=info.readers, uptime=uptime),
        capabilities=CompatCapabilities(
            formats=[info.codec] if info.codec else [],
            resolutions=[info.resolution] if info.resolution else [],
        ),
    )


class CameraCapabilities(BaseModel):
    device: str = Field(description="The device as given.")
    camera: str = Field(description="Camera id.")
    formats: list[str] = Field(description="Video codec(s) seen (e.g. H264).")
    resolutions: list[str] = Field(description="Resolution(s) seen ('WIDTHxHEIGHT').")
    fps_options: list[int] = Field(description="Frame rate(s) measured.")
    validation_status: Literal["confirmed", "provisional", "none"] = Field(
        description="confirmed: measured from the live stream now; provisional: seen earlier (camera "
        "not streaming now); none: never seen."
    )


@router.method(scope=CameraScope.CAMERAS, role=Role.VIEWER, compat=True, errors=(ErrorCode.NOT_FOUND,))
async def get_camera_capabilities(
    api: CameraApi, ctx: CallContext, params: DeviceParams
) -> CameraCapabilities:
    """Formats, resolutions and frame rates of a camera, as measured from its stream (compat).

    Role: viewer. Unknown device (or outside the caller's scope): NOT_FOUND.
    """
    camera = _lookup(api, ctx, params.device)
    if camera is None:
        raise not_found("camera", params.device)
    info = api.cameras.status(camera.id)
    seen = bool(info.codec or info.resolution)
    state: Literal["confirmed", "provisional", "none"] = (
        "confirmed" if seen and info.streaming else "provisional" if seen else "none"
    )
    return CameraCapabilities(
        device=params.device,
        camera=camera.id,
        formats=[info.codec] if info.codec else [],
        resolutions=[info.resolution] if info.resolution else [],
        fps_options=[round(info.fps)] if info.fps else [],
        validation_status=state,
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
    "about a second; with security on, each connection's stream URLs carry its own fresh stream token).",
    compat=True,
)

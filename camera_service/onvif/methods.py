"""JSON-RPC methods of the ONVIF domain: discover_cameras, import_onvif_camera, ptz, start/stop_patrol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

from camera_service.auth.roles import Role
from camera_service.cameras.models import Camera
from camera_service.cameras.ports import CameraDirectory
from camera_service.core.types import JsonObject
from camera_service.onvif import rule_action  # noqa: F401  (registers the ptz_preset rule action)
from camera_service.onvif.discovery import DiscoveredDevice
from camera_service.onvif.models import OnvifDeviceData
from camera_service.onvif.service import OnvifService
from camera_service.rpc.context import CallContext
from camera_service.rpc.errors import ErrorCode, RpcError, invalid_params, not_found
from camera_service.rpc.registry import MethodRegistry, Params
from camera_service.rpc.scope import CameraScope

router = MethodRegistry(tag="onvif")
router.notification(
    "discovery.found",
    DiscoveredDevice,
    "A device answered the caller's running discover_cameras probe (one per device).",
)

ONVIF_ERRORS = (
    ErrorCode.NOT_SUPPORTED,
    ErrorCode.UPSTREAM_ERROR,
    ErrorCode.CAMERA_UNAVAILABLE,
    ErrorCode.TIMEOUT,
)


@dataclass(frozen=True)
class OnvifApi:
    """What the ONVIF methods need (bound in app.py)."""

    onvif: OnvifService
    cameras: CameraDirectory


async def _camera(api: OnvifApi, ctx: CallContext, ident: str) -> Camera:
    """The camera, in the caller's scope, with an ONVIF endpoint (else NOT_FOUND / NOT_SUPPORTED)."""
    cameras = api.cameras
    camera = await cameras.get(cameras.resolve_id(ident, ctx.scope.sees))
    if not ctx.scope.sees(camera):
        raise not_found("camera", ident)
    if camera.onvif is None or not (camera.onvif.xaddr or camera.onvif.host):
        raise RpcError(
            ErrorCode.NOT_SUPPORTED,
            "not supported by this camera",
            {"capability": "onvif", "camera": camera.id},
        )
    return camera


# ---------------------------------------------------------------------------------------------- discovery
class DiscoverParams(Params):
    timeout_s: float | None = Field(
        None, ge=0.2, le=30.0, description="How long to listen (default from config)."
    )
    interface: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description=(
            "Interface name or IPv4 address to multicast on. Without it, multicast uses the configured "
            "interface, and is skipped when `hosts` are given."
        ),
    )
    hosts: list[str] | None = Field(
        None,
        max_length=256,
        description=(
            "Unicast targets: `10.0.0.5`, `10.0.0.5:3702`, `cam.local`, `10.0.0.0/28` or `10.0.0.5-10.0.0.9`."
        ),
    )


class DiscoverResult(BaseModel):
    devices: list[DiscoveredDevice] = Field(description="Every device that answered.")
    multicast: bool = Field(description="Whether a multicast probe was sent.")
    unicast_targets: int = Field(description="How many addresses were probed by unicast.")


@router.method(role=Role.ADMIN, errors=(ErrorCode.INVALID_PARAMS,))
async def discover_cameras(api: OnvifApi, ctx: CallContext, params: DiscoverParams) -> DiscoverResult:
    """Find ONVIF devices with WS-Discovery (multicast and/or unicast probes).

    Each device is also sent to the caller as a `discovery.found` notification as soon as it answers,
    and published on the event bus as `discovery.found`. `registered` marks devices a camera already uses.
    """
    conn = ctx.connection

    def push(device: DiscoveredDevice) -> None:
        conn.notify("discovery.found", device.model_dump(mode="json"))

    devices, multicast, targets = await api.onvif.discover(
        timeout_s=params.timeout_s, interface=params.interface, hosts=params.hosts, on_found=push
    )
    return DiscoverResult(devices=devices, multicast=multicast, unicast_targets=targets)


# ---------------------------------------------------------------------------------------------- import
class ImportParams(Params):
    xaddr: str = Field(
        min_length=1,
        max_length=2048,
        description=(
            "Device service URL (`http://host[:port]/onvif/device_service`, from discover_cameras) "
            "or host[:port]."
        ),
    )
    user: str | None = Field(None, max_length=255, description="ONVIF user name.")
    password: str | None = Field(None, max_length=1024, description="ONVIF password (stored encrypted).")
    profile: str | None = Field(None, max_length=255, description="Media profile token (default: the first).")
    id: str | None = Field(
        None,
        pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",
        description=(
            "Camera id to create or update. Default: the camera already using this device, else a new id "
            "from the name/model."
        ),
    )
    name: str | None = Field(None, min_length=1, max_length=200, description="Display name.")


class ImportResult(BaseModel):
    camera: str = Field(description="Id of the created/updated camera.")
    created: bool = Field(description="false when an existing camera was updated.")
    name: str
    source: str = Field(description="RTSP source taken from the chosen profile (no credentials).")
    onvif: OnvifDeviceData = Field(description="What the device reported (also kept in metadata.onvif).")


@router.method(
    role=Role.ADMIN, mutating=True, errors=(ErrorCode.INVALID_PARAMS, ErrorCode.CONFLICT, *ONVIF_ERRORS)
)
async def import_onvif_camera(api: OnvifApi, ctx: CallContext, params: ImportParams) -> ImportResult:
    """Add (or update) a camera from its ONVIF device: profiles, stream/snapshot URIs, PTZ ranges.

    Wrong credentials give UPSTREAM_ERROR with `data.reason` "auth_failed"; an unreachable device
    CAMERA_UNAVAILABLE; no answer within the call timeout TIMEOUT. The camera's clock offset is
    compensated for WS-Security.
    """
    try:
        from camera_service.onvif.client import parse_xaddr

        parse_xaddr(params.xaddr)
    except ValueError as exc:
        raise invalid_params("xaddr", str(exc)) from None
    camera, created = await api.onvif.import_camera(
        xaddr=params.xaddr,
        user=params.user,
        password=params.password,
        profile=params.profile,
        camera_id=params.id,
        name=params.name,
    )
    return ImportResult(
        camera=camera.id,
        created=created,
        name=camera.name,
        source=camera.source,
        onvif=OnvifDeviceData.model_validate(camera.metadata.get("onvif") or {}),
    )


# ---------------------------------------------------------------------------------------------- PTZ
PtzAction = Literal[
    "continuous_move",
    "relative_move",
    "absolute_move",
    "stop",
    "home",
    "goto_preset",
    "set_preset",
    "remove_preset",
    "get_presets",
    "get_status",
]


class PtzParams(Params):
    camera: str = Field(min_length=1, max_length=64, description="Camera id (or cameraN).")
    action: PtzAction = Field(description="What to do.")
    pan: float | None = Field(
        None,
        ge=-1e6,
        le=1e6,
        description=(
            "continuous_move: pan speed; relative_move: pan step; absolute_move: pan position. "
            "Checked against the camera's reported range."
        ),
    )
    tilt: float | None = Field(None, ge=-1e6, le=1e6, description="Tilt speed/step/position (as pan).")
    zoom: float | None = Field(None, ge=-1e6, le=1e6, description="Zoom speed/step/position (as pan).")
    timeout_s: float | None = Field(
        None,
        gt=0,
        le=600,
        description=(
            "continuous_move: the service stops the move after this many seconds "
            "(default 1; also on disconnect)."
        ),
    )
    preset: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description=(
            "goto_preset/remove_preset: preset token or name; set_preset: token to overwrite (optional)."
        ),
    )
    name: str | None = Field(None, min_length=1, max_length=64, description="set_preset: the preset's name.")


class PtzResult(BaseModel):
    camera: str
    action: str
    result: dict[str, Any] | list[dict[str, Any]] = Field(
        description=(
            "Action-specific: {moving, timeout_s} | {ok} | {ok, preset[, name]} | presets list "
            "[{token, name, pan, tilt, zoom}] | status {pan, tilt, zoom, moving, pan_tilt_status, "
            "zoom_status, utc_time, continuous_move_active, patrol_active}."
        )
    )


@router.method(
    scope=CameraScope.CAMERAS,
    role=Role.OPERATOR,
    mutating=True,
    errors=(ErrorCode.INVALID_PARAMS, ErrorCode.NOT_FOUND, *ONVIF_ERRORS),
)
async def ptz(api: OnvifApi, ctx: CallContext, params: PtzParams) -> PtzResult:
    """Pan/tilt/zoom a camera: moves, stop, home, presets, status.

    Values outside the camera's reported ranges are refused (INVALID_PARAMS) before anything is sent.
    Commands to one camera run one at a time. A continuous move always ends: after `timeout_s`, or
    at once when the calling connection closes. Cameras without ONVIF/PTZ give NOT_SUPPORTED.
    """
    camera = await _camera(api, ctx, params.camera)
    ctl = api.onvif.ptz
    p = params
    result: JsonObject | list[JsonObject]
    match p.action:
        case "continuous_move":
            result = await ctl.continuous_move(
                camera, p.pan, p.tilt, p.zoom, timeout_s=p.timeout_s, connection_id=ctx.connection.id
            )
        case "relative_move":
            result = await ctl.relative_move(camera, p.pan, p.tilt, p.zoom)
        case "absolute_move":
            result = await ctl.absolute_move(camera, p.pan, p.tilt, p.zoom)
        case "stop":
            result = await ctl.stop(camera)
        case "home":
            result = await ctl.home(camera)
        case "goto_preset":
            result = await ctl.goto_preset(camera, _required(p.preset, "preset"))
        case "set_preset":
            result = await ctl.set_preset(camera, _required(p.name, "name"), p.preset)
        case "remove_preset":
            result = await ctl.remove_preset(camera, _required(p.preset, "preset"))
        case "get_presets":
            result = await ctl.presets(camera)
        case "get_status":
            result = await ctl.status(camera)
    return PtzResult(camera=camera.id, action=p.action, result=result)


def _required(value: str | None, field: str) -> str:
    if value is None:
        raise invalid_params(field, "required for this action", "missing")
    return value


class StartPatrolParams(Params):
    camera: str = Field(min_length=1, max_length=64, description="Camera id (or cameraN).")
    presets: list[str] = Field(min_length=1, max_length=256, description="Preset tokens or names, in order.")
    dwell_s: float = Field(ge=0.1, le=3600, description="Seconds to stay at each preset.")
    loops: int | None = Field(None, ge=1, le=100_000, description="Rounds to run (default: until stopped).")


class PatrolResult(BaseModel):
    camera: str
    patrolling: bool
    presets: list[str] = Field(default_factory=list, description="Resolved preset tokens.")
    replaced: bool = Field(False, description="start_patrol: a running patrol was replaced.")
    stopped: bool = Field(False, description="stop_patrol: a running patrol was stopped.")


@router.method(
    scope=CameraScope.CAMERAS,
    role=Role.OPERATOR,
    mutating=True,
    errors=(ErrorCode.INVALID_PARAMS, ErrorCode.NOT_FOUND, *ONVIF_ERRORS),
)
async def start_patrol(api: OnvifApi, ctx: CallContext, params: StartPatrolParams) -> PatrolResult:
    """Visit presets in turn in the background, `dwell_s` at each, `loops` times or until stopped.

    Every preset must exist (NOT_FOUND otherwise). A manual PTZ move or stop_patrol ends it.
    """
    camera = await _camera(api, ctx, params.camera)
    svc = api.onvif
    if len(params.presets) > svc.cfg.patrol_max_presets:
        raise invalid_params("presets", f"at most {svc.cfg.patrol_max_presets} presets")
    out = await svc.ptz.start_patrol(camera, params.presets, params.dwell_s, params.loops)
    return PatrolResult(camera=camera.id, **out)


class CameraParams(Params):
    camera: str = Field(min_length=1, max_length=64, description="Camera id (or cameraN).")


@router.method(
    scope=CameraScope.CAMERAS,
    role=Role.OPERATOR,
    mutating=True,
    errors=(ErrorCode.NOT_FOUND, ErrorCode.NOT_SUPPORTED),
)
async def stop_patrol(api: OnvifApi, ctx: CallContext, params: CameraParams) -> PatrolResult:
    """Stop the camera's patrol (`stopped` says whether one was running)."""
    camera = await _camera(api, ctx, params.camera)
    stopped = await api.onvif.ptz.stop_patrol(camera.id)
    return PatrolResult(camera=camera.id, patrolling=False, stopped=stopped)

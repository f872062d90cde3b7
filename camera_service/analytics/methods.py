"""JSON-RPC methods of analytics: per-camera settings, status, and the detection search."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import AliasChoices, BaseModel, Field, ValidationError

from camera_service.analytics.models import CameraAnalyticsSettings, MotionSettings, TamperSettings, Zone
from camera_service.analytics.plugins import PluginManifest
from camera_service.analytics.service import AnalyticsService
from camera_service.analytics.store import DetectionQuery, DetectionRecord
from camera_service.auth.roles import Role
from camera_service.cameras.models import Camera
from camera_service.cameras.ports import CameraDirectory
from camera_service.rpc.context import CallContext
from camera_service.rpc.errors import ErrorCode, RpcError, invalid_params, not_found
from camera_service.rpc.paging import check_page_window
from camera_service.rpc.registry import MethodRegistry, Params
from camera_service.rpc.scope import CameraScope
from camera_service.storage.keyset import decode_cursor

router = MethodRegistry(tag="analytics")


@dataclass(frozen=True)
class AnalyticsApi:
    """What the analytics methods need (bound in app.py)."""

    analytics: AnalyticsService
    cameras: CameraDirectory


async def require_camera_access(api: AnalyticsApi, ctx: CallContext, camera_id: str) -> Camera:
    """The camera if the caller may see it; NOT_FOUND (same as an unknown id) otherwise."""
    camera = await api.cameras.get(camera_id)
    if not ctx.scope.sees(camera):
        raise not_found("camera", camera_id)
    return camera


class CameraRef(Params):
    camera: str = Field(min_length=1, max_length=128, description="Camera id.")


class SetAnalyticsParams(Params):
    """Fields not given keep their current value (or the config default)."""

    camera: str = Field(min_length=1, max_length=128, description="Camera id.")
    enabled: bool | None = Field(None, description="Analyse this camera.")
    detectors: list[str] | None = Field(None, max_length=32, description="Plugin ids to run.")
    fps: float | None = Field(None, gt=0.0, le=30.0, description="Frames sampled per second.")
    keyframes_only: bool | None = Field(None, description="Decode keyframes only.")
    stream: str | None = Field(None, max_length=200, description="MediaMTX path to analyse (substream).")
    labels: list[str] | None = Field(None, max_length=100, description="Object classes that become events.")
    min_score: float | None = Field(None, ge=0.0, le=1.0, description="Per-detection minimum score.")
    threshold: float | None = Field(None, ge=0.0, le=1.0, description="Confirmation threshold (median).")
    class_thresholds: dict[str, float] | None = Field(None, description="Per-class confirmation threshold.")
    min_duration_s: float | None = Field(None, ge=0.0, le=3600.0, description="Minimum time seen.")
    plates_full_frame: bool | None = Field(None, description="Plates: also read the whole frame.")
    zones: list[Zone] | None = Field(None, max_length=64, description="Zones and motion masks.")
    motion: MotionSettings | None = Field(None, description="Motion gate settings.")
    tamper: TamperSettings | None = Field(None, description="Tamper detection settings.")


class CameraAnalytics(BaseModel):
    camera: str
    enabled: bool
    settings: CameraAnalyticsSettings
    running: bool = Field(description="A sampler is attached to the camera's stream.")
    connected: bool = Field(description="The sampler is reading the stream now.")
    error: str | None = Field(None, description="Why the stream cannot be read, if it cannot.")
    frames: dict[str, int] = Field(description="sampled, gated, detected, dropped, motion.")
    tracks: dict[str, int] = Field(description="Tracked objects now (and how many are stationary).")
    active_tamper: list[str] = Field(description="Tamper conditions in force.")


def _view(svc: AnalyticsService, camera: str) -> CameraAnalytics:
    enabled, settings = svc.effective(camera)
    p = svc.pipelines.get(camera)
    c = p.counters if p is not None else None
    return CameraAnalytics(
        camera=camera,
        enabled=enabled,
        settings=settings,
        running=p is not None,
        connected=bool(p and p.sampler.connected),
        error=p.sampler.error if p is not None else None,
        frames={
            "sampled": c.sampled if c else 0,
            "gated": c.gated if c else 0,
            "detected": c.detected if c else 0,
            "dropped": c.dropped if c else 0,
            "motion": c.motion if c else 0,
        },
        tracks=p.tracker.counts() if p is not None else {"tracks": 0, "stationary": 0},
        active_tamper=sorted(p.tamper.active) if p is not None and p.tamper is not None else [],
    )


@router.method(
    scope=CameraScope.CAMERAS,
    role=Role.OPERATOR,
    mutating=True,
    errors=(ErrorCode.NOT_FOUND, ErrorCode.INVALID_PARAMS),
)
async def set_analytics(api: AnalyticsApi, ctx: CallContext, params: SetAnalyticsParams) -> CameraAnalytics:
    """Enable, disable or tune analytics of one camera (detectors, fps, zones, thresholds, motion, tamper).

    Unknown or broken plugin ids in `detectors` are INVALID_PARAMS. The change applies at once
    (the camera's sampler restarts; its tracks start afresh) and survives restarts.
    """
    camera = await require_camera_access(api, ctx, params.camera)
    svc = api.analytics
    enabled, current = svc.effective(camera.id)
    changes = params.model_dump(exclude={"camera", "enabled"}, exclude_unset=True)
    try:
        settings = CameraAnalyticsSettings.model_validate(current.model_dump() | changes)
    except ValidationError as exc:
        err = exc.errors(include_url=False, include_input=False)[0]
        raise invalid_params(".".join(str(p) for p in err["loc"]), err["msg"]) from exc
    unknown = svc.unknown_detectors(settings.detectors)
    if unknown:
        raise RpcError(
            ErrorCode.INVALID_PARAMS,
            f"unknown or unusable detector(s): {', '.join(unknown)}",
            {"field": "detectors", "unknown": [*unknown], "available": [*sorted(svc.discovery.manifests)]},
        )
    await svc.configure(camera.id, params.enabled if params.enabled is not None else enabled, settings)
    return _view(svc, camera.id)


@router.method(scope=CameraScope.CAMERAS, role=Role.VIEWER, errors=(ErrorCode.NOT_FOUND,))
async def get_analytics(api: AnalyticsApi, ctx: CallContext, params: CameraRef) -> CameraAnalytics:
    """A camera's analytics settings (its own or the defaults) with live counters and tracks."""
    camera = await require_camera_access(api, ctx, params.camera)
    return _view(api.analytics, camera.id)


class PluginInfo(BaseModel):
    manifest: PluginManifest
    error: str | None = Field(None, description="Why it cannot run (import, model, load), if so.")


class PluginList(BaseModel):
    plugins: list[PluginInfo]
    errors: dict[str, str] = Field(description="Entry points that could not be loaded at all.")


@router.method(role=Role.VIEWER)
async def list_analytics_plugins(api: AnalyticsApi, ctx: CallContext) -> PluginList:
    """Built-in and third-party analytics plugins with their manifests and load errors."""
    svc = api.analytics
    worker_errors = svc.queue.plugin_errors if svc.queue is not None else {}
    return PluginList(
        plugins=[
            PluginInfo(manifest=m, error=worker_errors.get(pid))
            for pid, m in sorted(svc.discovery.manifests.items())
        ],
        errors={k: v for k, v in svc.discovery.errors.items() if k not in svc.discovery.manifests},
    )


class SearchDetectionsParams(Params):
    label: str | None = Field(
        None,
        max_length=64,
        validation_alias=AliasChoices("label", "class"),
        description="Class (`class` is accepted too): person, car, face, plate, ...",
    )
    camera: str | None = Field(None, max_length=128, description="Only this camera.")
    start: datetime | None = Field(None, description="From this time (ISO 8601 or unix seconds), inclusive.")
    end: datetime | None = Field(None, description="Before this time (ISO 8601 or unix seconds).")
    min_score: float | None = Field(None, ge=0.0, le=1.0, description="At least this score.")
    zone: str | None = Field(None, max_length=64, description="Only objects in this zone.")
    plate: str | None = Field(
        None, min_length=1, max_length=32, description="Plate text contains this (case and spaces ignored)."
    )
    cursor: str | None = Field(None, max_length=200, description="next_cursor of the previous page.")
    limit: int = Field(100, ge=1, le=1000, description="Page size.")


class DetectionPage(BaseModel):
    detections: list[DetectionRecord] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")


@router.method(
    scope=CameraScope.CAMERAS, role=Role.VIEWER, errors=(ErrorCode.NOT_FOUND, ErrorCode.INVALID_PARAMS)
)
async def search_detections(
    api: AnalyticsApi, ctx: CallContext, params: SearchDetectionsParams
) -> DetectionPage:
    """Confirmed detections (objects, faces, plates), newest first, within the caller's cameras."""
    if params.camera is not None:
        await require_camera_access(api, ctx, params.camera)
    check_page_window(params.cursor, params.start, params.end, decode_cursor)
    q = DetectionQuery(
        label=params.label,
        camera=params.camera,
        cameras=ctx.scope.camera_ids,
        start=params.start.timestamp() if params.start else None,
        end=params.end.timestamp() if params.end else None,
        min_score=params.min_score,
        zone=params.zone,
        plate=params.plate,
        cursor=params.cursor,
        limit=params.limit,
    )
    rows, cursor = await api.analytics.search(q)
    return DetectionPage(detections=rows, next_cursor=cursor)

"""JSON-RPC methods: recording control, the segment archive and the timeline (clips: clip_methods.py).

Shared native/compat names take both parameter shapes (see schemas.py and docs/adr/0008-recordings-
native-recorder-shared-compat-methods.md); results are supersets carrying the compat fields.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from camera_service.analytics.ports import ActivitySource
from camera_service.auth.roles import Role
from camera_service.recordings import archive, compat_sessions
from camera_service.recordings.policy import parse_policy
from camera_service.recordings.schemas import (
    DeleteResult,
    FileRef,
    ListRecordingsParams,
    RecordingFile,
    RecordingList,
    RecordingStatus,
    RequiredCameraRef,
    SessionFile,
    SessionResult,
    SetPolicyParams,
    StartRecordingParams,
    Timeline,
    TimelineActivity,
    TimelineParams,
    TimeRange,
    as_utc,
    files_url,
    iso,
    recording_file,
)
from camera_service.rpc.context import CallContext
from camera_service.rpc.errors import (
    CALL_FAILURES,
    ErrorCode,
    RpcError,
    invalid_params,
    not_found,
    to_rpc_error,
)
from camera_service.rpc.registry import MethodRegistry
from camera_service.rpc.scope import CameraScope

if TYPE_CHECKING:
    from camera_service.recordings.models import RecordingSession
    from camera_service.recordings.service import RecordingsService

router = MethodRegistry(tag="recordings")
_STOP_SIZE_WAIT_S = 3.0  # stop_recording waits this long at most for MediaMTX to close the last segment


@dataclass(frozen=True)
class RecordingsApi:
    """What the recordings, snapshot and storage methods need (bound in app.py)."""

    recordings: RecordingsService
    download_urls: str  # settings.compat.download_urls: "by_shape" or "files"
    activity: ActivitySource | None = None  # get_timeline's motion/object marks (analytics)


async def camera_of(api: RecordingsApi, ctx: CallContext, ref: str) -> Any:
    """Resolve an id / compat device and check the caller's camera scope (out of scope = NOT_FOUND)."""
    cameras = api.recordings.cameras
    camera = await cameras.get(cameras.resolve_id(ref, ctx.scope.sees))
    if not ctx.scope.sees(camera):
        raise not_found("camera", ref)
    return camera


def file_url(api: RecordingsApi, ctx: CallContext, kind: str, rel: str, old_shape: bool) -> str:
    """download_url: `/files/<kind>/<name>` for old-shape calls (docs/adr/0012), else the signed URL."""
    if old_shape or api.download_urls == "files":
        return files_url(kind, rel)
    return api.recordings.download_url(kind, rel, ctx.connection.identity)


async def _session_result(
    api: RecordingsApi, ctx: CallContext, s: RecordingSession, device: str | None, status: str
) -> SessionResult:
    svc = api.recordings
    size = None
    if s.stopped_at is not None:
        size = await compat_sessions.recorded_bytes(svc, s, wait_s=_STOP_SIZE_WAIT_S)
    end = s.stopped_at
    return SessionResult(
        camera=s.camera,
        device=device or s.camera,
        session_id=s.id,
        status=status,
        filename=await compat_sessions.session_name(svc, s),
        start_time=iso(s.started_at),
        end_time=iso(end),
        duration=round(end - s.started_at, 3) if end is not None else s.duration_s,
        file_size=size,
        session=s,
    )


@router.method(
    scope=CameraScope.CAMERAS,
    role=Role.OPERATOR,
    mutating=True,
    compat=True,
    errors=(
        ErrorCode.NOT_FOUND,
        ErrorCode.CONFLICT,
        ErrorCode.STORAGE_ERROR,
        ErrorCode.MEDIAMTX_UNAVAILABLE,
        ErrorCode.INVALID_STATE,
    ),
)
async def start_recording(
    api: RecordingsApi, ctx: CallContext, params: StartRecordingParams
) -> SessionResult:
    """Start an on-demand recording of a camera (timed with a duration, else until stop_recording).

    Native `{camera, duration_s?}` or compat `{device, duration|duration_seconds|duration_minutes|
    duration_hours}`; giving two duration fields, or camera and device naming different cameras, is
    INVALID_PARAMS. Already recording: CONFLICT with the current session in `data.current`. Free space
    below a low-disk block threshold (retention `block_free_percent` / `block_free_gb`): STORAGE_ERROR
    with `data.reason` "low_disk" (running recordings go on). A timed recording stops by itself.
    No viewer is needed: while recording, an on-demand pull camera's source is kept pulled and a local
    device's publisher runs for the whole recording; both return to on-demand when it stops.
    """
    svc = api.recordings
    camera = await camera_of(api, ctx, params.ref or "")
    seconds = params.seconds
    if seconds is not None and seconds > svc.cfg.max_session_s:
        raise invalid_params("duration_s", f"at most {svc.cfg.max_session_s:g} seconds")
    who = ctx.connection.identity.subject if ctx.connection.identity else None
    session = await svc.start_recording(camera.id, seconds, who, filename=params.filename)
    return await _session_result(api, ctx, session, params.device, "STARTED")


@router.method(
    scope=CameraScope.CAMERAS,
    role=Role.OPERATOR,
    mutating=True,
    compat=True,
    errors=(ErrorCode.NOT_FOUND, ErrorCode.INVALID_STATE, ErrorCode.MEDIAMTX_UNAVAILABLE),
)
async def stop_recording(api: RecordingsApi, ctx: CallContext, params: RequiredCameraRef) -> SessionResult:
    """Stop the camera's on-demand recording (`{camera}` or compat `{device}`); INVALID_STATE if none runs.

    A policy (continuous/scheduled/events) keeps recording by itself after the session stops.
    """
    camera = await camera_of(api, ctx, params.ref or "")
    session = await api.recordings.stop_recording(camera.id)
    return await _session_result(api, ctx, session, params.device, "STOPPED")


@router.method(scope=CameraScope.CAMERAS, role=Role.VIEWER, errors=(ErrorCode.NOT_FOUND,))
async def get_recording_status(
    api: RecordingsApi, ctx: CallContext, params: RequiredCameraRef
) -> RecordingStatus:
    """Whether a camera is recording now, why (session or policy), its session and policy."""
    svc = api.recordings
    camera = await camera_of(api, ctx, params.ref or "")
    session = svc.recorder.session(camera.id)
    recording = svc.recorder.is_recording(camera.id)
    reason = "session" if session else ("policy" if recording else None)
    return RecordingStatus(
        camera=camera.id,
        recording=recording,
        reason=reason,
        session=session,
        last_session=await svc.archive.last_session(camera.id),
        policy=svc.recorder.policy(camera.id).model_dump(mode="json"),
    )


@router.method(
    scope=CameraScope.CAMERAS,
    role=Role.OPERATOR,
    mutating=True,
    errors=(ErrorCode.NOT_FOUND, ErrorCode.INVALID_PARAMS),
)
async def set_recording_policy(
    api: RecordingsApi, ctx: CallContext, params: SetPolicyParams
) -> RecordingStatus:
    """Set a camera's recording policy: off, continuous, scheduled (weekly windows) or events (pre-buffer)."""
    svc = api.recordings
    camera = await camera_of(api, ctx, params.camera)
    policy = parse_policy(params.policy)
    updated = await svc.cameras.update_recording_policy(
        camera.id, policy.model_dump(mode="json", exclude_none=True)
    )
    await svc.recorder.refresh(updated)
    status: RecordingStatus = await get_recording_status(api, ctx, RequiredCameraRef(camera=camera.id))
    return status


def _encode_cursor(start: float, seg_id: int) -> str:
    return base64.urlsafe_b64encode(f"{start!r}:{seg_id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[float, int]:
    try:
        start, seg_id = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
        return float(start), int(seg_id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid_params("cursor", "not a cursor returned by list_recordings") from exc


@router.method(scope=CameraScope.CAMERAS, role=Role.VIEWER, compat=True, errors=(ErrorCode.NOT_FOUND,))
async def list_recordings(
    api: RecordingsApi, ctx: CallContext, params: ListRecordingsParams
) -> RecordingList:
    """Recorded segments, newest first, filtered by camera and time; cursor or compat offset paging.

    Each file carries a signed short-lived `download_url`.
    """
    svc = api.recordings
    camera_id = (await camera_of(api, ctx, params.ref)).id if params.ref else None
    cameras = ctx.scope.camera_ids
    start = as_utc(params.start).timestamp() if params.start else None
    end = as_utc(params.end).timestamp() if params.end else None
    before = _decode_cursor(params.cursor) if params.cursor else None
    offset = params.offset or 0
    old_shape = params.device is not None or "offset" in params.model_fields_set
    segs, total = await svc.archive.segments_page(
        camera_id, start, end, limit=params.limit + 1, offset=offset, before=before, cameras=cameras
    )
    more = len(segs) > params.limit
    segs = segs[: params.limit]
    return RecordingList(
        files=[recording_file(s, file_url(api, ctx, "recordings", s.path, old_shape)) for s in segs],
        total=total,
        limit=params.limit,
        offset=offset,
        next_cursor=_encode_cursor(segs[-1].start, segs[-1].id) if more and segs else None,
    )


async def _segment(api: RecordingsApi, ctx: CallContext, params: FileRef) -> Any:
    seg_id = None
    if params.id is not None:
        try:
            seg_id = int(params.id)
        except ValueError:
            raise not_found("recording", str(params.id)) from None
    seg = await archive.find_segment(api.recordings, seg_id=seg_id, filename=params.filename)
    await camera_of(api, ctx, seg.camera)
    return seg


@router.method(scope=CameraScope.CAMERAS, role=Role.VIEWER, compat=True, errors=(ErrorCode.NOT_FOUND,))
async def get_recording_info(
    api: RecordingsApi, ctx: CallContext, params: FileRef
) -> RecordingFile | SessionFile:
    """One segment by `id` or compat `filename`: times, duration, size, codec, resolution, download URL.

    A compat `filename` also resolves a recording session's name as start/stop_recording returned it
    (the result then describes the whole session), and the old flat form `<camera>_<file>`. Compat
    `filename` answers download_url `/files/recordings/<name>` (relative; the route needs a token).
    """
    svc = api.recordings
    try:
        seg = await _segment(api, ctx, params)
    except CALL_FAILURES as failure:
        session = None
        if to_rpc_error(failure).code == ErrorCode.NOT_FOUND and params.filename is not None:
            session = await compat_sessions.find_session(svc, params.filename)
        if session is None:
            raise
        await camera_of(api, ctx, session.camera)
        return await compat_sessions.session_file(svc, session)
    return recording_file(seg, file_url(api, ctx, "recordings", seg.path, params.filename is not None))


@router.method(
    scope=CameraScope.CAMERAS,
    role=Role.OPERATOR,
    mutating=True,
    compat=True,
    errors=(ErrorCode.NOT_FOUND, ErrorCode.INVALID_STATE),
)
async def delete_recording(api: RecordingsApi, ctx: CallContext, params: FileRef) -> DeleteResult:
    """Delete one segment (`id` or compat `filename`); INVALID_STATE inside a locked clip's range."""
    seg = await _segment(api, ctx, params)
    await archive.delete_segment(api.recordings, seg)
    return DeleteResult(id=seg.id, filename=seg.path, deleted=True, message="recording deleted")


@router.method(
    scope=CameraScope.CAMERAS, role=Role.VIEWER, errors=(ErrorCode.NOT_FOUND, ErrorCode.INVALID_PARAMS)
)
async def get_timeline(api: RecordingsApi, ctx: CallContext, params: TimelineParams) -> Timeline:
    """Recorded ranges and gaps of a camera within [start, end] (from the segment index), with the
    analytics activity (motion periods, confirmed objects) of the window."""
    camera = await camera_of(api, ctx, params.ref or "")
    start, end = as_utc(params.start).timestamp(), as_utc(params.end).timestamp()
    if end <= start:
        raise invalid_params("end", "must be after start")
    ranges, gaps, segs = await archive.timeline(api.recordings, camera.id, start, end)
    activity = await api.activity.timeline_activity(camera.id, start, end) if api.activity else []

    def tr(a: float, b: float) -> TimeRange:
        return TimeRange(start=iso(a), end=iso(b), duration_s=round(b - a, 3))

    return Timeline(
        camera=camera.id,
        start=iso(start),
        end=iso(end),
        ranges=[tr(a, b) for a, b in ranges],
        gaps=[tr(a, b) for a, b in gaps],
        recorded_s=round(sum(b - a for a, b in ranges), 3),
        segments=len(segs),
        activity=[
            TimelineActivity(
                kind=a.kind, start=iso(a.start), end=iso(a.end), label=a.label, event_id=a.event_id
            )
            for a in activity
        ],
    )


__all__ = ["RpcError", "router"]

"""JSON-RPC methods of exported clips: export, list, get, delete, lock (scoped like every archive list)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from camera_service.auth.roles import Role
from camera_service.recordings import archive
from camera_service.recordings.clip_schemas import (
    ClipInfo,
    ClipList,
    ClipRef,
    ExportClipParams,
    ListClipsParams,
    LockClipParams,
    clip_info,
)
from camera_service.recordings.methods import RecordingsApi, camera_of
from camera_service.recordings.schemas import DeleteResult, as_utc
from camera_service.rpc.context import CallContext
from camera_service.rpc.errors import ErrorCode, invalid_params
from camera_service.rpc.registry import MethodRegistry
from camera_service.rpc.scope import CameraScope

if TYPE_CHECKING:
    from camera_service.recordings.models import Clip

router = MethodRegistry(tag="recordings")


def _clip_info(api: RecordingsApi, ctx: CallContext, clip: Clip) -> ClipInfo:
    svc = api.recordings
    ident = ctx.connection.identity
    thumb = svc.download_url("clips", clip.thumbnail, ident) if clip.thumbnail else None
    return clip_info(clip, svc.download_url("clips", clip.path, ident), thumb)


@router.method(
    scope=CameraScope.CAMERAS,
    role=Role.OPERATOR,
    mutating=True,
    errors=(
        ErrorCode.NOT_FOUND,
        ErrorCode.INVALID_PARAMS,
        ErrorCode.TIMEOUT,
        ErrorCode.MEDIAMTX_UNAVAILABLE,
        ErrorCode.UPSTREAM_ERROR,
    ),
)
async def export_clip(api: RecordingsApi, ctx: CallContext, params: ExportClipParams) -> ClipInfo:
    """Export [start, end] of a camera as one MP4 that plays across segment boundaries, with a thumbnail.

    Uses MediaMTX's playback server (format=mp4). A range ending in the future waits until recorded.
    """
    svc = api.recordings
    camera = await camera_of(api, ctx, params.ref or "")
    start, end = as_utc(params.start), as_utc(params.end)
    if end <= start:
        raise invalid_params("end", "must be after start")
    if (end - start).total_seconds() > 86_400:
        raise invalid_params("end", "a clip is at most 24 hours long")
    clip = await svc.export_range(camera.id, start, end, params.name, params.lock, kind="manual")
    return _clip_info(api, ctx, clip)


async def _clip(api: RecordingsApi, ctx: CallContext, clip_id: str) -> Clip:
    clip = await archive.find_clip(api.recordings, clip_id)
    await camera_of(api, ctx, clip.camera)
    return clip


@router.method(scope=CameraScope.CAMERAS, role=Role.VIEWER, errors=(ErrorCode.NOT_FOUND,))
async def list_clips(api: RecordingsApi, ctx: CallContext, params: ListClipsParams) -> ClipList:
    """Exported clips (manual and event), newest first."""
    svc = api.recordings
    camera_id = (await camera_of(api, ctx, params.ref)).id if params.ref else None
    cameras = ctx.scope.camera_ids  # security: page AND total count only the caller's cameras
    clips, total = await svc.archive.clips_page(
        camera_id, limit=params.limit, offset=params.offset, locked=params.locked, cameras=cameras
    )
    return ClipList(
        clips=[_clip_info(api, ctx, c) for c in clips], total=total, limit=params.limit, offset=params.offset
    )


@router.method(scope=CameraScope.CAMERAS, role=Role.VIEWER, errors=(ErrorCode.NOT_FOUND,))
async def get_clip(api: RecordingsApi, ctx: CallContext, params: ClipRef) -> ClipInfo:
    """One clip with its download and thumbnail URLs."""
    return _clip_info(api, ctx, await _clip(api, ctx, params.id))


@router.method(
    scope=CameraScope.CAMERAS,
    role=Role.OPERATOR,
    mutating=True,
    errors=(ErrorCode.NOT_FOUND, ErrorCode.INVALID_STATE),
)
async def delete_clip(api: RecordingsApi, ctx: CallContext, params: ClipRef) -> DeleteResult:
    """Delete a clip and its thumbnail; a locked clip must be unlocked first (INVALID_STATE)."""
    clip = await _clip(api, ctx, params.id)
    await archive.delete_clip(api.recordings, clip)
    return DeleteResult(id=clip.id, filename=clip.path, deleted=True, message="clip deleted")


@router.method(scope=CameraScope.CAMERAS, role=Role.OPERATOR, mutating=True, errors=(ErrorCode.NOT_FOUND,))
async def lock_clip(api: RecordingsApi, ctx: CallContext, params: LockClipParams) -> ClipInfo:
    """Lock (evidence: retention never deletes it or the segments it covers) or unlock a clip."""
    svc = api.recordings
    clip = await _clip(api, ctx, params.id)
    await svc.archive.set_clip_locked(clip.id, params.locked)
    return _clip_info(api, ctx, clip.model_copy(update={"locked": params.locked}))

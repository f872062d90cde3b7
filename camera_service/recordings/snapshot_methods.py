"""JSON-RPC methods of snapshots (shared native/compat names; results carry the compat fields)."""

from __future__ import annotations

from camera_service.auth.roles import Role
from camera_service.media.imaging import ImageFormat
from camera_service.recordings import archive
from camera_service.recordings.methods import RecordingsApi, camera_of, file_url
from camera_service.recordings.models import Snapshot
from camera_service.recordings.schemas import DeleteResult, FileRef, iso
from camera_service.recordings.snapshot_schemas import (
    ListSnapshotsParams,
    SnapshotFailed,
    SnapshotInfo,
    SnapshotList,
    TakeSnapshotParams,
    snapshot_info,
)
from camera_service.rpc.context import CallContext
from camera_service.rpc.errors import CALL_FAILURES, ErrorCode, to_rpc_error
from camera_service.rpc.registry import MethodRegistry
from camera_service.rpc.scope import CameraScope

router = MethodRegistry(tag="recordings")


def info(
    api: RecordingsApi, ctx: CallContext, snap: Snapshot, device: str | None = None, old_shape: bool = False
) -> SnapshotInfo:
    return snapshot_info(snap, file_url(api, ctx, "snapshots", snap.path, old_shape), device)


@router.method(
    scope=CameraScope.CAMERAS,
    role=Role.OPERATOR,
    mutating=True,
    compat=True,
    errors=(ErrorCode.NOT_FOUND, ErrorCode.CAMERA_UNAVAILABLE, ErrorCode.TIMEOUT, ErrorCode.STORAGE_ERROR),
)
async def take_snapshot(
    api: RecordingsApi, ctx: CallContext, params: TakeSnapshotParams
) -> SnapshotInfo | SnapshotFailed:
    """Take a JPEG/PNG snapshot of a camera's live stream and store it (`{camera}` or compat `{device}`).

    Decoded in-process (PyAV): the first call waits for the next keyframe; following calls within the
    warm period reuse the connected decoder. Offline camera: CAMERA_UNAVAILABLE; no frame within the
    timeout: TIMEOUT. `filename` names the file (sanitised, see the param). A call in the old shape
    (`device` without `camera`) that cannot take a picture answers the result `{status: "FAILED", error,
    error_code}` instead of an error, as the established protocol does.
    """
    fmt: ImageFormat = "png" if params.format == "png" else "jpeg"
    camera_id: str | None = None
    try:
        camera = await camera_of(api, ctx, params.ref or "")
        camera_id = camera.id
        snap = await api.recordings.take_snapshot(
            camera.id, fmt, params.quality, params.max_width, name=params.filename
        )
    except CALL_FAILURES as failure:
        if params.camera is not None or params.device is None:
            raise  # native shape: typed errors
        exc = to_rpc_error(failure)
        return SnapshotFailed(
            device=params.device,
            camera=camera_id,
            filename=params.filename,
            timestamp=iso(api.recordings.clock.time()),
            error=exc.message,
            error_code=exc.code,
            error_data=exc.data,
        )
    return info(api, ctx, snap, params.device, old_shape=params.device is not None and params.camera is None)


@router.method(scope=CameraScope.CAMERAS, role=Role.VIEWER, compat=True, errors=(ErrorCode.NOT_FOUND,))
async def list_snapshots(api: RecordingsApi, ctx: CallContext, params: ListSnapshotsParams) -> SnapshotList:
    """Stored snapshots, newest first (`{camera?, limit, offset}`), each with a signed download URL
    (compat `device`: the relative `/files/snapshots/<name>`, see config `compat.download_urls`)."""
    svc = api.recordings
    camera_id = (await camera_of(api, ctx, params.ref)).id if params.ref else None
    cameras = ctx.scope.camera_ids  # security: page AND total count only the caller's cameras
    snaps, total = await svc.archive.snapshots_page(
        camera_id, limit=params.limit, offset=params.offset, cameras=cameras
    )
    return SnapshotList(
        files=[info(api, ctx, s, old_shape=params.device is not None) for s in snaps],
        total=total,
        limit=params.limit,
        offset=params.offset,
    )


async def find(api: RecordingsApi, ctx: CallContext, params: FileRef) -> Snapshot:
    snap = await archive.find_snapshot(
        api.recordings, snap_id=None if params.id is None else str(params.id), filename=params.filename
    )
    await camera_of(api, ctx, snap.camera)
    return snap


@router.method(scope=CameraScope.CAMERAS, role=Role.VIEWER, errors=(ErrorCode.NOT_FOUND,))
async def get_snapshot(api: RecordingsApi, ctx: CallContext, params: FileRef) -> SnapshotInfo:
    """One snapshot by `id` (or `filename`) with its signed download URL."""
    return info(api, ctx, await find(api, ctx, params))


@router.method(
    scope=CameraScope.CAMERAS, role=Role.OPERATOR, mutating=True, compat=True, errors=(ErrorCode.NOT_FOUND,)
)
async def delete_snapshot(api: RecordingsApi, ctx: CallContext, params: FileRef) -> DeleteResult:
    """Delete a snapshot by `id` or compat `filename`."""
    snap = await find(api, ctx, params)
    await archive.delete_snapshot(api.recordings, snap)
    return DeleteResult(id=snap.id, filename=snap.path, deleted=True, message="snapshot deleted")

"""Compatibility-only names of the established protocol (camerarecorder.md §1) that have no native twin.

The shared names (start_recording, stop_recording, list_recordings, list_snapshots, get_recording_info,
delete_recording, delete_snapshot, get_storage_info, take_snapshot) are single methods accepting both
shapes; see schemas.py.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from camera_service.auth.roles import Role
from camera_service.recordings.methods import RecordingsApi
from camera_service.recordings.schemas import FileRef
from camera_service.recordings.snapshot_methods import find, info
from camera_service.recordings.snapshot_schemas import SnapshotInfo
from camera_service.rpc.context import CallContext
from camera_service.rpc.errors import ErrorCode
from camera_service.rpc.registry import MethodRegistry
from camera_service.rpc.scope import CameraScope

router = MethodRegistry(tag="recordings")


class RecordingStatusUpdate(BaseModel):
    device: str = Field(description="Camera id.")
    camera: str = Field(description="Camera id.")
    session_id: str = Field(description="Session id.")
    status: str = Field(description="STARTED or STOPPED.")
    filename: str = Field(description="Session label <camera>/<UTC start>.")
    duration: float | None = Field(description="Requested (STARTED) or recorded (STOPPED) seconds.")
    reason: str | None = Field(description="Why it stopped: requested, timer, error, camera_removed.")


class StorageStatusUpdate(BaseModel):
    level: str = Field(description="ok, warning or critical.")
    previous: str = Field(description="The level before.")
    free_percent: float
    free_bytes: int
    total_bytes: int


router.notification(
    "recording_status_update",
    RecordingStatusUpdate,
    "A recording session started or stopped (also timed stops).",
    compat=True,
)
router.notification(
    "storage_status_update",
    StorageStatusUpdate,
    "The low-disk level changed (warning / critical / back to ok).",
    compat=True,
)


@router.method(scope=CameraScope.CAMERAS, role=Role.VIEWER, compat=True, errors=(ErrorCode.NOT_FOUND,))
async def get_snapshot_info(api: RecordingsApi, ctx: CallContext, params: FileRef) -> SnapshotInfo:
    """Compat: one snapshot by `filename` (or `id`, or the old flat name `<camera>_<file>`); the result of
    get_snapshot with download_url `/files/snapshots/<name>` (relative; the route needs a token)."""
    return info(api, ctx, await find(api, ctx, params), old_shape=True)

"""Params and result models of the snapshot methods; one result shape for native and compat callers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from camera_service.recordings.models import Snapshot
from camera_service.recordings.schemas import CameraRef, RequiredCameraRef, iso


class TakeSnapshotParams(RequiredCameraRef):
    format: Literal["jpeg", "jpg", "png"] = Field("jpeg", description="jpeg (jpg) or png.")
    quality: int = Field(85, ge=1, le=100, description="JPEG quality 1-100.")
    max_width: int | None = Field(None, ge=16, le=7680, description="Scale down to at most this width.")
    filename: str | None = Field(
        None,
        description="Compat: the file name to store the snapshot under, sanitised (directories dropped, "
        "unsafe characters replaced, the format's extension enforced, a suffix added if taken); stored as "
        "<camera>/<name>. Without it the server names the file <camera>/<UTC time>-<id>.<ext>.",
        max_length=255,
    )


class SnapshotInfo(BaseModel):
    id: str
    camera: str
    device: str = Field(description="Compat: the device as given (or the camera id).")
    filename: str
    status: Literal["completed"] = Field("completed", description="Compat status word.")
    format: str
    width: int
    height: int
    resolution: str
    file_size: int
    timestamp: str | None = Field(description="ISO 8601 UTC capture time.")
    created_time: str | None
    modified_time: str | None
    file_path: str = Field(description="Compat: path relative to the snapshots root.")
    download_url: str


class SnapshotFailed(BaseModel):
    """take_snapshot in the old shape (`device`) that could not take a picture: a result, as the old
    server answered (its clients drop error frames). Native calls (`camera`) get the typed error."""

    device: str = Field(description="The device as given.")
    camera: str | None = Field(description="Camera id (null when the device is unknown).")
    filename: str | None = Field(description="The file name asked for, if any.")
    status: Literal["FAILED"] = "FAILED"
    timestamp: str | None = Field(description="ISO 8601 UTC time of the attempt.")
    file_size: int = 0
    file_path: str | None = None
    error: str = Field(description="Why, in words (the message of the native error).")
    error_code: int = Field(description="The native error code (e.g. -32009 camera unavailable).")
    error_data: dict[str, Any] | None = Field(description="The native error's data.")


def snapshot_info(snap: Snapshot, url: str, device: str | None = None) -> SnapshotInfo:
    t = iso(snap.created_at)
    return SnapshotInfo(
        id=snap.id,
        camera=snap.camera,
        device=device or snap.camera,
        filename=snap.path,
        format=snap.format,
        width=snap.width,
        height=snap.height,
        resolution=f"{snap.width}x{snap.height}",
        file_size=snap.size,
        timestamp=t,
        created_time=t,
        modified_time=t,
        file_path=snap.path,
        download_url=url,
    )


class ListSnapshotsParams(CameraRef):
    limit: int = Field(100, ge=1, le=1000, description="Page size.")
    offset: int = Field(0, ge=0, description="Skip this many (newest first).")


class SnapshotList(BaseModel):
    files: list[SnapshotInfo] = Field(description="Newest first.")
    total: int
    limit: int
    offset: int

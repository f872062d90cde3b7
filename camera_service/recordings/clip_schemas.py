"""Params and result models of the clip methods (exported time ranges of a camera's recordings)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from camera_service.recordings.models import Clip
from camera_service.recordings.schemas import CameraRef, RequiredCameraRef, iso
from camera_service.rpc.registry import Params


class ExportClipParams(RequiredCameraRef):
    start: datetime = Field(description="Clip start (ISO 8601 / unix).")
    end: datetime = Field(description="Clip end; waits until recorded when in the future.")
    name: str | None = Field(None, max_length=200, description="Display name.")
    lock: bool = Field(False, description="Lock as evidence (retention never deletes it).")


class ClipInfo(BaseModel):
    id: str
    camera: str
    name: str
    kind: str
    start: str | None
    end: str | None
    duration: float
    duration_s: float
    file_size: int
    codec: str | None
    width: int | None
    height: int | None
    locked: bool
    created_time: str | None
    filename: str
    download_url: str
    thumbnail_url: str | None


def clip_info(clip: Clip, url: str, thumb_url: str | None) -> ClipInfo:
    return ClipInfo(
        id=clip.id,
        camera=clip.camera,
        name=clip.name,
        kind=clip.kind,
        start=iso(clip.start),
        end=iso(clip.end),
        duration=clip.duration_s,
        duration_s=clip.duration_s,
        file_size=clip.size,
        codec=clip.codec,
        width=clip.width,
        height=clip.height,
        locked=clip.locked,
        created_time=iso(clip.created_at),
        filename=clip.path,
        download_url=url,
        thumbnail_url=thumb_url,
    )


class ClipRef(Params):
    id: str = Field(min_length=1, max_length=64, description="Clip id.")


class LockClipParams(ClipRef):
    locked: bool = Field(True, description="true = lock, false = unlock.")


class ListClipsParams(CameraRef):
    locked: bool | None = Field(None, description="Only locked / unlocked clips.")
    limit: int = Field(100, ge=1, le=1000, description="Page size.")
    offset: int = Field(0, ge=0, description="Skip this many (newest first).")


class ClipList(BaseModel):
    clips: list[ClipInfo]
    total: int
    limit: int
    offset: int

"""Records of the archive: segments, clips, snapshots, recording sessions (what the store keeps)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

SegmentKind = Literal["continuous", "buffer"]
ClipKind = Literal["manual", "event"]


class Segment(BaseModel):
    id: int = Field(description="Index id.")
    camera: str = Field(description="Camera id.")
    path: str = Field(description="Path relative to the recordings root (<camera>/<UTC time>.mp4).")
    start: float = Field(description="Start, unix seconds (UTC).")
    duration_s: float = Field(description="Duration in seconds.")
    size: int = Field(description="Bytes on disk.")
    codec: str | None = Field(None, description="Video codec, e.g. h264.")
    width: int | None = Field(None, description="Video width.")
    height: int | None = Field(None, description="Video height.")
    kind: SegmentKind = Field("continuous", description="continuous, or buffer (events-mode rolling buffer).")

    @property
    def end(self) -> float:
        return self.start + self.duration_s

    @property
    def filename(self) -> str:
        return self.path


class Clip(BaseModel):
    id: str = Field(description="Clip id.")
    camera: str = Field(description="Camera id.")
    name: str = Field(description="Display name.")
    start: float = Field(description="Requested start, unix seconds.")
    end: float = Field(description="Requested end, unix seconds.")
    path: str = Field(description="File relative to the clips root.")
    thumbnail: str | None = Field(None, description="Thumbnail JPEG relative to the clips root.")
    size: int = Field(0, description="Bytes.")
    duration_s: float = Field(0.0, description="Duration of the file in seconds.")
    codec: str | None = Field(None, description="Video codec.")
    width: int | None = Field(None, description="Video width.")
    height: int | None = Field(None, description="Video height.")
    locked: bool = Field(False, description="Locked clips (and the segments they cover) are never deleted.")
    kind: ClipKind = Field("manual", description="manual export or event clip.")
    created_at: float = Field(description="Unix seconds.")


class Snapshot(BaseModel):
    id: str = Field(description="Snapshot id.")
    camera: str = Field(description="Camera id.")
    path: str = Field(description="File relative to the snapshots root.")
    format: Literal["jpeg", "png"] = Field(description="Image format.")
    width: int = Field(description="Image width.")
    height: int = Field(description="Image height.")
    size: int = Field(description="Bytes.")
    created_at: float = Field(description="Unix seconds the frame was taken.")

    @property
    def filename(self) -> str:
        return self.path


class RecordingSession(BaseModel):
    id: str = Field(description="Session id.")
    camera: str = Field(description="Camera id.")
    started_at: float = Field(description="Unix seconds.")
    duration_s: float | None = Field(None, description="Requested length; null = until stopped.")
    stop_at: float | None = Field(None, description="When a timed session stops itself (unix seconds).")
    stopped_at: float | None = Field(None, description="When it stopped; null while recording.")
    stop_reason: str | None = Field(None, description="requested, timer, error, restart.")
    requested_by: str | None = Field(None, description="Subject that started it.")

    @property
    def active(self) -> bool:
        return self.stopped_at is None

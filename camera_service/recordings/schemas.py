"""Params and result models of the recordings API, shared by native and compatibility callers.

Native and compat methods share names (start_recording, list_recordings, ...): each name has ONE params
model accepting both shapes (`camera` or compat `device`; `duration_s` or compat `duration`,
`duration_seconds`, `duration_minutes`, `duration_hours`), with validators that reject ambiguous or
conflicting input, and ONE result model that is a superset carrying the compat fields. See docs/adr.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, Self
from urllib.parse import quote

from pydantic import BaseModel, Field, model_validator

from camera_service.recordings.models import RecordingSession, Segment
from camera_service.rpc.registry import Params


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def files_url(kind: str, rel: str) -> str:
    """Compat download path `/files/<kind>/<name>`: relative, so an old client prefixes its base URL
    (compat/files.py serves it to a request carrying a token)."""
    return f"/files/{kind}/{quote(rel, safe='/')}"


def as_utc(dt: datetime) -> datetime:
    """Naive datetimes are UTC."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


class CameraRef(Params):
    """`camera` (our id) or compat `device` ("camera0", "/dev/video0" or an id); not both unless equal."""

    camera: str | None = Field(None, min_length=1, max_length=128, description="Camera id.")
    device: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        description="Compat alias of camera: an id, 'cameraN' or '/dev/videoN'.",
    )

    @model_validator(mode="after")
    def _one_ref(self) -> Self:
        if self.camera is not None and self.device is not None and self.camera != self.device:
            raise ValueError("give camera or device, not both")
        return self

    @property
    def ref(self) -> str | None:
        return self.camera if self.camera is not None else self.device


class RequiredCameraRef(CameraRef):
    @model_validator(mode="after")
    def _required(self) -> Self:
        if self.ref is None:
            raise ValueError("camera (or device) is required")
        return self


# ---- recording control ------------------------------------------------------------------------------

_COMPAT_DURATIONS = {"duration": 1, "duration_seconds": 1, "duration_minutes": 60, "duration_hours": 3600}


class StartRecordingParams(RequiredCameraRef):
    duration_s: float | None = Field(
        None, gt=0, description="Stop by itself after this many seconds; omitted = until stop_recording."
    )
    duration: int | None = Field(None, ge=1, description="Compat: seconds (>= 1).")
    duration_seconds: int | None = Field(None, ge=1, le=3600, description="Compat: seconds (1-3600).")
    duration_minutes: int | None = Field(None, ge=1, le=1440, description="Compat: minutes (1-1440).")
    duration_hours: int | None = Field(None, ge=1, le=24, description="Compat: hours (1-24).")
    format: Literal["mp4", "fmp4", "mkv"] | None = Field(
        None,
        description="Compat: accepted; recordings are fMP4 (.mp4) whatever is asked (the old server "
        "coerced every format, including the mkv its get_server_info listed, to mp4).",
    )
    filename: str | None = Field(
        None,
        max_length=255,
        description="Compat: a name for the recording, sanitised like take_snapshot's and stored as "
        "<camera>/<name>.mp4 (a suffix is added if taken); returned as `filename`, it resolves in "
        "get_recording_info and /files/recordings/. Without it `filename` is the label <camera>/<UTC start>.",
    )

    @model_validator(mode="after")
    def _one_duration(self) -> Self:
        given = [k for k in ("duration_s", *_COMPAT_DURATIONS) if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give one duration field, not {', '.join(given)}")
        return self

    @property
    def seconds(self) -> float | None:
        if self.duration_s is not None:
            return self.duration_s
        for key, factor in _COMPAT_DURATIONS.items():
            value = getattr(self, key)
            if value is not None:
                return float(value * factor)
        return None


class SessionResult(BaseModel):
    camera: str = Field(description="Camera id.")
    device: str = Field(description="Compat: the device as given (or the camera id).")
    session_id: str = Field(description="Session id.")
    status: Literal["STARTED", "STOPPED", "RECORDING"] = Field(description="Compat status word.")
    filename: str = Field(
        description="Compat: the session's name: the client's `filename` (<camera>/<name>.mp4) or the label "
        "<camera>/<UTC start>; get_recording_info and /files/recordings/ resolve it. Its segments are "
        "listed by list_recordings."
    )
    format: str = Field("mp4", description="Container of the segments (fragmented MP4).")
    start_time: str | None = Field(description="ISO 8601 UTC.")
    end_time: str | None = Field(None, description="ISO 8601 UTC when stopped.")
    duration: float | None = Field(description="Requested duration (start) or recorded seconds (stop).")
    file_size: int | None = Field(
        None,
        description="Bytes the session recorded (stop; waits up to a few seconds for MediaMTX to close the "
        "last segment, so a session shorter than one segment counts too).",
    )
    session: RecordingSession = Field(description="The session record.")


class RecordingStatus(BaseModel):
    camera: str
    recording: bool = Field(description="MediaMTX is recording this camera now.")
    reason: Literal["session", "policy"] | None = Field(description="Why it records.")
    session: RecordingSession | None = Field(description="The active on-demand session, if any.")
    last_session: RecordingSession | None = Field(description="The latest session (active or finished).")
    policy: dict[str, Any] = Field(description="The camera's recording policy.")


class SetPolicyParams(Params):
    camera: str = Field(min_length=1, max_length=128, description="Camera id.")
    policy: dict[str, Any] = Field(
        description="{mode: off|continuous|scheduled|events, schedule: "
        "[{days:[mon..sun], start:'HH:MM', end:'HH:MM'}], timezone?, buffer_s?}"
    )


# ---- segments ---------------------------------------------------------------------------------------


class ListRecordingsParams(CameraRef):
    start: datetime | None = Field(None, description="Only segments ending after this (ISO 8601 / unix).")
    end: datetime | None = Field(None, description="Only segments starting before this.")
    limit: int = Field(100, ge=1, le=1000, description="Page size.")
    cursor: str | None = Field(None, max_length=200, description="next_cursor of the previous page.")
    offset: int | None = Field(None, ge=0, description="Compat: skip this many (newest first).")

    @model_validator(mode="after")
    def _paging(self) -> Self:
        if self.cursor is not None and self.offset:
            raise ValueError("give cursor or offset, not both")
        return self


class RecordingFile(BaseModel):
    id: int = Field(description="Segment id.")
    camera: str
    filename: str = Field(description="<camera>/<UTC start>.mp4 (also the compat filename).")
    start: str | None = Field(description="ISO 8601 UTC.")
    end: str | None = Field(description="ISO 8601 UTC.")
    duration: float = Field(description="Seconds.")
    duration_s: float = Field(description="Seconds.")
    file_size: int = Field(description="Bytes.")
    codec: str | None
    width: int | None
    height: int | None
    resolution: str | None = Field(description="WIDTHxHEIGHT.")
    kind: str = Field(description="continuous or buffer.")
    created_time: str | None = Field(description="Compat: start time.")
    modified_time: str | None = Field(description="Compat: end time.")
    download_url: str = Field(description="Signed, short-lived download URL.")


def recording_file(seg: Segment, url: str) -> RecordingFile:
    res = f"{seg.width}x{seg.height}" if seg.width and seg.height else None
    return RecordingFile(
        id=seg.id,
        camera=seg.camera,
        filename=seg.path,
        start=iso(seg.start),
        end=iso(seg.end),
        duration=seg.duration_s,
        duration_s=seg.duration_s,
        file_size=seg.size,
        codec=seg.codec,
        width=seg.width,
        height=seg.height,
        resolution=res,
        kind=seg.kind,
        created_time=iso(seg.start),
        modified_time=iso(seg.end),
        download_url=url,
    )


class SessionFile(BaseModel):
    """get_recording_info of a recording session's compat `filename` (start_recording's answer)."""

    filename: str = Field(description="The session's name, as given back by start/stop_recording.")
    camera: str
    session_id: str
    recording: bool = Field(description="Still recording.")
    start_time: str | None
    end_time: str | None
    duration: float = Field(description="Recorded seconds (from the segments).")
    file_size: int = Field(description="Bytes of the session's segments.")
    created_time: str | None
    modified_time: str | None
    segments: list[str] = Field(description="Filenames of its segments, oldest first.")
    download_url: str = Field(description="/files/recordings/<filename>: one MP4 of the whole session.")


class RecordingList(BaseModel):
    files: list[RecordingFile] = Field(description="Newest first.")
    total: int = Field(description="Matching segments in all pages.")
    limit: int
    offset: int
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null at the end.")


class FileRef(Params):
    """`id` (native) or `filename` (compat); exactly one."""

    id: str | int | None = Field(None, description="Id.")
    filename: str | None = Field(None, min_length=1, max_length=512, description="Compat file name.")

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.id is None) == (self.filename is None):
            raise ValueError("give exactly one of id or filename")
        return self


class DeleteResult(BaseModel):
    id: str | int | None
    filename: str
    deleted: bool
    message: str


class TimelineParams(RequiredCameraRef):
    start: datetime = Field(description="Window start.")
    end: datetime = Field(description="Window end.")


class TimeRange(BaseModel):
    start: str | None
    end: str | None
    duration_s: float


class TimelineActivity(BaseModel):
    kind: Literal["motion", "object"] = Field(
        description="A motion period, or a confirmed object's presence."
    )
    start: str | None
    end: str | None
    label: str | None = Field(None, description="Objects: the class (person, car, ...).")
    event_id: str | None = Field(None, description="Objects: the detection event.")


class Timeline(BaseModel):
    camera: str
    start: str | None
    end: str | None
    ranges: list[TimeRange] = Field(description="Continuous recorded ranges.")
    gaps: list[TimeRange] = Field(description="Unrecorded parts of the window.")
    recorded_s: float
    segments: int
    activity: list[TimelineActivity] = Field(
        default_factory=list, description="Analytics activity in the window (cameras with analytics)."
    )

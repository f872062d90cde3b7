"""Params and results of the camera methods (the API contract; docs are generated from these)."""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from camera_service.cameras.config import RtspTransport
from camera_service.cameras.models import CAMERA_ID_PATTERN, Camera, CameraStatus, CameraStatusInfo
from camera_service.cameras.urls import SourceError, SourceKind, parse_source
from camera_service.rpc.registry import Params

_TAGS_DESC = "Free labels (at most 50, 1-64 characters each)."


def _check_source(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        parse_source(value)
    except SourceError as exc:
        raise ValueError(str(exc)) from None  # the message never contains the URL
    return value.strip()


def _check_substream(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        parsed = parse_source(value)
    except SourceError as exc:
        raise ValueError(str(exc)) from None
    if parsed.kind == "device":
        raise ValueError("a substream is a pull URL or 'publisher', not a local device")
    if parsed.username is not None or parsed.password is not None or parsed.secret_query:
        raise ValueError("a substream URL carries no credentials: it is opened with the camera's")
    return parsed.source


def _check_tags(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    for tag in value:
        if not 1 <= len(tag) <= 64:
            raise ValueError("each tag must be 1-64 characters")
    return list(dict.fromkeys(value))


class OnvifInput(BaseModel):
    """ONVIF endpoint as given by a client (the password is stored encrypted, never returned)."""

    model_config = ConfigDict(extra="forbid")
    host: str | None = Field(None, max_length=255, description="Device host (name or IP).")
    port: int = Field(80, ge=1, le=65535, description="Device HTTP port.")
    xaddr: str | None = Field(None, max_length=2048, description="Device service URL, if known.")
    username: str | None = Field(None, max_length=255, description="ONVIF user name.")
    password: str | None = Field(None, max_length=1024, description="ONVIF password (write-only).")
    profile_token: str | None = Field(None, max_length=255, description="Media profile token to use.")


class CameraFields(Params):
    """Fields shared by add_camera and update_camera."""

    name: str | None = Field(None, min_length=1, max_length=200, description="Display name.")
    source: str | None = Field(
        None,
        max_length=2048,
        description=(
            "rtsp://, rtsps://, rtmp://, rtmps://, srt:// or http(s)://...m3u8 URL to pull (credentials may "
            "be "
            "in the URL: they are split off and stored encrypted), 'publisher' (the device pushes to the "
            "camera's path), or a local device like /dev/video0 (published on demand by ffmpeg)."
        ),
    )
    username: str | None = Field(None, max_length=255, description="Source user name (write-only).")
    password: str | None = Field(None, max_length=1024, description="Source password (write-only).")
    enabled: bool | None = Field(None, description="false: no MediaMTX path, status DISABLED.")
    on_demand: bool | None = Field(None, description="Pull the source only while someone reads it.")
    substream: str | None = Field(
        None,
        max_length=2048,
        description=(
            "Optional second, lighter stream on the path '<id>.sub': a pull URL without credentials (the "
            "camera's are used) or 'publisher'. null removes it. The web console's grid plays it; a "
            "focused tile plays the main stream."
        ),
    )
    rtsp_transport: RtspTransport | None = Field(None, description="RTSP transport of a pulled RTSP source.")
    tags: list[str] | None = Field(None, max_length=50, description=_TAGS_DESC)
    group: str | None = Field(None, min_length=1, max_length=128, description="Group.")
    site: str | None = Field(None, min_length=1, max_length=128, description="Site.")
    zone: str | None = Field(None, min_length=1, max_length=128, description="Zone.")
    agency: str | None = Field(
        None, min_length=1, max_length=128, description="Agency (source/organisation)."
    )
    onvif: OnvifInput | None = Field(None, description="ONVIF endpoint.")
    metadata: dict[str, Any] | None = Field(None, description="Free metadata (JSON object).")

    _v_source = field_validator("source")(_check_source)
    _v_substream = field_validator("substream")(_check_substream)
    _v_tags = field_validator("tags")(_check_tags)


class AddCameraParams(CameraFields):
    id: str | None = Field(
        None,
        pattern=CAMERA_ID_PATTERN,
        description=(
            "Stable id, also the MediaMTX path name: lowercase letters, digits, '-' and '_', starting with a "
            "letter or digit, at most 64 characters. Omitted: derived from the name."
        ),
    )
    source: str = Field(max_length=2048, description=CameraFields.model_fields["source"].description)


class UpdateCameraParams(CameraFields):
    camera: str = Field(
        min_length=1,
        max_length=128,
        validation_alias=AliasChoices("camera", "camera_id"),
        description="The camera to change.",
    )


class CameraIdParams(Params):
    camera: str = Field(
        min_length=1,
        max_length=128,
        validation_alias=AliasChoices("camera", "camera_id"),
        description="Camera id.",
    )


class ListCamerasParams(Params):
    status: CameraStatus | None = Field(None, description="Only cameras with this status.")
    tag: str | None = Field(None, max_length=64, description="Only cameras carrying this tag.")
    group: str | None = Field(None, max_length=128, description="Only cameras of this group.")
    agency: str | None = Field(None, max_length=128, description="Only cameras of this agency.")
    site: str | None = Field(None, max_length=128, description="Only cameras of this site.")
    text: str | None = Field(
        None,
        max_length=200,
        description=("Case-insensitive substring of id, name, site, zone, group or a tag."),
    )
    limit: int = Field(100, ge=1, le=1000, description="Page size (at most 1000).")
    offset: int = Field(0, ge=0, description="Skip this many matches (ignored when cursor is given).")
    cursor: str | None = Field(
        None,
        max_length=128,
        description=(
            "Continue after this camera id (next_cursor of the previous page); stable under inserts."
        ),
    )


class OnvifInfo(BaseModel):
    host: str | None
    port: int
    xaddr: str | None
    username: str | None
    profile_token: str | None
    has_password: bool = Field(description="A password is stored (it is never returned).")


class CameraInfo(BaseModel):
    """A camera as clients see it: no credentials, plus its live status."""

    id: str
    name: str
    source: str = Field(description="Source without credentials.")
    source_type: SourceKind = Field(description="pull, publisher or device.")
    has_credentials: bool = Field(description="Credentials are stored for the source (never returned).")
    enabled: bool
    on_demand: bool
    substream: str | None = Field(None, description="Substream source (path '<id>.sub'); null: none.")
    rtsp_transport: RtspTransport | None
    tags: list[str]
    group: str | None
    site: str | None
    zone: str | None
    agency: str | None
    onvif: OnvifInfo | None
    recording: dict[str, Any]
    metadata: dict[str, Any]
    created_at: float
    updated_at: float
    status: CameraStatus = Field(description="ONLINE, OFFLINE, ERROR or DISABLED.")
    live: CameraStatusInfo = Field(description="Details of the live status.")

    @classmethod
    def of(cls, camera: Camera, live: CameraStatusInfo) -> CameraInfo:
        onvif = None
        if camera.onvif is not None:
            o = camera.onvif
            onvif = OnvifInfo(
                host=o.host,
                port=o.port,
                xaddr=o.xaddr,
                username=o.username,
                profile_token=o.profile_token,
                has_password=o.has_password,
            )
        # model_construct: every value comes from validated models; list_cameras builds 100 per call.
        return cls.model_construct(
            id=camera.id,
            name=camera.name,
            source=camera.source,
            source_type=camera.source_kind,
            has_credentials=camera.has_credentials,
            enabled=camera.enabled,
            on_demand=camera.on_demand,
            substream=camera.substream,
            rtsp_transport=camera.rtsp_transport,
            tags=camera.tags,
            group=camera.group,
            site=camera.site,
            zone=camera.zone,
            agency=camera.agency,
            onvif=onvif,
            recording=camera.recording,
            metadata=camera.metadata,
            created_at=camera.created_at,
            updated_at=camera.updated_at,
            status=live.status,
            live=live,
        )


class CameraPage(BaseModel):
    cameras: list[CameraInfo] = Field(description="This page, ordered by id.")
    total: int = Field(description="Cameras matching the filters (all pages).")
    limit: int
    offset: int
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null on the last page.")


class RemoveResult(BaseModel):
    id: str
    removed: bool


class ProbeCameraParams(Params):
    camera: str | None = Field(
        None,
        max_length=128,
        validation_alias=AliasChoices("camera", "camera_id"),
        description="A registered camera to probe.",
    )
    source: str | None = Field(
        None, max_length=2048, description="Or: a source URL to probe before adding it."
    )
    username: str | None = Field(None, max_length=255, description="User name for `source`.")
    password: str | None = Field(None, max_length=1024, description="Password for `source`.")
    timeout_s: float | None = Field(None, gt=0, le=120, description="Give up after this many seconds.")
    sample_s: float = Field(2.0, ge=0.2, le=10, description="Seconds of stream to measure fps/bitrate over.")

    _v_source = field_validator("source")(_check_source)


class ProbeCameraResult(BaseModel):
    camera: str | None
    source: str = Field(description="What was opened, without credentials.")
    codec: str | None = Field(description="Video codec (ffmpeg name, e.g. h264, hevc).")
    profile: str | None
    width: int | None
    height: int | None
    fps: float | None = Field(description="Measured from packet timestamps over the sample.")
    bitrate_kbps: float | None = Field(description="Measured from packet sizes over the sample.")
    audio_codec: str | None
    audio_sample_rate: int | None
    audio_channels: int | None
    sampled_s: float = Field(description="Stream time the measurement covers.")
    elapsed_s: float = Field(description="Wall time the probe took.")

"""The camera registry's data model (shared with recordings, events, security and ONVIF)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from camera_service.cameras.config import RtspTransport
from camera_service.cameras.urls import SourceKind, source_kind

CAMERA_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
# A camera's substream has its own MediaMTX path: "<id>.sub" (a dot never occurs in a camera id).
SUBSTREAM_SUFFIX = ".sub"


def substream_path(camera_id: str) -> str:
    return camera_id + SUBSTREAM_SUFFIX


def camera_of_path(path: str) -> str:
    """The camera id a MediaMTX path belongs to (a substream path belongs to its camera)."""
    return path.removesuffix(SUBSTREAM_SUFFIX)


class CameraStatus(StrEnum):
    ONLINE = "ONLINE"
    OFFLINE = "OFFLINE"
    ERROR = "ERROR"
    DISABLED = "DISABLED"


class OnvifEndpoint(BaseModel):
    """Where the camera's ONVIF service is. The password is stored encrypted and never serialised."""

    model_config = ConfigDict(extra="forbid")

    host: str | None = Field(None, max_length=255, description="Device host (name or IP).")
    port: int = Field(80, ge=1, le=65535, description="Device HTTP port.")
    xaddr: str | None = Field(None, max_length=2048, description="Device service URL, if known.")
    username: str | None = Field(None, max_length=255, description="ONVIF user name.")
    password: SecretStr | None = Field(None, exclude=True, description="ONVIF password (never returned).")
    profile_token: str | None = Field(None, max_length=255, description="Media profile token to use.")

    @property
    def has_password(self) -> bool:
        return self.password is not None and bool(self.password.get_secret_value())


class Camera(BaseModel):
    """A registered camera. Credentials are held decrypted in memory only and excluded from dumps."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=CAMERA_ID_PATTERN, description="Stable slug; also the MediaMTX path name.")
    name: str = Field(description="Display name.")
    source: str = Field(description="Pull URL without credentials, 'publisher', or a local device path.")
    enabled: bool = Field(True, description="Disabled cameras have no MediaMTX path and status DISABLED.")
    on_demand: bool = Field(False, description="Pull the source only while someone reads it.")
    substream: str | None = Field(
        None,
        description=(
            "A second, lighter stream of the same camera on the path '<id>.sub': a pull URL (opened with the "
            "camera's credentials) or 'publisher'. Grids play it; a focused view plays the main stream."
        ),
    )
    rtsp_transport: RtspTransport | None = Field(None, description="RTSP transport; null = service default.")
    tags: list[str] = Field(default_factory=list, description="Free labels.")
    group: str | None = Field(None, description="Group (e.g. a camera wall or building).")
    site: str | None = Field(None, description="Site.")
    zone: str | None = Field(None, description="Zone within the site.")
    agency: str | None = Field(None, description="Source/organisation label (quotas and permissions).")
    onvif: OnvifEndpoint | None = Field(None, description="ONVIF endpoint, if the camera has one.")
    recording: dict[str, Any] = Field(
        default_factory=lambda: {"mode": "off"},
        description="Recording policy (owned by the recordings domain).",
    )
    metadata: dict[str, Any] = Field(default_factory=dict, description="Free metadata.")
    created_at: float = Field(0.0, description="Unix time the camera was added.")
    updated_at: float = Field(0.0, description="Unix time of the last change.")
    # Credentials: decrypted in memory only; never serialised (exclude=True) and masked in repr.
    username: str | None = Field(None, exclude=True, repr=False)
    password: SecretStr | None = Field(None, exclude=True, repr=False)
    secret_query: dict[str, SecretStr] = Field(default_factory=dict, exclude=True, repr=False)
    credentials_error: str | None = Field(None, exclude=True, description="Set when decryption failed.")

    @property
    def source_kind(self) -> SourceKind:
        return source_kind(self.source)

    @property
    def has_credentials(self) -> bool:
        return bool(self.username or self.password or self.secret_query)

    def secrets(self) -> tuple[str | None, ...]:
        """Every secret value this camera holds, for log/message redaction."""
        values: list[str | None] = [self.password.get_secret_value() if self.password else None]
        values += [v.get_secret_value() for v in self.secret_query.values()]
        if self.onvif is not None and self.onvif.password is not None:
            values.append(self.onvif.password.get_secret_value())
        return tuple(values)


class CameraStatusInfo(BaseModel):
    """Live state of a camera as last seen in MediaMTX."""

    status: CameraStatus = Field(description="ONLINE, OFFLINE, ERROR or DISABLED.")
    streaming: bool = Field(
        False,
        description=(
            "MediaMTX has the source right now. An on-demand camera stays ONLINE with streaming=false after "
            "MediaMTX closed its idle pull (no readers); it goes OFFLINE if the source fails while read."
        ),
    )
    last_seen: float | None = Field(None, description="Unix time the source was last seen streaming.")
    online_since: float | None = Field(None, description="Unix time the current ONLINE period began.")
    codec: str | None = Field(None, description="Video codec reported by MediaMTX (e.g. H264).")
    profile: str | None = Field(None, description="Video codec profile, when MediaMTX reports it.")
    width: int | None = Field(None, description="Video width in pixels.")
    height: int | None = Field(None, description="Video height in pixels.")
    fps: float | None = Field(
        None,
        description=(
            "Frame rate measured from packet timestamps when the camera came online (MediaMTX reports none)."
        ),
    )
    audio_codec: str | None = Field(None, description="Audio codec, if the stream has audio.")
    bitrate_kbps: float | None = Field(None, description="Inbound bitrate from MediaMTX byte counters.")
    bytes_received: int = Field(0, description="Inbound bytes of the current source session.")
    bytes_sent: int = Field(0, description="Outbound bytes to readers of the current session.")
    readers: int = Field(0, description="Readers MediaMTX counts on the path.")
    frames_in_error: int = Field(0, description="Inbound frames MediaMTX could not process.")
    source_type: str | None = Field(None, description="MediaMTX source type (rtspSource, rtspSession, ...).")
    error: str | None = Field(None, description="Why the camera is in ERROR (or why it is offline).")

    @property
    def resolution(self) -> str:
        return f"{self.width}x{self.height}" if self.width and self.height else ""

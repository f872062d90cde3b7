"""The `cameras` config section: registry, provisioning and status polling."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from camera_service.config.base import ConfigModel

RtspTransport = Literal["automatic", "udp", "multicast", "tcp"]


class CamerasConfig(ConfigModel):
    secret_key: SecretStr | None = Field(
        None,
        title="Credentials key",
        description=(
            "Fernet key (urlsafe base64, 32 bytes) encrypting camera credentials and webhook signing "
            "secrets at rest. Empty: <data_dir>/secret.key, generated with 0600 permissions on first run. "
            "Changing it makes stored credentials unreadable (those cameras go to ERROR and those webhooks' "
            "deliveries fail until their credentials/secrets are set again)."
        ),
    )
    poll_interval_s: float = Field(
        1.0,
        ge=0.1,
        le=60.0,
        title="Status poll interval",
        description=(
            "Seconds between reads of MediaMTX /v3/paths/list (status, bitrate, readers, drift detection). "
            "Hook callbacks wake the poll at once, so status changes usually arrive faster."
        ),
    )
    reconcile_interval_s: float = Field(
        30.0,
        ge=1.0,
        le=3600.0,
        title="Reconcile interval",
        description=(
            "Seconds between full comparisons of MediaMTX path configs with the registry (repairs drift in "
            "values; missing or foreign paths are already caught by the status poll)."
        ),
    )
    reconcile_concurrency: int = Field(
        4,
        ge=1,
        le=256,
        title="Reconcile concurrency",
        description=(
            "Path-config requests to MediaMTX in flight at once. MediaMTX applies config changes one at a "
            "time (each costs O(paths)), so more than a few does not help."
        ),
    )
    default_rtsp_transport: RtspTransport = Field(
        "tcp",
        title="Default RTSP transport",
        description="rtspTransport of pulled RTSP cameras that do not set one (tcp works through NAT).",
    )
    probe_timeout_s: float = Field(
        10.0,
        ge=1.0,
        le=120.0,
        title="Probe timeout",
        description="Default and largest timeout of probe_camera, in seconds.",
    )
    fps_sample_s: float = Field(
        2.0,
        ge=0.0,
        le=30.0,
        title="FPS sample length",
        description=(
            "When a camera comes online the service reads this many seconds of its stream (packets only, no "
            "decoding) to measure the frame rate; MediaMTX reports none. 0 disables the measurement."
        ),
    )
    fps_sample_concurrency: int = Field(
        2,
        ge=1,
        le=64,
        title="FPS samplers in parallel",
        description="Frame-rate measurements running at once.",
    )
    device_ffmpeg: str = Field(
        "ffmpeg",
        title="ffmpeg for local devices",
        description=(
            "ffmpeg executable MediaMTX runs on demand for local-device cameras (source /dev/videoN)."
        ),
    )
    device_encoder_args: str = Field(
        "-c:v libx264 -preset ultrafast -tune zerolatency -pix_fmt yuv420p -b:v 2M -g 50",
        max_length=1000,
        title="Local device encoder arguments",
        description="ffmpeg output options used to encode a local device before publishing it.",
    )

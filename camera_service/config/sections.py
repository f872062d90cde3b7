"""Config sections owned by the foundation: server, mediamtx, storage, logging, demo.

Each domain adds its own section module; `settings.py` composes them. Every field has a title, a
description and bounds so `check-config` and the docs can explain it.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from camera_service.config.base import ConfigModel

_ZONE_RE = re.compile(r"^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$")


@functools.cache
def _system_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class ServerConfig(ConfigModel):
    host: str = Field("0.0.0.0", title="Bind address", description="Address the WebSocket/HTTP server binds.")
    port: int = Field(
        8002, ge=0, le=65535, title="Port", description="Port of /ws and the HTTP side (0 = any)."
    )
    ws_path: str = Field(
        "/ws",
        pattern=r"^/[A-Za-z0-9_./-]*$",
        title="WebSocket path",
        description="Path of the JSON-RPC WebSocket endpoint.",
    )
    max_connections: int = Field(
        2000,
        ge=1,
        le=100_000,
        title="Max connections",
        description="Connections beyond this are closed with code 1013.",
    )
    max_message_bytes: int = Field(
        1 << 20,
        ge=1024,
        le=64 << 20,
        title="Max message size",
        description="Largest inbound WebSocket message; larger closes with 1009.",
    )
    max_batch_size: int = Field(
        100,
        ge=1,
        le=10_000,
        title="Max batch size",
        description="Largest JSON-RPC batch; larger batches get -32600.",
    )
    max_inflight_per_connection: int = Field(
        32,
        ge=1,
        le=1024,
        title="In-flight requests per connection",
        description="Requests of one connection handled concurrently; further reads wait (backpressure).",
    )
    max_pending_reply_bytes: int = Field(
        16 * 1024 * 1024,
        ge=65_536,
        le=1 << 34,
        title="Unsent reply bytes per connection",
        description=(
            "Reply bytes of one connection waiting for the client to read them; a reply that would add to "
            "more than this closes the connection with code 4008 (a client that never reads)."
        ),
    )
    send_queue_size: int = Field(
        1000,
        ge=1,
        le=1_000_000,
        title="Notification queue size",
        description="Per-connection queue of server-to-client notifications; overflow drops and tells.",
    )
    slow_consumer_close_after: int = Field(
        10_000,
        ge=1,
        title="Slow consumer limit",
        description="Dropped notifications after which a connection is closed with code 4008.",
    )
    ping_interval_s: float = Field(
        20.0,
        ge=1.0,
        le=600.0,
        title="Keepalive ping interval",
        description="Seconds between WebSocket keepalive pings.",
    )
    public_host: str = Field(
        "127.0.0.1",
        title="Public host",
        description="Host name clients use to reach this machine (stream and download URLs).",
    )
    public_scheme: Literal["http", "https"] = Field(
        "http", title="Public scheme", description="Scheme of URLs handed to clients."
    )
    time_zone: str = Field(
        "UTC",
        max_length=64,
        title="Site time zone",
        description=(
            "IANA time zone (e.g. Asia/Dubai) clients show times in (get_server_info.time_zone): the web "
            "console's timeline, events and export range; a device may override it. The API stays UTC."
        ),
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if not _ZONE_RE.match(value):
            raise ValueError(f"'{value}' is not an IANA time zone name (like Europe/Berlin)")
        zones = _system_zones()
        if zones and value not in zones:  # without a tz database only the name's shape is checked
            raise ValueError(f"unknown time zone '{value}' (an IANA name like Europe/Berlin)")
        return value

    internal_port: int = Field(
        0,
        ge=0,
        le=65535,
        title="Internal port",
        description=(
            "Port of the 127.0.0.1-only listener for MediaMTX hooks and auth callbacks (0 = any free port)."
        ),
    )
    shutdown_timeout_s: float = Field(
        10.0,
        ge=0.1,
        le=300.0,
        title="Shutdown timeout",
        description="Seconds to wait for in-flight work on shutdown.",
    )


class MediaMTXConfig(ConfigModel):
    managed: bool = Field(
        True,
        title="Managed",
        description=(
            "true: the service starts and supervises its own MediaMTX child; false: attach to api_url."
        ),
    )
    binary: Path | None = Field(
        None,
        title="Binary",
        description=(
            "MediaMTX executable. Empty: MEDIAMTX_BIN, then `mediamtx` on PATH, then the project cache."
        ),
    )
    config_template: Path = Field(
        Path("config/mediamtx.yml"),
        title="Config template",
        description="MediaMTX YAML the managed child runs with (ports are filled in).",
    )
    host: str = Field("127.0.0.1", title="Host", description="Host of MediaMTX as seen from the service.")
    api_port: int = Field(
        9997, ge=1, le=65535, title="API port", description="Control API port (127.0.0.1 only)."
    )
    playback_port: int = Field(
        9996, ge=1, le=65535, title="Playback port", description="Playback server port."
    )
    metrics_port: int = Field(
        9998, ge=1, le=65535, title="Metrics port", description="MediaMTX metrics port."
    )
    rtsp_port: int = Field(8554, ge=1, le=65535, title="RTSP port", description="RTSP listener port.")
    rtmp_port: int = Field(1935, ge=1, le=65535, title="RTMP port", description="RTMP listener port.")
    hls_port: int = Field(8888, ge=1, le=65535, title="HLS port", description="HLS listener port.")
    webrtc_port: int = Field(8889, ge=1, le=65535, title="WebRTC port", description="WebRTC/WHEP HTTP port.")
    webrtc_ice_udp_port: int = Field(
        8189, ge=1, le=65535, title="WebRTC ICE UDP port", description="UDP port for WebRTC media."
    )
    srt_port: int = Field(8890, ge=1, le=65535, title="SRT port", description="SRT listener port (UDP).")
    enable_rtmp: bool = Field(True, title="RTMP on", description="Run the RTMP listener.")
    enable_hls: bool = Field(True, title="HLS on", description="Run the HLS listener.")
    enable_webrtc: bool = Field(True, title="WebRTC on", description="Run the WebRTC listener.")
    enable_srt: bool = Field(True, title="SRT on", description="Run the SRT listener.")
    request_timeout_s: float = Field(
        5.0, ge=0.1, le=120.0, title="API timeout", description="Timeout of one Control API request."
    )
    health_interval_s: float = Field(
        0.5,
        ge=0.05,
        le=60.0,
        title="Health poll interval",
        description="How often the service checks MediaMTX is up (restart detection).",
    )
    start_timeout_s: float = Field(
        30.0,
        ge=1.0,
        le=600.0,
        title="Start timeout",
        description="Seconds to wait for a managed MediaMTX API to answer.",
    )
    restart_backoff_initial_s: float = Field(
        0.5,
        ge=0.0,
        le=60.0,
        title="Restart backoff start",
        description="First delay before restarting a dead MediaMTX.",
    )
    restart_backoff_max_s: float = Field(
        30.0, ge=0.1, le=3600.0, title="Restart backoff max", description="Largest delay between restarts."
    )
    log_level: Literal["error", "warn", "info", "debug"] = Field(
        "info", title="MediaMTX log level", description="logLevel of the managed MediaMTX."
    )

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def playback_url(self) -> str:
        return f"http://{self.host}:{self.playback_port}"


_DATABASE_SCHEMES = ("sqlite:///", "postgresql://", "postgres://")


class StorageConfig(ConfigModel):
    data_dir: Path = Field(
        Path("data"),
        title="Data directory",
        description="Database, keys and runtime files live here. A relative path is taken from the "
        "directory the service starts in.",
        validate_default=True,
    )
    recordings_dir: Path | None = Field(
        None,
        title="Recordings directory",
        description="Recording segments root. Empty: <data_dir>/recordings.",
    )
    snapshots_dir: Path | None = Field(
        None, title="Snapshots directory", description="Snapshots root. Empty: <data_dir>/snapshots."
    )
    clips_dir: Path | None = Field(
        None, title="Clips directory", description="Exported clips root. Empty: <data_dir>/clips."
    )
    database_url: SecretStr | None = Field(
        None,
        title="Database URL",
        description="Empty: the SQLite file <data_dir>/camera-service.db (single instance, the default). "
        "sqlite:///PATH: another SQLite file (sqlite:////abs/path). postgresql://USER:PASSWORD@HOST:PORT/DB: "
        "PostgreSQL, shared by several instances (docs/scale-out.md). Kept secret (it may hold a password).",
    )
    database_pool_size: int = Field(
        10,
        ge=1,
        le=200,
        title="Database pool size",
        description="PostgreSQL only: the most connections this instance opens.",
    )

    redis_url: SecretStr | None = Field(
        None,
        title="Redis URL",
        description=(
            "Shared Redis (or Valkey) of several instances (docs/scale-out.md): redis://host:6379/0, "
            "rediss:// for TLS, unix:///path. Empty: one instance, nothing shared. Secret: it may carry a "
            "password."
        ),
    )

    @field_validator("data_dir", "recordings_dir", "snapshots_dir", "clips_dir")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        """Absolute once, here: these paths reach processes that run elsewhere (MediaMTX's hooks run in
        <data_dir>/run, where a relative secrets path named nothing and every hook was refused)."""
        return value.expanduser().absolute() if value is not None else None

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_engine(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(_DATABASE_SCHEMES):
            raise ValueError("must start with sqlite:///, postgresql:// or postgres://")
        return value

    @property
    def database_engine(self) -> Literal["sqlite", "postgresql"]:
        url = self.database_url.get_secret_value() if self.database_url else ""
        return "postgresql" if url.startswith(("postgresql://", "postgres://")) else "sqlite"

    @property
    def recordings_path(self) -> Path:
        return self.recordings_dir or self.data_dir / "recordings"

    @property
    def snapshots_path(self) -> Path:
        return self.snapshots_dir or self.data_dir / "snapshots"

    @property
    def clips_path(self) -> Path:
        return self.clips_dir or self.data_dir / "clips"

    @property
    def database_path(self) -> Path:
        """The SQLite file (the default, or a sqlite:/// URL)."""
        url = self.database_url.get_secret_value() if self.database_url else ""
        if url.startswith("sqlite:///"):
            return Path(url.removeprefix("sqlite:///"))
        return self.data_dir / "camera-service.db"


class LoggingConfig(ConfigModel):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", title="Level", description="Log level."
    )
    format: Literal["auto", "json", "console"] = Field(
        "auto", title="Format", description="json, console, or auto (console when stderr is a terminal)."
    )
    forward_mediamtx: bool = Field(
        True,
        title="Forward MediaMTX logs",
        description="Copy the managed MediaMTX's log lines into the service log.",
    )


class DemoConfig(ConfigModel):
    enabled: bool = Field(
        True,
        title="Demo camera",
        description=(
            "Publish a test-pattern camera with a supervised ffmpeg so a fresh install shows video."
        ),
    )
    camera_id: str = Field(
        "demo",
        pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",
        title="Demo camera id",
        description="Id (and MediaMTX path) of the demo camera.",
    )
    width: int = Field(640, ge=16, le=3840, title="Width", description="Test pattern width.")
    height: int = Field(360, ge=16, le=2160, title="Height", description="Test pattern height.")
    fps: int = Field(25, ge=1, le=60, title="Frame rate", description="Test pattern frame rate.")
    gop: int = Field(25, ge=1, le=600, title="Keyframe interval", description="Frames between keyframes.")
    ffmpeg: str = Field(
        "ffmpeg", title="ffmpeg", description="ffmpeg executable used to publish the pattern."
    )


class SecretsConfig(ConfigModel):
    """Keys the service itself holds. Never printed unmasked."""

    hook_secret: SecretStr | None = Field(
        None,
        title="Hook secret",
        description=("Shared secret of MediaMTX hook callbacks. Empty: generated per run."),
    )

"""The `cluster` config section: off by default (one instance, SQLite, owns every camera)."""

from __future__ import annotations

import re

from pydantic import Field, model_validator

from camera_service.config.base import ConfigModel

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


class ClusterConfig(ConfigModel):
    enabled: bool = Field(
        False,
        title="Cluster mode",
        description=(
            "Run as one of several instances sharing one PostgreSQL (`storage.database_url`): cameras are "
            "owned through leases and spread over the live instances (docs/scale-out.md). Off: this "
            "instance owns every camera, as a single instance always has."
        ),
    )
    instance_id: str | None = Field(
        None,
        title="Instance id",
        description=(
            "This instance's name in the cluster (letters, digits, '.', '_', '-'; up to 63). Required when "
            "the cluster is enabled; unique per running instance."
        ),
    )
    advertised_ws_url: str | None = Field(
        None,
        title="Advertised WebSocket URL",
        description=(
            "How the other instances reach this one's JSON-RPC endpoint (e.g. ws://10.0.0.5:8002/ws); they "
            "forward camera-local calls (PTZ, snapshots, probes, recording start/stop) of cameras this "
            "instance owns there, with a short-lived token of the caller signed with security.jwt_secret. "
            "Empty: ws://<server.public_host>:<server.port><server.ws_path>."
        ),
    )
    advertised_rtsp_url: str | None = Field(
        None,
        title="Advertised RTSP base",
        description=(
            "Base URL of this instance's MediaMTX RTSP listener as clients reach it (rtsp://host:8554); "
            "get_stream_urls on any instance points there for the cameras this one owns. Empty: the "
            "URLs this instance builds for itself."
        ),
    )
    advertised_hls_url: str | None = Field(
        None, title="Advertised HLS base", description="As advertised_rtsp_url, for HLS (http://host:8888)."
    )
    advertised_webrtc_url: str | None = Field(
        None,
        title="Advertised WebRTC base",
        description="As advertised_rtsp_url, for WebRTC/WHEP (http://host:8889).",
    )
    advertised_rtmp_url: str | None = Field(
        None, title="Advertised RTMP base", description="As advertised_rtsp_url, for RTMP (rtmp://host:1935)."
    )
    advertised_srt_url: str | None = Field(
        None, title="Advertised SRT base", description="As advertised_rtsp_url, for SRT (srt://host:8890)."
    )
    heartbeat_interval_s: float = Field(
        2.0, gt=0, le=60.0, title="Heartbeat interval", description="Seconds between heartbeat writes."
    )
    instance_ttl_s: float = Field(
        8.0,
        gt=0,
        le=600.0,
        title="Instance TTL",
        description=(
            "An instance whose last heartbeat is older than this is dead: cameras are no longer assigned "
            "to it (its leases still run out before anyone takes its cameras)."
        ),
    )
    lease_ttl_s: float = Field(
        10.0,
        gt=0,
        le=600.0,
        title="Lease TTL",
        description=(
            "How long a camera lease lasts after its last renewal. A dead owner's cameras move after at "
            "most lease_ttl_s + renew_interval_s (plus the time the new owner's MediaMTX needs)."
        ),
    )
    renew_interval_s: float = Field(
        3.0,
        gt=0,
        le=300.0,
        title="Renew interval",
        description=(
            "Seconds between ownership rounds: renew held leases, claim assigned cameras, release "
            "cameras assigned elsewhere. Must be under a third of lease_ttl_s."
        ),
    )

    @model_validator(mode="after")
    def _check(self) -> ClusterConfig:
        if self.instance_id is not None and not _ID_RE.match(self.instance_id):
            raise ValueError(f"instance_id {self.instance_id!r}: letters, digits, '.', '_', '-' only")
        if self.renew_interval_s * 3 > self.lease_ttl_s:
            raise ValueError("renew_interval_s must be under a third of lease_ttl_s")
        if self.heartbeat_interval_s * 2 > self.instance_ttl_s:
            raise ValueError("heartbeat_interval_s must be under half of instance_ttl_s")
        if self.enabled and not self.instance_id:
            raise ValueError("instance_id is required when the cluster is enabled")
        return self

    @property
    def move_bound_s(self) -> float:
        """Longest time a dead owner's camera waits for a new owner (before its MediaMTX starts it)."""
        return self.lease_ttl_s + self.renew_interval_s

"""Config section `recordings`: recorder, snapshots, exports, downloads, retention defaults, disk guard."""

from __future__ import annotations

from pydantic import Field, SecretStr

from camera_service.config.base import ConfigModel


class RetentionLimits(ConfigModel):
    """Age and size limits of one scope (global, one kind, or one camera). 0 = no limit."""

    max_age_days: float = Field(
        0.0,
        ge=0.0,
        le=36_500.0,
        title="Max age (days)",
        description="Delete files older than this (0 = keep forever).",
    )
    max_size_gb: float = Field(
        0.0,
        ge=0.0,
        le=1_000_000.0,
        title="Max size (GB)",
        description="Delete oldest files while the scope is larger than this (0 = no cap).",
    )


class RetentionConfig(ConfigModel):
    """Initial retention settings. Runtime changes (set_retention_settings) are persisted in the database
    and win over these on the next start."""

    enabled: bool = Field(True, title="Retention on", description="Run retention periodically.")
    interval_s: float = Field(
        300.0, ge=1.0, le=86_400.0, title="Interval", description="Seconds between periodic retention runs."
    )
    global_limits: RetentionLimits = Field(
        default_factory=RetentionLimits,
        title="Global limits",
        description="Limits over everything stored.",
    )
    continuous: RetentionLimits = Field(
        default_factory=RetentionLimits,
        title="Continuous segments",
        description="Limits on recording segments.",
    )
    clips: RetentionLimits = Field(
        default_factory=RetentionLimits,
        title="Event clips",
        description="Limits on exported clips (locked ones kept).",
    )
    snapshots: RetentionLimits = Field(
        default_factory=RetentionLimits,
        title="Snapshots",
        description="Limits on snapshots.",
    )
    per_camera: dict[str, RetentionLimits] = Field(
        default_factory=dict, title="Per camera", description="Limits per camera id (all kinds together)."
    )
    warn_free_percent: float = Field(
        15.0,
        ge=0.0,
        le=100.0,
        title="Low-disk warning",
        description="Free space (percent of the volume) below which a warning is sent.",
    )
    block_free_percent: float = Field(
        5.0,
        ge=0.0,
        le=100.0,
        title="Low-disk block",
        description=("Free space (percent) below which new recordings are refused; running ones continue."),
    )
    warn_free_gb: float = Field(
        0.0,
        ge=0.0,
        le=1_000_000.0,
        title="Low-disk warning (GB)",
        description="Free space (GB) below which a warning is sent, whatever the percentage (0 = off).",
    )
    block_free_gb: float = Field(
        0.0,
        ge=0.0,
        le=1_000_000.0,
        title="Low-disk block (GB)",
        description=(
            "Free space (GB) below which new recordings are refused, whatever the percentage (0 = off)."
        ),
    )


class RecordingsConfig(ConfigModel):
    segment_duration_s: float = Field(
        60.0,
        ge=1.0,
        le=86_400.0,
        title="Segment duration",
        description=("MediaMTX recordSegmentDuration: a minimum; the cut happens at the next keyframe."),
    )
    part_duration_s: float = Field(
        1.0,
        ge=0.1,
        le=60.0,
        title="Part duration",
        description="MediaMTX recordPartDuration (fMP4 flush period).",
    )
    schedule_timezone: str = Field(
        "UTC",
        title="Schedule time zone",
        description="IANA zone in which weekly recording schedules are read.",
    )
    policy_interval_s: float = Field(
        15.0,
        ge=0.2,
        le=3600.0,
        title="Policy check interval",
        description="Seconds between re-evaluations of scheduled policies.",
    )
    default_event_buffer_s: float = Field(
        30.0,
        ge=1.0,
        le=3600.0,
        title="Event pre-buffer",
        description=(
            "Seconds of rolling buffer kept for cameras in `events` mode when the policy names none."
        ),
    )
    max_session_s: float = Field(
        86_400.0,
        ge=1.0,
        le=30 * 86_400.0,
        title="Longest timed recording",
        description="Upper bound of duration_s of an on-demand recording.",
    )
    snapshot_timeout_s: float = Field(
        8.0,
        ge=0.5,
        le=120.0,
        title="Snapshot timeout",
        description="Seconds a snapshot may take before TIMEOUT.",
    )
    snapshot_warm_s: float = Field(
        10.0,
        ge=0.0,
        le=600.0,
        title="Warm reader time",
        description=(
            "Seconds a per-camera decoder stays connected after a snapshot so the next one is warm (0 = off)."
        ),
    )
    snapshot_max_age_s: float = Field(
        0.5,
        ge=0.0,
        le=10.0,
        title="Warm frame max age",
        description="A warm reader's frame older than this is not served.",
    )
    export_timeout_s: float = Field(
        300.0,
        ge=1.0,
        le=86_400.0,
        title="Export timeout",
        description="Seconds an export may wait for the range to be recorded plus copy.",
    )
    download_url_ttl_s: int = Field(
        3600,
        ge=10,
        le=7 * 86_400,
        title="Download URL lifetime",
        description="Seconds a signed download URL stays valid.",
    )
    download_key: SecretStr | None = Field(
        None,
        title="Download signing key",
        description=(
            "HMAC key of download URLs. Empty: generated once into <data_dir>/download.key (mode 0600)."
        ),
    )
    retention: RetentionConfig = Field(
        default_factory=RetentionConfig,
        title="Retention",
        description="Initial retention settings.",
    )

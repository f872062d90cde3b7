"""Config of the analytics domain: system defaults for every analysed camera, the worker, the models.

Per-camera settings (`set_analytics`) override `defaults`; a camera is analysed only once enabled there
(or listed in `cameras` here).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from camera_service.analytics.models import CameraAnalyticsSettings
from camera_service.config.base import ConfigModel


class WorkerConfig(ConfigModel):
    threads: int = Field(
        1,
        ge=1,
        le=64,
        title="Inference threads",
        description="ONNX Runtime intra-op threads of the worker process (leave cores for decoding).",
    )
    max_batch: int = Field(
        8, ge=1, le=64, title="Micro-batch size", description="Frames (across cameras) per inference batch."
    )
    batch_wait_ms: float = Field(
        20.0,
        ge=0.0,
        le=1000.0,
        title="Batch wait",
        description="How long the first queued frame waits for others to fill a batch.",
    )
    queue_size: int = Field(
        256,
        ge=1,
        le=100_000,
        title="Queue size",
        description="Cameras with a frame waiting; each camera holds at most one (the newest wins).",
    )
    restart_backoff_s: float = Field(
        1.0, ge=0.0, le=60.0, title="Restart backoff", description="Delay before a dead worker is restarted."
    )


class AnalyticsConfig(ConfigModel):
    enabled: bool = Field(
        True,
        title="Enabled",
        description="Run the analytics component (cameras are analysed once enabled).",
    )
    models_dir: Path = Field(
        Path(".cache/models"),
        title="Models folder",
        description="Where scripts/install-models.sh put the ONNX models (relative: to the working dir).",
    )
    defaults: CameraAnalyticsSettings = Field(
        default_factory=CameraAnalyticsSettings,
        title="Camera defaults",
        description="Settings of every analysed camera unless set_analytics overrides them.",
    )
    cameras: list[str] = Field(
        default_factory=list,
        max_length=10_000,
        title="Analysed cameras",
        description="Camera ids analysed from start-up with the defaults (set_analytics can change them).",
    )
    worker: WorkerConfig = Field(
        default_factory=WorkerConfig, title="Worker", description="Inference process."
    )
    frame_cache_max_age_s: float = Field(
        5.0,
        ge=0.0,
        le=600.0,
        title="Frame cache age",
        description="take_snapshot on an analysed camera uses its last sampled frame if not older than this.",
    )
    snapshot_quality: int = Field(
        85, ge=1, le=100, title="Best-frame JPEG quality", description="Quality of detection snapshots."
    )
    retention_days: float = Field(
        30.0,
        ge=0.0,
        le=36_500.0,
        title="Detection retention",
        description="Days detections stay searchable (0 = keep).",
    )
    reconnect_s: float = Field(
        2.0, ge=0.1, le=300.0, title="Reconnect delay", description="Wait before a lost stream is reopened."
    )

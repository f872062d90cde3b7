"""Config of the analytics domain: system defaults for every analysed camera, the worker, the models.

Per-camera settings (`set_analytics`) override `defaults`; a camera is analysed only once enabled there
(or listed in `cameras` here).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

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


class YoloConfig(ConfigModel):
    """A YOLO-family ONNX model (YOLOv5/v7 or YOLOv8/11 export) used as the `objects` detector."""

    model: Path = Field(
        title="Model file",
        description="The YOLO ONNX file (relative: to the working dir); float32 NCHW RGB 0..1 input.",
    )
    labels: list[str] | Path = Field(
        title="Labels",
        description="Class names in the model's class order: a list, or a text file with one name a line.",
    )
    input_size: int | None = Field(
        None,
        ge=32,
        le=4096,
        title="Input size",
        description="Square input side in pixels; default: from the model's input shape (640 if dynamic).",
    )
    layout: Literal["auto", "v5", "v8"] = Field(
        "auto",
        title="Output layout",
        description=(
            "v5: [N, boxes, 5+classes] with objectness (YOLOv5/v7); v8: [N, 4+classes, boxes] "
            "(YOLOv8/11); auto: told apart by the output shape and the number of labels."
        ),
    )
    score_threshold: float = Field(
        0.25,
        ge=0.0,
        le=1.0,
        title="Score threshold",
        description="Raw detections below this are dropped before NMS (cameras' min_score filters further).",
    )
    nms_iou: float = Field(
        0.45,
        gt=0.0,
        le=1.0,
        title="NMS IoU",
        description="Class-wise NMS: a box overlapping a better one of its class more than this is dropped.",
    )
    max_detections: int = Field(
        100, ge=1, le=10_000, title="Max detections", description="Most detections kept per frame."
    )

    @model_validator(mode="after")
    def _labels_given(self) -> YoloConfig:
        if isinstance(self.labels, list) and not self.labels:
            raise ValueError("labels must name at least one class")
        return self


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
    yolo: YoloConfig | None = Field(
        None,
        title="YOLO objects model",
        description="When set, the `objects` detector runs this YOLO ONNX model instead of built-in SSDLite.",
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

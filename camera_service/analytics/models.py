"""Typed settings and results of the analytics domain (shared by config, API and the worker)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_LABELS = ["person", "bicycle", "car", "motorcycle", "bus", "truck", "cat", "dog"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Zone(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Zone name (reported in events).")
    points: list[tuple[float, float]] = Field(
        min_length=3, max_length=64, description="Polygon corners [x, y], normalised 0..1 (0,0 = top left)."
    )
    mask: bool = Field(False, description="A motion mask: changes inside are ignored (e.g. a clock, trees).")

    @field_validator("points")
    @classmethod
    def _in_frame(cls, pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
        for x, y in pts:
            if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
                raise ValueError("points are normalised: 0 <= x, y <= 1")
        return pts


class MotionSettings(_Strict):
    frame_height: int = Field(100, ge=32, le=480, description="Height of the grey frame motion works on.")
    threshold: int = Field(30, ge=1, le=255, description="Grey-level change that counts as changed.")
    contour_area: int = Field(10, ge=1, le=100_000, description="Changed pixels a region needs to count.")
    lightning_threshold: float = Field(
        0.8, gt=0.0, le=1.0, description="Share of the frame changing at once that is lighting, not motion."
    )
    alpha: float = Field(0.2, gt=0.0, le=1.0, description="Background update rate per sample.")
    cooldown_s: float = Field(5.0, ge=0.0, le=3600.0, description="Quiet seconds before motion.stopped.")


class TamperSettings(_Strict):
    blackout_luma: float = Field(16.0, ge=0.0, le=255.0, description="Mean grey level below which = black.")
    blur_ratio: float = Field(
        0.2, gt=0.0, lt=1.0, description="Sharpness falling below this share of the usual value = blurred."
    )
    scene_change_fraction: float = Field(
        0.6, gt=0.0, le=1.0, description="Share of the frame differing from the reference = scene change."
    )
    samples: int = Field(2, ge=1, le=100, description="Consecutive samples a condition must hold.")


class CameraAnalyticsSettings(_Strict):
    detectors: list[str] = Field(
        default_factory=lambda: ["objects", "motion", "tamper"],
        max_length=32,
        description="Plugin ids to run (built-ins: objects, faces, plates, motion, tamper).",
    )
    fps: float = Field(1.0, gt=0.0, le=30.0, description="Frames sampled per second.")
    keyframes_only: bool = Field(True, description="Decode keyframes only (cheapest; rate <= keyframe rate).")
    stream: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.~/-]{1,200}$",
        description="MediaMTX path to analyse (e.g. the camera's substream); default: the camera's own.",
    )
    labels: list[str] = Field(
        default_factory=lambda: list(DEFAULT_LABELS),
        max_length=100,
        description="Object classes that become detection events.",
    )
    min_score: float = Field(0.5, ge=0.0, le=1.0, description="Detections below this score are dropped.")
    threshold: float = Field(
        0.7,
        ge=0.0,
        le=1.0,
        description="Confirmed when the median of an object's last scores reaches this.",
    )
    class_thresholds: dict[str, float] = Field(
        default_factory=dict, description="Per-class confirmation threshold (overrides threshold)."
    )
    min_duration_s: float = Field(0.0, ge=0.0, le=3600.0, description="An object must be seen this long.")
    stationary_after: int = Field(3, ge=1, le=1000, description="Samples without moving = stationary.")
    stationary_interval: int = Field(
        10, ge=1, le=10_000, description="With only stationary objects, re-check every N samples."
    )
    max_misses: int = Field(3, ge=1, le=1000, description="Samples without an object before its track ends.")
    plates_full_frame: bool = Field(
        False, description="Plates: read the whole frame too (a camera aimed at a lane), not only vehicles."
    )
    zones: list[Zone] = Field(
        default_factory=list, max_length=64, description="Named zones and motion masks."
    )
    motion: MotionSettings = Field(default_factory=MotionSettings, description="Motion gate.")
    tamper: TamperSettings = Field(default_factory=TamperSettings, description="Tamper detection.")

    @field_validator("class_thresholds")
    @classmethod
    def _scores(cls, v: dict[str, float]) -> dict[str, float]:
        for label, score in v.items():
            if not 0.0 <= score <= 1.0:
                raise ValueError(f"threshold of '{label}' must be within 0..1")
        return v


@dataclass(slots=True)
class Detection:
    """One result of a detector on one frame; `box` is (x1, y1, x2, y2) normalised 0..1."""

    label: str
    score: float
    box: tuple[float, float, float, float]
    plugin: str
    text: str | None = None  # plates: the text read
    extra: dict[str, float] = field(default_factory=dict)


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0

"""Prometheus metrics of the camera registry (registered on the application's registry)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from camera_service.cameras.models import CameraStatus


class CameraMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.by_status = Gauge(
            "camera_service_cameras", "Registered cameras by status", ["status"], registry=registry
        )
        self.reconciles = Counter(
            "camera_service_camera_reconciles",
            "Path-config reconciles by outcome",
            ["outcome"],
            registry=registry,
        )
        self.reconcile_seconds = Histogram(
            "camera_service_camera_reconcile_seconds",
            "Duration of a full path-config reconcile",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
            registry=registry,
        )
        self.paths_applied = Counter(
            "camera_service_camera_paths_applied",
            "Path configs written to MediaMTX by reconciles",
            registry=registry,
        )
        self.paths_deleted = Counter(
            "camera_service_camera_paths_deleted",
            "Foreign or stale path configs deleted by reconciles",
            registry=registry,
        )
        self.status_changes = Counter(
            "camera_service_camera_status_changes", "Camera status transitions", ["status"], registry=registry
        )

    def set_counts(self, counts: dict[CameraStatus, int]) -> None:
        for status in CameraStatus:
            self.by_status.labels(status.value).set(counts.get(status, 0))

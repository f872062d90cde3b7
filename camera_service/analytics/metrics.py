"""Prometheus metrics of the analytics domain, registered on the application's registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

INFERENCE_MS_BUCKETS = (1, 2, 5, 10, 15, 20, 30, 50, 75, 100, 150, 250, 500, 1000, 2500)
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)


class AnalyticsMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.inference_ms = Histogram(
            "camera_service_analytics_inference_ms",
            "Milliseconds one detector plugin took per frame (batch time / batch size)",
            ["plugin"],
            buckets=INFERENCE_MS_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "camera_service_analytics_batch_size",
            "Frames per inference batch",
            buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=r,
        )
        self.frames = Counter(
            "camera_service_analytics_frames",
            "Frames by camera and outcome: sampled, gated (no detector run), detected, dropped",
            ["camera", "outcome"],
            registry=r,
        )
        self.queue_lag = Gauge(
            "camera_service_analytics_queue_lag_seconds",
            "Wait of the oldest frame of the last inference batch",
            registry=r,
        )
        self.queue_depth = Gauge(
            "camera_service_analytics_queue_depth", "Cameras with a frame waiting for the worker", registry=r
        )
        self.detection_latency = Histogram(
            "camera_service_analytics_detection_latency_seconds",
            "From the confirming frame's decode to its detection event",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.worker_restarts = Counter(
            "camera_service_analytics_worker_restarts", "Analytics worker processes restarted", registry=r
        )

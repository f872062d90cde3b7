"""Prometheus metrics of the service. One registry per Application so tests can run several."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from camera_service.observability.rpc_metrics import RpcMetrics

# Latency buckets for a control plane whose calls take microseconds to seconds.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        # Calls per method: lock-free counts exported at scrape time (rpc_metrics.py).
        self.rpc = RpcMetrics(LATENCY_BUCKETS)
        r.register(self.rpc)
        self.connections = Gauge("camera_service_ws_connections", "Open WebSocket connections", registry=r)
        self.connections_rejected = Counter(
            "camera_service_ws_connections_rejected",
            "Connections refused or closed by the server, by reason",
            ["reason"],
            registry=r,
        )
        self.notifications_sent = Counter(
            "camera_service_notifications_sent", "Notifications queued to clients", ["method"], registry=r
        )
        self.notifications_dropped = Counter(
            "camera_service_notifications_dropped",
            "Notifications dropped because a client's queue was full",
            registry=r,
        )
        self.mediamtx_up = Gauge("camera_service_mediamtx_up", "1 while the MediaMTX API answers", registry=r)
        self.mediamtx_restarts = Counter(
            "camera_service_mediamtx_restarts", "MediaMTX restarts seen (managed or external)", registry=r
        )
        self.auth_events = Counter(
            "camera_service_auth_events", "Authentication/limit events by kind", ["event"], registry=r
        )
        self.mediamtx_auth = Counter(
            "camera_service_mediamtx_auth",
            "MediaMTX access decisions by action/result",
            ["action", "result"],
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)

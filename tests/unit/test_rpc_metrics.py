"""The lock-free RPC metrics export exactly what prometheus_client's own Counter/Histogram would."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from camera_service.observability.metrics import LATENCY_BUCKETS
from camera_service.observability.rpc_metrics import RpcMetrics

SAMPLES = [
    ("ping", None, 0.0004),
    ("ping", None, 0.0005),
    ("ping", -32602, 0.003),
    ("get_status", None, 12.0),
    ("ping", None, 0.001),
    ("get_status", -32603, 0.05),
    ("get_status", -32603, 0.0),
]


def lines(text: bytes, prefix: str) -> set[str]:
    return {ln for ln in text.decode().splitlines() if ln.startswith(prefix)}


def test_same_exposition_as_prometheus_client() -> None:
    ours_reg, ref_reg = CollectorRegistry(), CollectorRegistry()
    ours = RpcMetrics(LATENCY_BUCKETS)
    ours_reg.register(ours)
    requests = Counter("camera_service_rpc_requests", "x", ["method", "outcome"], registry=ref_reg)
    errors = Counter("camera_service_rpc_errors", "x", ["method", "code"], registry=ref_reg)
    latency = Histogram(
        "camera_service_rpc_latency_seconds", "x", ["method"], buckets=LATENCY_BUCKETS, registry=ref_reg
    )
    for method, code, elapsed in SAMPLES:
        ours.record(ours.stats(method), code, elapsed)
        requests.labels(method, "ok" if code is None else "error").inc()
        if code is not None:
            errors.labels(method, str(code)).inc()
        latency.labels(method).observe(elapsed)
    requests.labels("get_status", "ok")  # ours always exports both outcomes
    for prefix in (
        "camera_service_rpc_requests_total",
        "camera_service_rpc_errors_total",
        "camera_service_rpc_latency_seconds_bucket",
        "camera_service_rpc_latency_seconds_sum",
        "camera_service_rpc_latency_seconds_count",
    ):
        assert lines(generate_latest(ours_reg), prefix) == lines(generate_latest(ref_reg), prefix), prefix

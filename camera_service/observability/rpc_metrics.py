"""Per-method JSON-RPC call counts and latency histograms, kept in plain arrays and exported at scrape time.

prometheus_client's Counter/Histogram take a lock on every update; at tens of thousands of calls per
second that showed up in profiles. The event loop is single-threaded, so plain integers are enough; the
collector turns them into the usual Prometheus families when /metrics is scraped.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector


class MethodStats:
    __slots__ = ("buckets", "errors", "ok", "sum")

    def __init__(self, n_buckets: int) -> None:
        self.ok = 0
        self.errors: dict[int, int] = {}
        self.buckets = [0] * (n_buckets + 1)  # the last one is +Inf
        self.sum = 0.0


class RpcMetrics(Collector):
    def __init__(self, buckets: Sequence[float]) -> None:
        self.bounds = tuple(buckets)
        self.methods: dict[str, MethodStats] = {}

    def stats(self, method: str) -> MethodStats:
        found = self.methods.get(method)
        if found is None:
            found = self.methods[method] = MethodStats(len(self.bounds))
        return found

    def record(self, stats: MethodStats, code: int | None, elapsed: float) -> None:
        if code is None:
            stats.ok += 1
        else:
            stats.errors[code] = stats.errors.get(code, 0) + 1
        # Prometheus buckets are "less than or equal": bisect_left finds the first bound >= elapsed.
        stats.buckets[bisect_left(self.bounds, elapsed)] += 1
        stats.sum += elapsed

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "camera_service_rpc_requests",
            "JSON-RPC calls by method and outcome",
            labels=["method", "outcome"],
        )
        errors = CounterMetricFamily(
            "camera_service_rpc_errors", "JSON-RPC errors by method and code", labels=["method", "code"]
        )
        latency = HistogramMetricFamily(
            "camera_service_rpc_latency_seconds", "JSON-RPC call latency by method", labels=["method"]
        )
        for method, s in sorted(self.methods.items()):
            failed = sum(s.errors.values())
            requests.add_metric([method, "ok"], s.ok)
            requests.add_metric([method, "error"], failed)
            for code, n in sorted(s.errors.items()):
                errors.add_metric([method, str(code)], n)
            cumulative, running = [], 0
            for bound, n in zip((*map(str, self.bounds), "+Inf"), s.buckets, strict=True):
                running += n
                cumulative.append((bound, running))
            latency.add_metric([method], cumulative, s.sum)
        yield requests
        yield errors
        yield latency

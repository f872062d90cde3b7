"""Camera registry at scale: 500 registered on-demand cameras.

Measures, over a real WebSocket against the service in its own process: `list_cameras` (page of 100)
and `get_camera` latency p50/p99, the service's RSS (psutil) before and with 500 cameras, and the time
to re-apply all 500 MediaMTX paths after MediaMTX is SIGKILLed (the supervisor restarts it with every
path already in its config, ADR 0010; the reconcile that follows should write none). Targets (issue 3):
list_cameras p99 < 20 ms, full re-apply < 10 s. Run: `.venv/bin/python -m bench.cameras`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import statistics
import time
import urllib.request
from typing import Any

import psutil

from bench.common import ServiceUnderTest, percentile, write_section
from camera_service.client import CameraServiceClient

CAMERAS = 500


async def timed(rpc: CameraServiceClient, method: str, params_fn: Any, n: int) -> list[float]:
    lat = []
    for _ in range(n):
        params = params_fn()
        t0 = time.perf_counter()
        await rpc.call(method, params)
        lat.append(time.perf_counter() - t0)
    return lat


def mtx_path_count(api_url: str) -> int | None:
    try:
        with urllib.request.urlopen(f"{api_url}/v3/config/paths/list?itemsPerPage=1", timeout=0.5) as r:
            return int(json.loads(r.read())["itemCount"])
    except OSError:
        return None


def mediamtx_pid(service_pid: int) -> int:
    for child in psutil.Process(service_pid).children(recursive=True):
        if child.name() == "mediamtx":
            return child.pid
    raise RuntimeError("no mediamtx child")


def metric_sum(port: int, name: str, label: str = "") -> float:
    """Sum of a Prometheus counter's samples from the service's /metrics (lines containing `label`)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
        text = r.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name) and label in line
    )


def reconciles_done(port: int) -> float:
    name = "camera_service_camera_reconciles_total"
    return metric_sum(port, name, 'outcome="ok"') + metric_sum(port, name, 'outcome="failed"')


def measure_reapply(api_url: str, service_pid: int, port: int) -> dict[str, float]:
    """SIGKILL MediaMTX; seconds until its API answers again (`up`), until all paths are there and the
    service's reconcile after the restart is done (`done`), and the paths that reconcile wrote."""
    reconciles = reconciles_done(port)
    applied = metric_sum(port, "camera_service_camera_paths_applied_total")
    os.kill(mediamtx_pid(service_pid), signal.SIGKILL)
    t0 = time.perf_counter()
    while mtx_path_count(api_url) is not None:  # wait until it is really gone
        time.sleep(0.005)
    up = paths = None
    while True:
        count = mtx_path_count(api_url)
        now = time.perf_counter()
        if count is not None and up is None:
            up = now
        if count is not None and count >= CAMERAS and paths is None:
            paths = now
        if paths is not None and reconciles_done(port) > reconciles:
            assert up is not None
            written = metric_sum(port, "camera_service_camera_paths_applied_total") - applied
            return {"up": up - t0, "done": now - t0, "paths": paths - t0, "written": written}
        if now - t0 > 120:
            raise RuntimeError(f"paths not re-applied: {count}")
        time.sleep(0.01)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    # Security off and rate limits out of the way: this measures the registry, not the limiter.
    unlimited = {"per_second": 1_000_000, "burst": 1_000_000}
    svc = ServiceUnderTest(
        overrides={
            "security": {
                "enabled": False,
                "rate_limit_connection": unlimited,
                "rate_limit_identity": unlimited,
            }
        }
    )
    svc.start()
    assert svc.proc is not None
    proc = psutil.Process(svc.proc.pid)
    api_url = f"http://127.0.0.1:{svc.config['mediamtx']['api_port']}"
    try:
        await asyncio.sleep(1.0)
        rss_empty = proc.memory_info().rss
        rpc = CameraServiceClient(svc.ws_url, token="", reconnect=False)  # security is off here
        await rpc.connect()
        t0 = time.perf_counter()
        for i in range(CAMERAS):
            await rpc.call(
                "add_camera",
                {
                    "id": f"cam{i:04d}",
                    "name": f"Camera {i}",
                    "on_demand": True,
                    "source": f"rtsp://user:pw{i}@10.255.{i // 250}.{i % 250 + 1}:554/stream1",
                    "tags": [f"floor{i % 5}"],
                    "group": f"g{i % 10}",
                    "agency": "a" if i % 2 else "b",
                },
            )
        add_s = time.perf_counter() - t0
        assert mtx_path_count(api_url) == CAMERAS
        await asyncio.sleep(2.0)  # a few status polls with 500 paths
        rss_full = proc.memory_info().rss
        ids = [f"cam{i:04d}" for i in range(CAMERAS)]
        await timed(rpc, "list_cameras", lambda: {"limit": 100}, 20)  # warm-up
        list_lat = await timed(
            rpc, "list_cameras", lambda: {"limit": 100, "offset": random.randrange(0, CAMERAS - 100)}, args.n
        )
        filt_lat = await timed(rpc, "list_cameras", lambda: {"limit": 100, "tag": "floor2"}, args.n // 2)
        get_lat = await timed(rpc, "get_camera", lambda: {"camera": random.choice(ids)}, args.n)
        compat_lat = await timed(rpc, "get_camera_list", lambda: None, max(10, args.n // 10))
        await rpc.close()
        restarts = [measure_reapply(api_url, svc.proc.pid, svc.port) for _ in range(args.restarts)]
    finally:
        svc.stop()
    return {
        "add_s": add_s,
        "rss_empty": rss_empty,
        "rss_full": rss_full,
        "list": list_lat,
        "filtered": filt_lat,
        "get": get_lat,
        "compat": compat_lat,
        "restarts": restarts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=1000, help="calls per latency measurement")
    parser.add_argument("--restarts", type=int, default=3, help="MediaMTX kills to time")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/performance.md")
    args = parser.parse_args()
    r = asyncio.run(run(args))
    ms = lambda xs, q: f"{percentile(xs, q) * 1e3:.2f}"  # noqa: E731
    reapply = [m["done"] - m["up"] for m in r["restarts"]]
    total = [m["done"] for m in r["restarts"]]
    written = [int(m["written"]) for m in r["restarts"]]
    rows = [
        ("list_cameras (page of 100, random offset)", ms(r["list"], 50), ms(r["list"], 99), "p99 < 20 ms"),
        ("list_cameras (tag filter, page of 100)", ms(r["filtered"], 50), ms(r["filtered"], 99), ""),
        ("get_camera", ms(r["get"], 50), ms(r["get"], 99), ""),
        ("get_camera_list (compat, all 500)", ms(r["compat"], 50), ms(r["compat"], 99), ""),
    ]
    table = ["| call (500 cameras) | p50 ms | p99 ms | target |", "|---|---:|---:|---|"]
    table += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    mib = 1024 * 1024
    body = "\n".join(
        [
            f"Machine: {platform.machine()}, {psutil.cpu_count()} CPUs, Python {platform.python_version()}; "
            f"service in its own process (security off), real WebSocket client, {args.n} sequential calls "
            "per row. Command: `.venv/bin/python -m bench.cameras`.",
            "",
            *table,
            "",
            "| measure | value | target |",
            "|---|---:|---|",
            f"| add 500 cameras one by one (DB write + MediaMTX upsert each) | {r['add_s']:.2f} s | |",
            f"| service RSS, 0 cameras | {r['rss_empty'] / mib:.1f} MiB | |",
            f"| service RSS, 500 cameras | {r['rss_full'] / mib:.1f} MiB | |",
            f"| re-apply 500 paths after MediaMTX restart (API up -> all paths there and the service's "
            f"reconcile done), median of {len(reapply)} | {statistics.median(reapply):.2f} s "
            f"(max {max(reapply):.2f}) | < 10 s |",
            f"| MediaMTX SIGKILL -> all 500 paths back, reconciled (includes restart backoff) | "
            f"{statistics.median(total):.2f} s (max {max(total):.2f}) | |",
            f"| paths written through the API by the reconcile after each restart | "
            f"{', '.join(map(str, written))} | 0 (paths start in MediaMTX's config) |",
        ]
    )
    print(body)
    if not args.no_write:
        write_section("Cameras", body)


if __name__ == "__main__":
    main()

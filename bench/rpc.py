"""JSON-RPC throughput/latency: the service's `ping` vs a bare `websockets` echo server (the floor).

Closed loop: each connection sends a request, waits for the reply, repeats, for --duration seconds.
Both servers run as separate processes; the load generator runs here. Server CPU is sampled so the
table shows which side was the bottleneck. Run: `.venv/bin/python -m bench.rpc` (or `make bench`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import subprocess
import sys
import time
from dataclasses import dataclass

import psutil
from websockets.asyncio.client import ClientConnection, connect

from bench.common import ServiceUnderTest, free_ports, percentile, write_section


@dataclass
class Result:
    target: str
    conns: int
    rps: float
    p50_ms: float
    p99_ms: float
    server_cpu: float


async def worker(ws: ClientConnection, stop_at: float, lat: list[float], warm_until: float) -> int:
    n = 0
    i = 0
    while True:
        i += 1
        t0 = time.perf_counter()
        if t0 >= stop_at:
            return n
        await ws.send('{"jsonrpc":"2.0","method":"ping","id":%d}' % i)  # noqa: UP031
        reply = await ws.recv()
        t1 = time.perf_counter()
        if t0 >= warm_until:
            lat.append(t1 - t0)
            n += 1
        if '"pong"' not in (reply if isinstance(reply, str) else reply.decode()):
            raise RuntimeError(f"bad reply: {reply!r}")


async def load(url: str, conns: int, duration: float, pid: int) -> tuple[float, list[float], float]:
    sockets = await asyncio.gather(
        *(connect(url, max_size=None, compression=None, open_timeout=30) for _ in range(conns))
    )
    proc = psutil.Process(pid)
    warm = 1.0
    start = time.perf_counter()
    lat: list[float] = []
    tasks = [asyncio.create_task(worker(ws, start + warm + duration, lat, start + warm)) for ws in sockets]
    await asyncio.sleep(warm)
    proc.cpu_percent(None)
    counts = await asyncio.gather(*tasks)
    cpu = proc.cpu_percent(None)
    await asyncio.gather(*(ws.close() for ws in sockets))
    return sum(counts) / duration, lat, cpu


def run(target: str, url: str, pid: int, conns: int, duration: float) -> Result:
    rps, lat, cpu = asyncio.run(load(url, conns, duration, pid))
    return Result(target, conns, rps, percentile(lat, 50) * 1e3, percentile(lat, 99) * 1e3, cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--conns", default="1,50,500")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/performance.md")
    args = parser.parse_args()
    conn_counts = [int(c) for c in args.conns.split(",")]

    (floor_port,) = free_ports(1)
    floor = subprocess.Popen([sys.executable, "-m", "bench.echo_floor", "--port", str(floor_port)])
    service = ServiceUnderTest()
    service.start()
    time.sleep(1.0)
    results: list[Result] = []
    try:
        for conns in conn_counts:
            results.append(run("floor", f"ws://127.0.0.1:{floor_port}", floor.pid, conns, args.duration))
            assert service.proc is not None
            results.append(run("service", service.ws_url, service.proc.pid, conns, args.duration))
    finally:
        floor.terminate()
        service.stop()

    rows = [
        "| connections | floor req/s | service req/s | ratio | floor p50/p99 ms | service p50/p99 ms "
        "| server CPU % (floor / service) |",
        "|---|---|---|---|---|---|---|",
    ]
    by = {(r.target, r.conns): r for r in results}
    for conns in conn_counts:
        f, s = by[("floor", conns)], by[("service", conns)]
        rows.append(
            f"| {conns} | {f.rps:,.0f} | {s.rps:,.0f} | {s.rps / f.rps:.2f}x | "
            f"{f.p50_ms:.2f} / {f.p99_ms:.2f} | {s.p50_ms:.2f} / {s.p99_ms:.2f} | "
            f"{f.server_cpu:.0f} / {s.server_cpu:.0f} |"
        )
    table = "\n".join(rows)
    print(table)
    body = (
        f"`python -m bench.rpc --duration {args.duration:g} --conns {args.conns}` — closed loop, one load "
        f"process, servers in their own processes; {platform.processor() or platform.machine()}, "
        f"{psutil.cpu_count()} cores, Python {platform.python_version()}.\n\n"
        "Targets (issue 2): service >= 0.6x the floor's requests/s at 50 connections; p99 < 50 ms at 500.\n\n"
        + table
        + "\n\nThe floor is a bare `websockets` server that parses the request and answers "
        "`pong` (bench/echo_floor.py). The service runs its full path: JSON-RPC validation, per-call "
        "context and request id, guards, metrics. Server CPU near 100 % means the server was the "
        "bottleneck; the load generator shares the 2 cores."
    )
    print(json.dumps([r.__dict__ for r in results]))
    if not args.no_write:
        write_section("JSON-RPC throughput and latency", body)


if __name__ == "__main__":
    main()

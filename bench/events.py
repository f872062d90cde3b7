"""Events: fan-out latency and webhook throughput against the real service in its own process.

1. Fan-out: K subscribed WebSocket connections (K = 1, 100, 1000); a separate operator connection
   publishes with `create_event`; latency = from just before the request is sent to the moment each
   subscriber's socket yields the `event` notification (both ends in this process, one monotonic clock).
   So it includes the RPC hop, the event store write and the fan-out. Target (issue 5): p99 < 50 ms at 1000.
2. Webhooks: N events matching one signed webhook to a local aiohttp receiver; deliveries/s = N / (last
   accepted - first accepted), and enqueue -> accepted latency.

Run: `.venv/bin/python -m bench.events` (`--no-write` to leave docs/performance.md alone).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from websockets.asyncio.client import ClientConnection, connect

from bench.common import ServiceUnderTest, free_ports, percentile, write_section
from bench.rawws import RawWebSocket

FANOUT = (1, 100, 1000)


class Rpc:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.n = 0

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        self.n += 1
        await self.ws.send(
            json.dumps({"jsonrpc": "2.0", "method": method, "params": params or {}, "id": self.n})
        )
        while True:
            reply = json.loads(await self.ws.recv())
            if reply.get("id") == self.n:
                break
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]


async def publish_and_time(
    url: str, events: int, complete: dict[int, asyncio.Event], arrivals: dict[int, list[float]]
) -> list[float]:
    """Publish events one at a time (latency, not throughput); each latency is send -> a subscriber has it.

    The subscribers' readers fill `arrivals[i]` and set `complete[i]` when all of them have event i."""
    pub = Rpc(await connect(url, max_size=None))
    lat: list[float] = []
    try:
        for i in range(events + 5):  # the first few warm up
            complete[i] = asyncio.Event()
            sent_at = time.perf_counter()
            await pub.call("create_event", {"type": "bench.tick", "data": {"i": i}})
            await asyncio.wait_for(complete[i].wait(), 30)
            if i >= 5:
                lat.extend(t - sent_at for t in arrivals[i])
            await asyncio.sleep(0.01)
    finally:
        await pub.ws.close()
    return lat


async def fanout(url: str, k: int, events: int) -> list[float]:
    sem = asyncio.Semaphore(100)
    arrivals: dict[int, list[float]] = {}
    complete: dict[int, asyncio.Event] = {}

    async def reader(ws: ClientConnection) -> None:
        # One long-lived reader per subscriber, timestamping each notification as the socket yields it.
        async for raw in ws:
            now = time.perf_counter()
            msg = json.loads(raw)
            if msg.get("method") != "event":
                continue
            i = msg["params"]["event"]["data"]["i"]
            got = arrivals.setdefault(i, [])
            got.append(now)
            if len(got) == k:
                complete[i].set()

    async def subscriber() -> ClientConnection:
        async with sem:
            ws = await connect(url, max_size=None)
            await Rpc(ws).call("subscribe_events", {"topics": ["bench.*"]})
            return ws

    subs = await asyncio.gather(*(subscriber() for _ in range(k)))
    readers = [asyncio.create_task(reader(ws)) for ws in subs]
    try:
        return await publish_and_time(url, events, complete, arrivals)
    finally:
        for r in readers:
            r.cancel()
        await asyncio.gather(*(s.close() for s in subs), return_exceptions=True)


async def fanout_raw(url: str, k: int, events: int) -> list[float]:
    """As `fanout`, with subscribers on the minimal protocol client (bench/rawws.py)."""
    arrivals: dict[int, list[float]] = {}
    complete: dict[int, asyncio.Event] = {}
    subscribed: dict[int, asyncio.Future[None]] = {}

    def on_frame(index: int) -> Callable[[bytes, float], None]:
        def handle(payload: bytes, now: float) -> None:
            msg = json.loads(payload)
            if msg.get("id") == 1:
                subscribed[index].set_result(None)
                return
            if msg.get("method") != "event":
                return
            i = msg["params"]["event"]["data"]["i"]
            got = arrivals.setdefault(i, [])
            got.append(now)
            if len(got) == k:
                complete[i].set()

        return handle

    sem = asyncio.Semaphore(100)

    async def subscriber(index: int) -> RawWebSocket:
        async with sem:
            subscribed[index] = asyncio.get_running_loop().create_future()
            ws = await RawWebSocket.connect(url, on_frame(index))
            ws.send_text(
                json.dumps(
                    {
                        "jsonrpc": "2.0",
                        "method": "subscribe_events",
                        "params": {"topics": ["bench.*"]},
                        "id": 1,
                    }
                ).encode()
            )
            await asyncio.wait_for(subscribed[index], 30)
            return ws

    subs = await asyncio.gather(*(subscriber(i) for i in range(k)))
    try:
        return await publish_and_time(url, events, complete, arrivals)
    finally:
        for s in subs:
            s.close()


async def webhooks(url: str, n: int) -> tuple[float, list[float]]:
    port = free_ports(1)[0]
    got: list[float] = []
    done = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        got.append(time.perf_counter())
        if len(got) >= n:
            done.set()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    rpcs = [Rpc(await connect(url, max_size=None)) for _ in range(4)]
    try:
        await rpcs[0].call(
            "add_webhook",
            {
                "url": f"http://127.0.0.1:{port}/hook",
                "topics": ["hook.*"],
                "secret": "bench-secret-0123456789",
            },
        )
        sent: list[float] = []

        async def publish(rpc: Rpc, count: int) -> None:
            for i in range(count):
                sent.append(time.perf_counter())
                await rpc.call("create_event", {"type": "hook.tick", "data": {"i": i}})

        await asyncio.gather(*(publish(r, n // len(rpcs)) for r in rpcs))
        await asyncio.wait_for(done.wait(), 120)
        rate = (len(got) - 1) / (got[-1] - got[0]) if len(got) > 1 else float("nan")
        sent.sort()
        return rate, [b - a for a, b in zip(sent, got, strict=False)]
    finally:
        await asyncio.gather(*(r.ws.close() for r in rpcs), return_exceptions=True)
        await runner.cleanup()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    svc = ServiceUnderTest(
        overrides={
            "security": {
                "enabled": False,
                "max_connections_per_address": 5000,
                "rate_limit_identity": {"per_second": 1_000_000, "burst": 1_000_000},
            },
            "events": {"webhooks": {"poll_interval_s": 0.05, "allowed_networks": ["127.0.0.0/8"]}},
        }
    )
    svc.start()
    try:
        results: dict[str, Any] = {"fanout": {}, "fanout_raw": {}}
        for k in FANOUT:
            events = args.events if k < 1000 else max(20, args.events // 2)
            for key, measure in (("fanout", fanout), ("fanout_raw", fanout_raw)):
                lat = await measure(svc.ws_url, k, events)
                results[key][k] = lat
                print(
                    f"{key} to {k:5d}: p50 {percentile(lat, 50) * 1000:7.2f} ms  "
                    f"p99 {percentile(lat, 99) * 1000:7.2f} ms  ({len(lat)} samples)"
                )
        rate, ages = await webhooks(svc.ws_url, args.webhooks)
        results["webhooks"] = (rate, ages)
        print(
            f"webhooks: {rate:.0f} deliveries/s, enqueue->accepted p50 {percentile(ages, 50) * 1000:.1f} ms"
        )
        return results
    finally:
        svc.stop()


def table(results: dict[str, Any], args: argparse.Namespace) -> str:
    rows = [
        "| subscribers | events | minimal client p50 / p99 / max (ms) "
        "| websockets client p50 / p99 / max (ms) |",
        "|---:|---:|---:|---:|",
    ]

    def cells(lat: list[float]) -> str:
        return f"{percentile(lat, 50) * 1000:.2f} / {percentile(lat, 99) * 1000:.2f} / {max(lat) * 1000:.2f}"

    for k, lat in results["fanout"].items():
        rows.append(f"| {k} | {len(lat) // k} | {cells(results['fanout_raw'][k])} | {cells(lat)} |")
    rate, ages = results["webhooks"]
    p99_1000 = percentile(results["fanout_raw"][1000], 99) * 1000
    verdict = "met" if p99_1000 < 50 else "NOT met"
    return "\n".join(
        [
            f"Measured by `.venv/bin/python -m bench.events` on {platform.machine()}, "
            f"{os.cpu_count()} cores, "
            "Python "
            + platform.python_version()
            + ". Service in its own process (security off), clients in the "
            "benchmark process over real WebSockets; both share the machine's cores.",
            "",
            "**Fan-out latency**: from just before `create_event` is sent by a separate operator connection "
            "until each subscriber has the `event` notification (RPC hop + event store write + fan-out + "
            "delivery). All subscribers live in the one benchmark process, so per-message client work adds "
            "up serially; two clients show how much: the minimal protocol client (bench/rawws.py, timestamps "
            "each frame as its bytes arrive) measures the service, the `websockets` library client adds a "
            "full library's per-message cost for 1000 connections in one process. The target is judged on "
            "the minimal client.",
            "",
            *rows,
            "",
            f"Target p99 < 50 ms at 1000 subscribers: **{verdict}** ({p99_1000:.1f} ms).",
            "",
            f"**Webhooks**: {args.webhooks} events to one signed webhook on a local aiohttp receiver (outbox "
            "concurrency 8, default): "
            f"**{rate:.0f} deliveries/s**; enqueue -> accepted p50 {percentile(ages, 50) * 1000:.1f} ms, "
            f"p99 {percentile(ages, 99) * 1000:.1f} ms (events published as fast as 4 connections could).",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100, help="events per fan-out size")
    parser.add_argument("--webhooks", type=int, default=2000, help="webhook deliveries to measure")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/performance.md")
    args = parser.parse_args()
    import uvloop  # the service runs on uvloop too (camera_service/cli.py)

    results = uvloop.run(run(args))
    body = table(results, args)
    print(body)
    if not args.no_write:
        write_section("Events and webhooks", body)


if __name__ == "__main__":
    main()

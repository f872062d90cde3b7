"""Shared bus (scale-out): events/s and end-to-end latency between two instances over one Redis Stream.

Two camera-service processes (A and B, each with its own MediaMTX and data dir) and one private
redis-server; first each instance on its own SQLite, then both on one private PostgreSQL. One subscriber
on A (where events are raised: the single-instance path, the reference measured in the same run) and one
on B (the shared bus), both on the minimal protocol client (bench/rawws.py) so client overhead stays out
of the numbers.

1. Latency: an operator connection on A sends `create_event` one at a time; latency = from just before
   the request is sent until each subscriber's socket yields the `event` notification.
2. Throughput: 4 operator connections on A publish N events as fast as they can; events/s = how fast the
   notifications arrive at each subscriber ((n - 1) / (last - first)).

Run: `.venv/bin/python -m bench.bus` (`--no-write` to leave docs/performance.md alone).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
from typing import Any

from websockets.asyncio.client import connect

from bench.common import ServiceUnderTest, percentile, write_section
from bench.events import Rpc
from bench.rawws import RawWebSocket
from tests.harness.postgres import run_postgres
from tests.harness.redis import run_redis


class Subscriber:
    """A subscribed minimal client that records when each event (by data.i) arrived."""

    def __init__(self) -> None:
        self.arrived: dict[int, float] = {}
        self.waiters: dict[int, asyncio.Event] = {}
        self.ready = asyncio.get_running_loop().create_future()
        self.ws: RawWebSocket | None = None
        self.other: list[str] = []

    def on_frame(self, payload: bytes, now: float) -> None:
        msg = json.loads(payload)
        if msg.get("id") == 1:
            self.ready.set_result(None)
            return
        if msg.get("method") != "event":
            if msg.get("method"):
                self.other.append(msg["method"])  # e.g. the send queue's `dropped` notice
            return
        i = msg["params"]["event"]["data"]["i"]
        self.arrived[i] = now
        waiter = self.waiters.get(i)
        if waiter is not None:
            waiter.set()

    async def start(self, url: str) -> None:
        self.ws = await RawWebSocket.connect(url, self.on_frame)
        body = {"jsonrpc": "2.0", "method": "subscribe_events", "params": {"topics": ["bench.*"]}, "id": 1}
        self.ws.send_text(json.dumps(body).encode())
        await asyncio.wait_for(self.ready, 30)

    async def wait(self, i: int, timeout: float = 120.0) -> None:
        if i not in self.arrived:
            self.waiters[i] = asyncio.Event()
            await asyncio.wait_for(self.waiters[i].wait(), timeout)


async def latency(url: str, subs: list[Subscriber], events: int) -> list[list[float]]:
    pub = Rpc(await connect(url, max_size=None))
    out: list[list[float]] = [[] for _ in subs]
    try:
        for i in range(events + 10):  # the first few warm up
            sent = time.perf_counter()
            await pub.call("create_event", {"type": "bench.tick", "data": {"i": i}})
            for s in subs:
                await s.wait(i)
            if i >= 10:
                for k, s in enumerate(subs):
                    out[k].append(s.arrived[i] - sent)
            await asyncio.sleep(0.005)
    finally:
        await pub.ws.close()
    return out


async def throughput(url: str, subs: list[Subscriber], n: int, base: int) -> list[float]:
    rpcs = [Rpc(await connect(url, max_size=None)) for _ in range(4)]
    try:

        async def publish(rpc: Rpc, first: int, count: int) -> None:
            for i in range(first, first + count):
                await rpc.call("create_event", {"type": "bench.burst", "data": {"i": i}})

        per = n // len(rpcs)
        await asyncio.gather(*(publish(r, base + k * per, per) for k, r in enumerate(rpcs)))
        ids = range(base, base + per * len(rpcs))
        rates = []
        for s in subs:
            try:
                for i in ids:
                    await s.wait(i, timeout=max(120.0, n / 10))
            except TimeoutError:
                missing = [i for i in ids if i not in s.arrived]
                what = f"{len(missing)} never arrived (first {missing[:5]}); other: {s.other[:5]}"
                raise RuntimeError(what) from None
            times = sorted(s.arrived[i] for i in ids)
            rates.append((len(times) - 1) / (times[-1] - times[0]))
        return rates
    finally:
        await asyncio.gather(*(r.ws.close() for r in rpcs), return_exceptions=True)


async def scenario(redis_url: str, database_url: str | None, args: argparse.Namespace) -> dict[str, Any]:
    storage: dict[str, Any] = {"redis_url": redis_url}
    if database_url:
        storage["database_url"] = database_url
    overrides = {"security": {"enabled": False}, "storage": storage}
    a, b = ServiceUnderTest(overrides=overrides), ServiceUnderTest(overrides=overrides)
    try:
        for svc in (a, b):
            svc.start()
        subs = [Subscriber(), Subscriber()]
        await subs[0].start(a.ws_url)
        await subs[1].start(b.ws_url)
        local, shared = await latency(a.ws_url, subs, args.events)
        for name, lat in (("A (local)", local), ("B (shared bus)", shared)):
            p50, p99 = percentile(lat, 50) * 1e3, percentile(lat, 99) * 1e3
            print(f"latency {name}: p50 {p50:.2f} ms p99 {p99:.2f} ms")
        rates = await throughput(a.ws_url, subs, args.burst, base=1_000_000)
        print(f"throughput: A {rates[0]:.0f} events/s, B {rates[1]:.0f} events/s")
        for sub in subs:
            if sub.ws is not None:
                sub.ws.close()
        return {"local": local, "shared": shared, "rates": rates}
    finally:
        a.stop()
        b.stop()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with run_redis() as redis:
        if args.engine in ("both", "sqlite"):
            print("== each instance its own SQLite")
            results["sqlite"] = await scenario(redis.url, None, args)
            redis.flush()
        if args.engine in ("both", "postgresql"):
            print("== one PostgreSQL")
            with run_postgres() as pg:
                results["postgresql"] = await scenario(redis.url, pg.create_database(), args)
    return results


def table(results: dict[str, Any], args: argparse.Namespace) -> str:
    def ms(values: list[float], q: float) -> str:
        return f"{percentile(values, q) * 1000:.2f}"

    rows = [
        f"| database | subscriber | events | p50 ms | p99 ms | max ms | events/s (burst of {args.burst}) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    verdicts = []
    for engine, r in results.items():
        label = "own SQLite each" if engine == "sqlite" else "one PostgreSQL"
        local, shared = r["local"], r["shared"]
        rate_a, rate_b = r["rates"]
        for who, lat, rate in (("on A (raised there)", local, rate_a), ("on B (shared bus)", shared, rate_b)):
            rows.append(
                f"| {label} | {who} | {len(lat)} | {ms(lat, 50)} | {ms(lat, 99)} | "
                f"{max(lat) * 1000:.2f} | {rate:.0f} |"
            )
        p99 = percentile(shared, 99)
        verdicts.append(
            f"{label}: B / A p50 {percentile(shared, 50) / percentile(local, 50):.2f}x, events/s "
            f"{rate_b / rate_a:.2f}x; raised on A, heard on B within 1 s: "
            f"**{'met' if p99 < 1.0 else 'NOT met'}** (p99 {p99 * 1000:.1f} ms)."
        )
    return "\n".join(
        [
            f"`.venv/bin/python -m bench.bus` on {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}: two instances (own processes, security off) and one private "
            "redis-server on 127.0.0.1, first each with its own SQLite, then both on one private PostgreSQL "
            "(tests/harness/postgres.py: fsync off). Events raised on A with `create_event`; one subscriber "
            "on A (the single-instance path: the reference) and one on B (through the Redis Stream), minimal "
            "client (bench/rawws.py). Latency: one event at a time, from just before the request is sent "
            "until the notification arrives. Events/s: 4 connections publish as fast as they can on A (each "
            "event stored before the reply), measured where the notifications arrive; B keeping pace with A "
            "means the shared bus is not the bottleneck. Everything shares the machine's cores.",
            "",
            *rows,
            "",
            *(f"- {v}" for v in verdicts),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=300, help="events timed one at a time")
    parser.add_argument("--burst", type=int, default=2000, help="events published as fast as possible")
    parser.add_argument("--engine", choices=("both", "sqlite", "postgresql"), default="both")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/performance.md")
    args = parser.parse_args()
    import uvloop  # the service runs on uvloop too (camera_service/cli.py)

    results = uvloop.run(run(args))
    body = table(results, args)
    print(body)
    if not args.no_write:
        write_section("Shared bus (scale-out)", body)


if __name__ == "__main__":
    main()

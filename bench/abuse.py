"""Hostile load vs a bystander (security issue 18, H1/M2/M5): an authenticated client's `ping` latency on an
idle service, then while 4 anonymous connections send rpc.discover batches, while slow readers sit on
the socket, and while 2,000 unauthenticated sockets are open. Goal: p99 within 2x of idle; an admin is
always admitted.

The service runs as a child process with the production rate limits and security limits; the discover
flood and the slow readers run in another process, the bystander (and the 2,000 idle sockets) here. The
machine is shared: every row is measured in the same run, next to two idle references.

Run: `.venv/bin/python -m bench.abuse [--duration 8]` (`--no-write` to leave docs/performance.md alone).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import platform
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

import psutil
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from bench.common import ServiceUnderTest, percentile, write_section

ANON_BATCH = 10  # security.anonymous_max_batch_size (default)


@dataclass
class Row:
    scenario: str
    p50_ms: float
    p99_ms: float
    samples: int
    note: str


async def bystander(url: str, token: str, duration: float) -> list[float]:
    """Closed-loop pings, one every 20 ms, from an authenticated client."""
    lat: list[float] = []
    async with connect(
        url, additional_headers={"Authorization": f"Bearer {token}"}, max_size=None, ping_interval=None
    ) as ws:
        stop = time.perf_counter() + duration
        i = 0
        while time.perf_counter() < stop:
            i += 1
            t0 = time.perf_counter()
            await ws.send(json.dumps({"jsonrpc": "2.0", "method": "ping", "id": i}))
            reply = json.loads(await ws.recv())
            if reply.get("result") != "pong":
                raise RuntimeError(f"bystander got {reply}")
            lat.append(time.perf_counter() - t0)
            await asyncio.sleep(0.02)
    return lat


async def discover_flood(url: str, stop: asyncio.Event, counts: list[int]) -> None:
    """One anonymous connection sending discover batches back to back (4 outstanding)."""
    batch = json.dumps([{"jsonrpc": "2.0", "method": "rpc.discover", "id": i} for i in range(ANON_BATCH)])
    async with connect(url, max_size=None, ping_interval=None) as ws:

        async def reader() -> None:
            while True:
                await ws.recv()
                counts[0] += 1

        read = asyncio.create_task(reader())
        try:
            while not stop.is_set():
                await ws.send(batch)
                await asyncio.sleep(0)
                if counts[1] - counts[0] > 4:  # at most 4 batches in flight per attacker
                    await asyncio.sleep(0.005)
                    continue
                counts[1] += 1
        finally:
            read.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await read


async def slow_reader(url: str, stop: asyncio.Event) -> None:
    """Asks for large replies and never reads them (until the server gives up on it)."""
    one = '{"jsonrpc":"2.0","method":"rpc.discover","id":1}'
    with contextlib.suppress(Exception):
        async with connect(url, max_size=None, ping_interval=None, max_queue=1) as ws:
            ws.transport.pause_reading()  # a client that never reads: the kernel buffers fill up
            while not stop.is_set():
                await asyncio.wait_for(ws.send(one), 1.0)
                await asyncio.sleep(0.001)


def _attack(kind: str, url: str, seconds: float, results: Any) -> None:
    """Runs in its own process: the attackers' client-side work must not slow the bystander's loop."""

    async def main() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(seconds, stop.set)
        counts = [0, 0]
        if kind == "flood":
            await asyncio.gather(*(discover_flood(url, stop, counts) for _ in range(4)))
        else:
            await asyncio.gather(*(slow_reader(url, stop) for _ in range(3)))
        results.put(counts[0])

    asyncio.run(main())


async def during(url: str, token: str, duration: float, kind: str) -> tuple[list[float], int]:
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    proc = ctx.Process(target=_attack, args=(kind, url, duration + 4.0, results))
    proc.start()
    await asyncio.sleep(3.0)  # the child starts (spawn) and the attack ramps up
    try:
        return await bystander(url, token, duration), await asyncio.to_thread(results.get, True, 120)
    finally:
        await asyncio.to_thread(proc.join, 60)


async def run(duration: float) -> tuple[list[Row], dict[str, object]]:
    svc = ServiceUnderTest(
        overrides={
            "security": {
                "rate_limit_connection": {"per_second": 100.0, "burst": 200},  # the production defaults
                "rate_limit_identity": {"per_second": 200.0, "burst": 400},
            },
            "server": {"max_connections": 2000 + 500},
        }
    )
    svc.start()
    info: dict[str, object] = {}
    rows: list[Row] = []
    url, token = svc.ws_url, svc.token()
    assert svc.proc is not None
    proc = psutil.Process(svc.proc.pid)
    try:
        idle = await bystander(url, token, duration)
        rows.append(Row("idle service", *_pct(idle), len(idle), "reference"))

        lat, answered = await during(url, token, duration, "flood")
        rows.append(
            Row(
                "4 anonymous connections, rpc.discover batches of 10",
                *_pct(lat),
                len(lat),
                f"{answered} batches answered in {duration + 4:.0f} s (paced by the 1 MiB/s budget each)",
            )
        )

        rss_before = proc.memory_info().rss

        lat, _ = await during(url, token, duration, "slow")
        rss_after = proc.memory_info().rss
        rows.append(
            Row(
                "3 slow readers (discover requests, never read)",
                *_pct(lat),
                len(lat),
                f"server RSS {rss_before / 1e6:.0f} -> {rss_after / 1e6:.0f} MB",
            )
        )

        sockets: list[ClientConnection] = []
        refused = 0
        for _ in range(2000):
            try:
                sockets.append(await connect(url, ping_interval=None, open_timeout=30))
            except InvalidStatus:
                refused += 1
        try:
            t0 = time.perf_counter()
            admin = await connect(
                url, additional_headers={"Authorization": f"Bearer {token}"}, ping_interval=None
            )
            admitted_ms = (time.perf_counter() - t0) * 1000
            await admin.send('{"jsonrpc":"2.0","method":"get_server_info","id":1}')
            admitted = "result" in json.loads(await admin.recv())
            await admin.close()
            still_open = sum(1 for s in sockets if s.close_code is None)
            lat = await bystander(url, token, duration)
            rows.append(
                Row(
                    "2,000 unauthenticated sockets attempted",
                    *_pct(lat),
                    len(lat),
                    f"{len(sockets)} upgraded, {refused} refused (503), {still_open} open when measured; "
                    "a new admin "
                    f"{'admitted' if admitted else 'NOT admitted'} in {admitted_ms:.0f} ms",
                )
            )
            info["admin_admitted"] = admitted
        finally:
            await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)
        idle = await bystander(url, token, duration)
        rows.append(Row("idle service again (after the attacks)", *_pct(idle), len(idle), "reference"))
    finally:
        svc.stop()
    return rows, info


def _pct(lat: list[float]) -> tuple[float, float]:
    return percentile(lat, 50) * 1000, percentile(lat, 99) * 1000


def render(rows: list[Row], duration: float) -> str:
    # The lower of the two idle references: the conservative ratio on a machine with noisy neighbours.
    idle_p99 = min(r.p99_ms for r in rows if r.note == "reference")
    lines = [
        f"`bench/abuse.py` ({date.today().isoformat()}, {platform.machine()}, {psutil.cpu_count()} CPUs, "
        f"load average {' / '.join(f'{x:.1f}' for x in psutil.getloadavg())} at the end: the machine was "
        f"shared with other builds, so absolute numbers are noisy; the rows are measured in one run). "
        f"Bystander: an authenticated client pinging every 20 ms for {duration:.0f} s per row. Goal: p99 "
        "within 2x of idle (ratios against the lower of the two idle rows); an admin is always admitted. "
        "Rerun: `.venv/bin/python -m bench.abuse`.",
        "",
        "| scenario | bystander p50 ms | p99 ms | p99 / idle | samples | notes |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = r.p99_ms / idle_p99 if idle_p99 else float("nan")
        lines.append(
            f"| {r.scenario} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {ratio:.2f}x | {r.samples} | {r.note} |"
        )
    attacks = [r for r in rows if r.note != "reference"]
    met = [r.scenario for r in attacks if r.p99_ms <= 2 * idle_p99]
    lines += [
        "",
        f"p99 within 2x of idle in {len(met)} of {len(attacks)} attack rows; p50 within "
        f"{max(r.p50_ms for r in attacks) / min(r.p50_ms for r in rows if r.note == 'reference'):.2f}x of "
        "idle in all. The attacking clients run in a second process on the same cores as the service, so on "
        "a 2-core machine their own receiving work competes with the service too; p99 of ~450 samples is "
        "the 5th-worst ping, sensitive to any scheduling hiccup of a loaded machine.",
        "",
        "Before issue 18 (the audit's numbers, same kind of machine): 2 anonymous connections with batches "
        "of 100 discovers pushed a bystander's ping from p50 1.1 ms to 432 ms, 4 connections to 1,028 ms; "
        "3 slow readers grew the server from 216 to 762 MB; 2,000 unauthenticated sockets locked an admin "
        "out (1013).",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    rows, _info = asyncio.run(run(args.duration))
    text = render(rows, args.duration)
    print(text)
    if not args.no_write:
        write_section("Abuse resistance (bystander latency under hostile load)", text)


if __name__ == "__main__":
    main()

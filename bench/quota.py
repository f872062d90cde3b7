"""Shared quotas (scale-out): the cost of a live-view lease in Redis next to the in-memory count.

The quota ports themselves (no MediaMTX, no WebSocket): what one authorised read adds to MediaMTX's auth
callback, and what the renewal round costs an instance with many viewers. One private redis-server.

1. Admission: one viewer's lease cycle (acquire, confirm, release), one after another; the reference is the
   in-memory `LiveViewQuotas` in the same run.
2. Contention: `--instances` RedisLiveViewQuotas (each with its own connection pool, as separate instances)
   and `--viewers` concurrent acquires for a limit of `--limit`: how many were admitted (must be exactly the
   limit) and the acquire latency p50/p99.
3. Renewal: one round over `--leases` confirmed leases of one instance (it must finish well within a third
   of `security.live_lease_ttl_s`, 5 s by default).

Run: `.venv/bin/python -m bench.quota` (`--no-write` to leave docs/performance.md alone).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time
from typing import Any

from bench.common import percentile, write_section
from camera_service.auth.quota import LiveViewQuotas
from camera_service.auth.quota_redis import RENEW_BATCH, RedisLiveViewQuotas
from camera_service.storage.redis import open_redis
from tests.harness.redis import run_redis

POOL = 16  # app.py: the quota client's max_connections


async def cycle_times(quotas: Any, n: int, prefix: str) -> list[float]:
    times = []
    for i in range(n):
        sid = f"{prefix}-{i}"
        t0 = time.perf_counter()
        assert await quotas.acquire(sid, "cam", "POLICE", f"fp-{sid}", holder=sid)
        await quotas.confirm(sid)
        await quotas.release(sid)
        times.append(time.perf_counter() - t0)
    return times


async def run(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    memory = LiveViewQuotas({"POLICE": 10})
    await cycle_times(memory, 200, "warm")
    out["memory_cycle"] = await cycle_times(memory, args.cycles, "m")
    with run_redis() as server:
        shared = RedisLiveViewQuotas(
            {"POLICE": 10}, open_redis(server.url, max_connections=POOL), lease_ttl_s=15
        )
        await cycle_times(shared, 200, "warm")
        out["redis_cycle"] = await cycle_times(shared, args.cycles, "r")
        await shared.stop()

        instances = [
            RedisLiveViewQuotas(
                {"POLICE": args.limit}, open_redis(server.url, max_connections=POOL), lease_ttl_s=15
            )
            for _ in range(args.instances)
        ]
        latencies: list[float] = []

        async def viewer(i: int) -> bool:
            t0 = time.perf_counter()
            ok = await instances[i % len(instances)].acquire(
                f"v{i}", "cam", "POLICE", f"fp{i}", holder=f"h{i}"
            )
            latencies.append(time.perf_counter() - t0)
            return ok

        admitted = await asyncio.gather(*(viewer(i) for i in range(args.viewers)))
        out["admitted"] = sum(admitted)
        out["acquire"] = latencies
        for quotas in instances:
            await quotas.stop()

        server.flush()
        renewing = RedisLiveViewQuotas(
            {"POLICE": args.leases}, open_redis(server.url, max_connections=POOL), lease_ttl_s=15
        )
        for i in range(args.leases):
            assert await renewing.acquire(f"l{i}", "cam", "POLICE", f"fl{i}", holder=f"h{i}")
            await renewing.confirm(f"l{i}")
        rounds = []
        for _ in range(5):
            t0 = time.perf_counter()
            await renewing.renew_all()
            rounds.append(time.perf_counter() - t0)
        out["renew_round"] = rounds
        await renewing.stop()
    out["load"] = os.getloadavg()[0]
    return out


def table(r: dict[str, Any], args: argparse.Namespace) -> str:
    def ms(values: list[float], q: float) -> float:
        return percentile(values, q) * 1000.0

    mem, red, acq, rounds = r["memory_cycle"], r["redis_cycle"], r["acquire"], r["renew_round"]
    ratio = percentile(red, 50) / max(percentile(mem, 50), 1e-9)
    where = f"{platform.machine()}, Python {platform.python_version()}"
    red50 = f"{ms(red, 50):.3f} ms ({ratio:.0f}x)"
    return f"""`python -m bench.quota` (bench/quota.py) on {where}, Debian's redis-server on loopback
(private, no persistence), each instance's client with a pool of {POOL} connections as in app.py. The quota
ports without MediaMTX: what a lease adds to one authorised read, next to the in-memory count (the
reference, same run).

| What | In memory (reference) | Redis (Lua) |
|---|---|---|
| One viewer's lease cycle (acquire, confirm, release), p50 | {ms(mem, 50):.3f} ms | {red50} |
| Same, p99 | {ms(mem, 99):.3f} ms | {ms(red, 99):.3f} ms |

Contention: {args.viewers} concurrent acquires spread over {args.instances} instances for a limit of
{args.limit}: **{r["admitted"]} admitted** (exactly the limit); acquire latency p50 {ms(acq, 50):.1f} ms,
p99 {ms(acq, 99):.1f} ms (all queued at once, cold pools).

Renewal: one round over {args.leases} confirmed leases of one instance (pipelined, {RENEW_BATCH} per round
trip) takes {ms(rounds, 50):.0f} ms (median of 5; max {max(rounds) * 1000:.0f} ms), against a renewal
interval of 5 s (a third of the default 15 s lease TTL).

Host load average during the run: {r["load"]:.1f} on {os.cpu_count()} CPUs (absolute times on a shared
machine vary with it; the limit and the ratio to the renewal interval are what to read).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cycles", type=int, default=2000, help="lease cycles timed one at a time")
    parser.add_argument("--instances", type=int, default=10)
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--leases", type=int, default=1000, help="confirmed leases renewed in one round")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/performance.md")
    args = parser.parse_args()
    import uvloop  # the service runs on uvloop too (camera_service/cli.py)

    results = uvloop.run(run(args))
    if results["admitted"] != args.limit:
        raise SystemExit(f"admitted {results['admitted']} of limit {args.limit}")
    body = table(results, args)
    print(body)
    if not args.no_write:
        write_section("Shared quotas (scale-out)", body)


if __name__ == "__main__":
    main()

"""PostgreSQL next to SQLite, in the same run on the same machine (issue 16: `list_cameras` p99 with 500
cameras on PostgreSQL next to SQLite).

1. Service level: two real services, each in its own process (security off, as bench.cameras), one on the
   default SQLite file and one with `storage.database_url` on a private PostgreSQL server
   (tests/harness/postgres.py, Debian's binaries, fsync off), running at once, calls alternating: add 500
   cameras over the WebSocket (a DB write and a MediaMTX upsert each), then `list_cameras` pages of 100
   at random offsets, p50/p99.
2. Store level, in this process: the SQL that engine choice changes: `CameraStore.load_all` (500 rows,
   what a start-up reads), `EventStore.insert` (one autocommit write) and `EventStore.query` (a keyset
   page of 100 out of 5000 events), p50/p99 on each engine (engines alternate, twice each).
Run: `.venv/bin/python -m bench.postgres` (`-n` calls per row, `--no-write` to skip docs/performance.md).
"""

from __future__ import annotations

import argparse
import platform
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psutil
from cryptography.fernet import Fernet

from bench.common import ServiceUnderTest, percentile, write_section
from camera_service.cameras.models import Camera
from camera_service.cameras.store import MIGRATIONS as CAMERA_MIGRATIONS
from camera_service.cameras.store import CameraStore
from camera_service.client import CameraServiceClient
from camera_service.core.bus import Event
from camera_service.events.store import EventQuery, EventStore, migrations
from camera_service.storage.crypto import SecretBox
from camera_service.storage.factory import database_for_url
from tests.harness.postgres import run_postgres

CAMERAS = 500
EVENTS = 5000


async def timed(n: int, fn: Callable[[], Awaitable[Any]]) -> list[float]:
    lat = []
    for _ in range(n):
        t0 = time.perf_counter()
        await fn()
        lat.append(time.perf_counter() - t0)
    return lat


async def service_level(pg_url: str, n: int) -> dict[str, dict[str, Any]]:
    """Both services run at once; every measurement alternates between them, so machine load (shared
    cores) falls on both alike."""
    unlimited = {"per_second": 1_000_000, "burst": 1_000_000}
    security = {"enabled": False, "rate_limit_connection": unlimited, "rate_limit_identity": unlimited}
    # Keepalive pings far apart: on a loaded machine a late pong would close the connection mid-run.
    server = {"ping_interval_s": 600}
    services = {
        "SQLite": ServiceUnderTest(overrides={"security": security, "server": server}),
        "PostgreSQL": ServiceUnderTest(
            overrides={"security": security, "server": server, "storage": {"database_url": pg_url}}
        ),
    }
    out: dict[str, dict[str, Any]] = {name: {"add_s": 0.0, "list": []} for name in services}
    try:
        for svc in services.values():
            svc.start()
        rpcs = {
            name: CameraServiceClient(svc.ws_url, token="", reconnect=False) for name, svc in services.items()
        }
        for rpc in rpcs.values():
            await rpc.connect()
        for i in range(CAMERAS):
            for name, rpc in rpcs.items():
                t0 = time.perf_counter()
                await rpc.call(
                    "add_camera",
                    {
                        "id": f"cam{i:04d}",
                        "name": f"Camera {i}",
                        "on_demand": True,
                        "source": f"rtsp://user:pw{i}@10.255.{i // 250}.{i % 250 + 1}:554/stream1",
                        "tags": [f"floor{i % 5}"],
                    },
                )
                out[name]["add_s"] += time.perf_counter() - t0
        for rep in range(20 + n):
            offset = random.randrange(0, CAMERAS - 100)
            for name, rpc in rpcs.items():
                t0 = time.perf_counter()
                await rpc.call("list_cameras", {"limit": 100, "offset": offset})
                if rep >= 20:  # the first 20 warm up
                    out[name]["list"].append(time.perf_counter() - t0)
        for rpc in rpcs.values():
            await rpc.close()
    finally:
        for svc in services.values():
            svc.stop()
    return out


async def store_level(url: str, n: int) -> dict[str, list[float]]:
    db = database_for_url(url)
    db.register("cameras", CAMERA_MIGRATIONS)
    db.register("events", migrations())
    await db.start()
    try:
        cameras = CameraStore(db, SecretBox(Fernet.generate_key()))
        for i in range(CAMERAS):
            await cameras.insert(Camera(id=f"cam{i:04d}", name=f"Camera {i}", source="publisher", tags=["t"]))
        events = EventStore(db)
        t = 1_764_500_000.0
        writes = [
            Event(type="alarm.motion", camera=f"cam{i % CAMERAS:04d}", time=t + i) for i in range(EVENTS)
        ]
        it = iter(writes)
        insert = await timed(EVENTS, lambda: events.insert(next(it)))
        load = await timed(max(10, n // 10), cameras.load_all)

        async def page() -> None:
            q = EventQuery(camera=f"cam{random.randrange(CAMERAS):04d}", limit=100)
            await events.query(q)
            await events.query(EventQuery(start=t + random.randrange(EVENTS - 200), limit=100))

        query = await timed(n, page)
        return {"load_all": load, "insert": insert, "query": query}
    finally:
        await db.stop()


async def run(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    with run_postgres() as pg, tempfile.TemporaryDirectory(prefix="cs-bench-pg-") as tmp:
        results = await service_level(pg.create_database(), args.n)
        for rnd in range(2):  # alternate engines twice: load on the shared cores falls on both
            for engine, url in (
                ("SQLite", f"sqlite:///{Path(tmp) / f'store{rnd}.db'}"),
                ("PostgreSQL", None),
            ):
                measured = await store_level(url or pg.create_database(), args.n)
                for key, values in measured.items():
                    results[engine].setdefault(key, []).extend(values)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=500, help="calls per latency row")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/performance.md")
    args = parser.parse_args()
    import uvloop  # the service runs on uvloop too (camera_service/cli.py)

    r = uvloop.run(run(args))
    ms = lambda xs, q: f"{percentile(xs, q) * 1e3:.2f}"  # noqa: E731
    sq, pg = r["SQLite"], r["PostgreSQL"]
    rows = [
        ("`list_cameras` over the WebSocket (page of 100, random offset)", "list"),
        ("`CameraStore.load_all` (500 rows, start-up read)", "load_all"),
        ("`EventStore.insert` (one autocommit write)", "insert"),
        ("`EventStore.query` x2 (a camera's newest 100; 100 from a time)", "query"),
    ]
    table = [
        "| 500 cameras, 5000 events | SQLite p50 ms | SQLite p99 ms | PostgreSQL p50 ms | PostgreSQL p99 ms "
        "| p99 ratio PG/SQLite |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, key in rows:
        ratio = percentile(pg[key], 99) / percentile(sq[key], 99)
        table.append(
            f"| {label} | {ms(sq[key], 50)} | {ms(sq[key], 99)} | {ms(pg[key], 50)} | {ms(pg[key], 99)} "
            f"| {ratio:.2f} |"
        )
    table.append(
        f"| add 500 cameras one by one over the WebSocket (sum of call times) | {sq['add_s']:.2f} s | | "
        f"{pg['add_s']:.2f} s | | {pg['add_s'] / sq['add_s']:.2f} |"
    )
    body = "\n".join(
        [
            f"Machine: {platform.machine()}, {psutil.cpu_count()} CPUs, Python {platform.python_version()}; "
            f"PostgreSQL: a private server from Debian's package on 127.0.0.1 (tests/harness/postgres.py, "
            f"fsync off), psycopg 3 pool; SQLite: the default WAL file. Both engines measured in one run; "
            f"{args.n} sequential calls per latency row, store rows twice per engine (`insert`: {EVENTS}). "
            "Command: `.venv/bin/python -m bench.postgres`.",
            "",
            *table,
            "",
            "`list_cameras` is answered from the camera registry's memory on both engines (the database is "
            "read at start-up: the `load_all` row; writes go to both); the store rows show what a round trip "
            "to PostgreSQL costs against SQLite's in-process file. The two services, the PostgreSQL server "
            "and this client share the machine's cores.",
        ]
    )
    print(body)
    if not args.no_write:
        write_section("PostgreSQL next to SQLite", body)


if __name__ == "__main__":
    main()

"""Several camera-service instances sharing one PostgreSQL and optionally one Redis (docs/scale-out.md):
each a real child process (so one can be SIGKILLed) with its own MediaMTX, data dir and ports.

`ClusterInstance.kill()` kills the whole instance as a dead machine would end it: the service AND its
managed MediaMTX (which otherwise outlives a SIGKILLed service on purpose, ADR 0011, and keeps
recording). Use `async with run_cluster(...) as nodes:`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from camera_service.core.dicts import deep_merge
from tests.harness.ports import free_ports
from tests.harness.rpc_client import RpcClient
from tests.harness.service import ServiceProcess, service_config

# One credentials key for all instances (they share the camera rows); the JWT secret is the test one.
CLUSTER_SECRET_KEY = "6570-tOdZJ8vu4JoMX3KjZIXeCQyy6WnN_jpAYtQwi0="

# Fast timing for tests: a dead instance's cameras move within lease_ttl + renew_interval = 6 s.
FAST_TIMING = {
    "heartbeat_interval_s": 0.5,
    "instance_ttl_s": 2.5,
    "lease_ttl_s": 4.5,
    "renew_interval_s": 1.5,
}


@dataclass
class ClusterInstance:
    instance_id: str
    data_dir: Path
    process: ServiceProcess

    @property
    def config(self) -> dict[str, Any]:
        return self.process.config

    @property
    def ws_url(self) -> str:
        return self.process.ws_url

    @property
    def rtsp_port(self) -> int:
        return int(self.config["mediamtx"]["rtsp_port"])

    async def client(self, role: str | None = "admin") -> RpcClient:
        return await self.process.client(role)

    def mediamtx_pid(self) -> int | None:
        pidfile = self.data_dir / "run" / "mediamtx.pid"
        try:
            return int(json.loads(pidfile.read_text())["pid"])
        except (OSError, ValueError, KeyError):
            return None

    def kill(self) -> None:
        """SIGKILL the service and its MediaMTX (the machine died)."""
        mtx = self.mediamtx_pid()
        with contextlib.suppress(ProcessLookupError):  # already gone
            self.process.kill()
        if mtx is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(mtx, signal.SIGKILL)


def instance_config(
    instance_id: str,
    data_dir: Path,
    database_url: str,
    overrides: dict[str, Any] | None = None,
    *,
    redis_url: str | None = None,
) -> dict[str, Any]:
    (port,) = free_ports(1)
    storage: dict[str, Any] = {"database_url": database_url}
    if redis_url is not None:
        storage["redis_url"] = redis_url  # shared events, pushes and quotas
    base = service_config(
        data_dir,
        server_port=port,
        overrides={
            "storage": storage,
            "cameras": {"secret_key": CLUSTER_SECRET_KEY},
            "cluster": {
                "enabled": True,
                "instance_id": instance_id,
                **FAST_TIMING,
            },
        },
    )
    return deep_merge(base, overrides or {})


@contextlib.asynccontextmanager
async def run_cluster(
    n: int,
    database_url: str,
    workdir: Path,
    overrides: dict[str, Any] | None = None,
    *,
    redis_url: str | None = None,
) -> AsyncIterator[list[ClusterInstance]]:
    """Start `n` instances (ids node-a, node-b, ...) on one database (and one Redis when given); stop
    (or reap) them afterwards."""
    nodes: list[ClusterInstance] = []
    try:
        for i in range(n):
            inst = f"node-{chr(ord('a') + i)}"
            data_dir = workdir / inst
            cfg = instance_config(inst, data_dir, database_url, overrides, redis_url=redis_url)
            nodes.append(ClusterInstance(inst, data_dir, ServiceProcess(cfg, workdir / f"{inst}-proc")))
        # All at once, on a fresh database (migrations and first-start bootstraps race, as in production).
        await asyncio.gather(*(node.process.start(timeout=90.0) for node in nodes))
        yield nodes
    finally:
        for node in reversed(nodes):
            with contextlib.suppress(Exception):
                await node.process.stop()
            node.kill()  # a killed node's MediaMTX, or anything a failed stop left behind


# ---- what the shared database says (tests and bench/failover.py) ----------------------------------


async def db_rows(database_url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        cur = await conn.execute(sql, args)
        return list(await cur.fetchall())


async def lease_owners(database_url: str) -> dict[str, tuple[str, int, float]]:
    """camera -> (owner, epoch, seconds its lease still runs), for unexpired leases."""
    rows = await db_rows(
        database_url,
        "SELECT camera_id, instance_id, epoch, "
        "lease_expires_at - EXTRACT(EPOCH FROM clock_timestamp())::float8 FROM camera_owner",
    )
    return {r[0]: (r[1], int(r[2]), float(r[3])) for r in rows if float(r[3]) > 0}


async def recorded_since(database_url: str, since: float) -> dict[str, set[str]]:
    """camera -> instances with a segment row starting at or after `since` (unix seconds)."""
    rows = await db_rows(database_url, "SELECT camera, owner FROM rec_segments WHERE start >= %s", since)
    out: dict[str, set[str]] = {}
    for camera, owner in rows:
        out.setdefault(camera, set()).add(owner)
    return out


async def overlapping_segments(database_url: str) -> list[tuple[Any, ...]]:
    """Pairs of segments of one camera from different holdings (owner, epoch) that overlap in time."""
    return await db_rows(
        database_url,
        "SELECT a.camera, a.owner, a.epoch, a.start, b.owner, b.epoch, b.start FROM rec_segments a "
        "JOIN rec_segments b ON a.camera = b.camera AND a.id < b.id "
        "AND (a.owner IS DISTINCT FROM b.owner OR a.epoch IS DISTINCT FROM b.epoch) "
        "AND a.start < b.start + b.duration_s AND b.start < a.start + a.duration_s",
    )

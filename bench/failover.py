"""Scale-out failover: how long a killed instance's cameras wait until they record on another instance.

Three camera-service processes (each with its own MediaMTX and data dir) on one private PostgreSQL,
with the DEFAULT cluster timing (lease 10 s, renew 3 s, heartbeat 2 s, instance TTL 8 s); 30 cameras
pulled from 3 ffmpeg publishers through a source MediaMTX, recorded continuously in 2 s segments.
Each run kills one instance with SIGKILL (service and its MediaMTX) and measures until every one of its
cameras has an unexpired lease on a survivor AND a segment recorded there that started after the kill.
Bar: the issue's 20 s; reference: the configured bound lease_ttl_s + renew_interval_s (the rest is the
source connection and the first segment). A clean stop (SIGTERM) is measured the same way: its leases
are released, so the survivors need no lease to run out.

Run: `.venv/bin/python -m bench.failover` (`--no-write` to leave docs/performance.md alone).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
import time
from pathlib import Path

from bench.common import write_section
from camera_service.cluster.config import ClusterConfig
from tests.harness.cluster import lease_owners, recorded_since, run_cluster
from tests.harness.ffmpeg import TestCamera
from tests.harness.mediamtx import run_mediamtx
from tests.harness.postgres import run_postgres
from tests.harness.procs import wait_for

CAMERAS = [f"cam{i:02d}" for i in range(30)]
DEFAULTS = ClusterConfig()
TIMING = {
    "cluster": {
        "heartbeat_interval_s": DEFAULTS.heartbeat_interval_s,
        "instance_ttl_s": DEFAULTS.instance_ttl_s,
        "lease_ttl_s": DEFAULTS.lease_ttl_s,
        "renew_interval_s": DEFAULTS.renew_interval_s,
    },
    "recordings": {"segment_duration_s": 2.0, "part_duration_s": 0.5},
}


async def _moved(url: str, cams: set[str], to: set[str], since: float) -> float | None:
    owners = await lease_owners(url)
    if any(owners.get(cid, ("", 0, 0.0))[0] not in to for cid in cams):
        return None
    recorded = await recorded_since(url, since)
    if all(recorded.get(cid, set()) & to for cid in cams):
        return time.time() - since
    return None


async def _one_cluster(url: str, source_url: str, workdir: Path) -> tuple[float, float, int, int]:
    async with run_cluster(3, url, workdir, TIMING) as nodes:
        a, b, c = nodes
        admin = await a.client()
        for i, cid in enumerate(CAMERAS):
            await admin.call("add_camera", {"id": cid, "source": f"{source_url}/src{i % 3}"})
            await admin.call("set_recording_policy", {"camera": cid, "policy": {"mode": "continuous"}})
        start = time.time()

        async def settled() -> bool:
            owners = await lease_owners(url)
            recorded = await recorded_since(url, start)
            return set(owners) == set(CAMERAS) and all(
                owners[c][0] in recorded.get(c, set()) for c in CAMERAS
            )

        await wait_for(settled, 120, 0.5, message="cameras not all owned and recording")
        owners = await lease_owners(url)
        on_b = {cid for cid, (o, _e, _t) in owners.items() if o == b.instance_id}
        killed = time.time()
        b.kill()
        await b.process.wait_exit()
        failover = await wait_for(
            lambda: _moved(url, on_b, {a.instance_id, c.instance_id}, killed), 120, 0.25
        )
        on_c = {cid for cid, (o, _e, _t) in (await lease_owners(url)).items() if o == c.instance_id}
        stopped = time.time()
        await c.process.stop()
        handover = await wait_for(lambda: _moved(url, on_c, {a.instance_id}, stopped), 120, 0.25)
        return failover, handover, len(on_b), len(on_c)


async def main(runs: int, write: bool) -> None:
    bound = DEFAULTS.lease_ttl_s + DEFAULTS.renew_interval_s
    failovers: list[float] = []
    handovers: list[float] = []
    with run_postgres() as pg:
        async with run_mediamtx(workdir=Path(tempfile.mkdtemp(prefix="bench-failover-src-"))) as source:
            publishers = [
                TestCamera(source.rtsp_url(f"src{i}"), width=160, height=120, fps=5, gop=5) for i in range(3)
            ]
            for cam in publishers:
                await cam.start()
            try:
                for run in range(runs):
                    url = pg.create_database()
                    workdir = Path(tempfile.mkdtemp(prefix=f"bench-failover-{run}-"))
                    f, h, nb, nc = await _one_cluster(url, f"rtsp://127.0.0.1:{source.rtsp_port}", workdir)
                    failovers.append(f)
                    handovers.append(h)
                    print(f"run {run + 1}: kill -9 B ({nb} cameras) {f:.1f} s; clean stop C ({nc}) {h:.1f} s")
                    pg.drop_database(url)
            finally:
                for cam in publishers:
                    await cam.stop()
    worst = max(failovers)
    met = "met" if worst <= 20 else "MISSED"
    kills = ", ".join(f"{x:.1f}" for x in failovers)
    stops = ", ".join(f"{x:.1f}" for x in handovers)
    body = f"""
`bench/failover.py` ({runs} runs, {platform.machine()}, {os.cpu_count()} CPUs): three instances on one
private PostgreSQL with the default cluster timing (lease {DEFAULTS.lease_ttl_s:g} s, renew
{DEFAULTS.renew_interval_s:g} s, heartbeat {DEFAULTS.heartbeat_interval_s:g} s, instance TTL
{DEFAULTS.instance_ttl_s:g} s), 30 cameras recorded in 2 s segments. Time until every camera of the
stopped instance is leased by a survivor and has a segment recorded there that started after the stop.

| | runs (s) | worst (s) | bar | worst / lease bound ({bound:g} s) |
|---|---|---|---|---|
| kill -9 (service + its MediaMTX) | {kills} | {worst:.1f} | 20 s (issue 16): {met} | {worst / bound:.2f} |
| clean stop (leases released) | {stops} | {max(handovers):.1f} | - | {max(handovers) / bound:.2f} |

Rerun: `.venv/bin/python -m bench.failover --runs {runs}`.
"""
    print(body)
    if write:
        write_section("Scale-out failover (bench/failover.py)", body)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.runs, not args.no_write))

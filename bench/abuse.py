"""Hostile load vs a bystander (security issue 18, H1/M2/M5): an authenticated client's `ping` latency on an
idle service, then while 4 anonymous connections send rpc.discover batches, while slow readers sit on
the socket, and while 2,000 unauthenticated sockets are open. Goal: p99 within 2x of idle; an admin is
always admitted.

Fair placement (the same for the idle and the attack rows): real attackers and bystanders are other
machines, so on a machine with >= 2 CPUs the service (and MediaMTX, its child) runs on the first CPU
only (`taskset`), and the clients on the others: the attackers in their own process at nice 10, the
bystander (this process) at normal priority. Rows are interleaved over `--rounds` rounds (idle, flood,
slow readers, sockets, ...) and each scenario's samples pooled, so a noisy neighbour hits idle and attack
rows alike. The service runs with the production rate limits and security limits.

Run: `.venv/bin/python -m bench.abuse [--duration 8] [--rounds 3]` (`--no-write` leaves
docs/performance.md alone; `--profile DIR` records the service with py-spy during each attack row and
prints where its time goes: `.venv/bin/pip install -e '.[profile]'`).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import psutil
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from bench.common import ServiceUnderTest, percentile, write_section

ANON_BATCH = 10  # security.anonymous_max_batch_size (default)
IDLE_SOCKETS = 2000
ATTACKER_NICE = 10
SCENARIOS = {
    "idle": "idle service",
    "flood": "4 anonymous connections, rpc.discover batches of 10",
    "slow": "3 slow readers (discover requests, never read)",
    "sockets": "2,000 unauthenticated sockets attempted",
}


@dataclass
class Scenario:
    key: str
    samples: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def placement() -> tuple[set[int], set[int]] | None:
    """(service CPUs, client CPUs), or None on a single-CPU machine (then nothing is pinned)."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2 or shutil.which("taskset") is None:
        return None
    return {cpus[0]}, set(cpus[1:])


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
    """One anonymous connection sending discover batches back to back; once 4 are unanswered it still sends
    one every 5 ms, so what holds it back is the server (32 requests in flight per socket, then its reads
    wait)."""
    batch = json.dumps([{"jsonrpc": "2.0", "method": "rpc.discover", "id": i} for i in range(ANON_BATCH)])
    async with connect(url, max_size=None, ping_interval=None) as ws:

        async def reader() -> None:
            while True:
                await ws.recv(decode=False)
                counts[0] += 1

        read = asyncio.create_task(reader())
        try:
            while not stop.is_set():
                await ws.send(batch)
                await asyncio.sleep(0)
                if counts[1] - counts[0] > 4:  # slower, never stopped (see the docstring)
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


async def idle_sockets(url: str, stop: asyncio.Event, results: Any) -> None:
    """IDLE_SOCKETS unauthenticated sockets opened and held (the server closes them after its auth
    timeout); reports once they are all attempted, and how many were still open at the end."""
    sockets: list[ClientConnection] = []
    refused = 0
    for _ in range(IDLE_SOCKETS):
        try:
            sockets.append(await connect(url, ping_interval=None, open_timeout=30))
        except (InvalidStatus, OSError, TimeoutError):
            refused += 1
    results.put(("ready", len(sockets), refused))
    await stop.wait()
    still_open = sum(1 for s in sockets if s.close_code is None)
    await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)
    results.put(("done", still_open))


def _attack(kind: str, url: str, stop_event: Any, results: Any, cpus: set[int] | None) -> None:
    """Runs in its own process, away from the service's CPU and below the bystander's priority: the
    attackers' own client-side work stands for other machines, not for load on the service's host.
    Attacks until `stop_event` (a multiprocessing Event) is set."""
    if cpus:
        os.sched_setaffinity(0, cpus)
    os.nice(ATTACKER_NICE)

    async def main() -> None:
        stop = asyncio.Event()

        async def watch() -> None:
            await asyncio.to_thread(stop_event.wait, 600)
            stop.set()

        watcher = asyncio.create_task(watch())
        counts = [0, 0]
        if kind == "sockets":
            await idle_sockets(url, stop, results)
        elif kind == "flood":
            await asyncio.gather(*(discover_flood(url, stop, counts) for _ in range(4)))
            results.put(("done", counts[0]))
        else:
            await asyncio.gather(*(slow_reader(url, stop) for _ in range(3)))
            results.put(("done", 0))
        await watcher

    asyncio.run(main())


class Profiler:
    """py-spy on the service process during attack rows (`--profile DIR`)."""

    def __init__(self, out: Path | None, pid: int) -> None:
        self.out, self.pid = out, pid
        self.files: dict[str, list[Path]] = collections.defaultdict(list)
        beside = Path(sys.executable).parent / "py-spy"  # installed in the venv, not on PATH
        self.spy = str(beside) if beside.exists() else shutil.which("py-spy")
        if out is not None:
            if self.spy is None:
                raise SystemExit("--profile needs py-spy: .venv/bin/pip install -e '.[profile]'")
            out.mkdir(parents=True, exist_ok=True)

    def start(self, key: str, rnd: int, seconds: float) -> subprocess.Popen[bytes] | None:
        if self.out is None:
            return None
        path = self.out / f"{key}-{rnd}.txt"
        self.files[key].append(path)
        assert self.spy is not None
        argv = [self.spy, "record", "--nonblocking", "-r", "200", "-d", str(int(seconds)), "-f", "raw"]
        return subprocess.Popen(
            [*argv, "-p", str(self.pid), "-o", str(path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def summary(self, top: int = 8) -> str:
        lines = []
        for key, paths in self.files.items():
            own: collections.Counter[str] = collections.Counter()
            total = 0
            for path in paths:
                if not path.exists():
                    continue
                for line in path.read_text().splitlines():
                    stack, _, n = line.rpartition(" ")
                    if stack and n.isdigit():
                        own[stack.split(";")[-1]] += int(n)
                        total += int(n)
            lines.append(f"{SCENARIOS[key]}: {total} samples of the service, where they were:")
            lines += [f"  {100 * n / max(total, 1):5.1f}%  {frame}" for frame, n in own.most_common(top)]
        return "\n".join(lines)


async def row(
    key: str, url: str, token: str, duration: float, cpus: set[int] | None, profiler: Profiler, rnd: int
) -> tuple[list[float], str, dict[str, Any]]:
    """One attack row: the attacker process ramps up, then the bystander measures for `duration`."""
    ctx = multiprocessing.get_context("spawn")
    results, stop = ctx.Queue(), ctx.Event()
    proc = ctx.Process(target=_attack, args=(key, url, stop, results, cpus))
    proc.start()
    info: dict[str, Any] = {}
    try:
        if key == "sockets":
            _, upgraded, refused = await asyncio.to_thread(results.get, True, 300)
            t0 = time.perf_counter()
            admin = await connect(
                url, additional_headers={"Authorization": f"Bearer {token}"}, ping_interval=None
            )
            info["admitted_ms"] = (time.perf_counter() - t0) * 1000
            await admin.send('{"jsonrpc":"2.0","method":"get_server_info","id":1}')
            info["admitted"] = "result" in json.loads(await admin.recv())
            await admin.close()
            info.update(upgraded=upgraded, refused=refused)
        else:
            await asyncio.sleep(3.0)  # the child starts (spawn) and the attack ramps up
        spy = profiler.start(key, rnd, duration)
        lat = await bystander(url, token, duration)
        if spy is not None:
            await asyncio.to_thread(spy.wait, 60)
    finally:
        stop.set()
    done = await asyncio.to_thread(results.get, True, 120)
    await asyncio.to_thread(proc.join, 60)
    if key == "sockets":
        note = (
            f"{info['upgraded']} upgraded, {info['refused']} refused (503), {done[1]} still open after the "
            f"row; a new admin {'admitted' if info['admitted'] else 'NOT admitted'} in "
            f"{info['admitted_ms']:.0f} ms"
        )
    elif key == "flood":
        note = f"{done[1]} batches of ~2.2 MB answered"
    else:
        note = ""
    return lat, note, info


async def run(
    duration: float, rounds: int, profile: Path | None
) -> tuple[dict[str, Scenario], dict[str, Any]]:
    pinned = placement()
    service_cpus, client_cpus = pinned if pinned else (None, None)
    if client_cpus:
        os.sched_setaffinity(0, client_cpus)  # the bystander: a client, off the service's CPU
    svc = ServiceUnderTest(
        overrides={
            "security": {
                "rate_limit_connection": {"per_second": 100.0, "burst": 200},  # the production defaults
                "rate_limit_identity": {"per_second": 200.0, "burst": 400},
            },
            "server": {"max_connections": IDLE_SOCKETS + 500},
        },
        cpus=service_cpus,
    )
    profiler = Profiler(profile, 0)  # checks for py-spy before a service is started
    svc.start()
    assert svc.proc is not None
    proc = psutil.Process(svc.proc.pid)
    profiler.pid = svc.proc.pid
    scenarios = {key: Scenario(key) for key in SCENARIOS}
    info: dict[str, Any] = {"placement": pinned, "admitted": []}
    url, token = svc.ws_url, svc.token()
    try:
        await bystander(url, token, 2.0)  # warm-up, not counted
        for rnd in range(rounds):
            for key in SCENARIOS:
                if key == "idle":
                    scenarios[key].samples += await bystander(url, token, duration)
                    continue
                rss_before = proc.memory_info().rss
                lat, note, extra = await row(key, url, token, duration, client_cpus, profiler, rnd)
                scenarios[key].samples += lat
                if key == "slow":
                    note = f"server RSS {rss_before / 1e6:.0f} -> {proc.memory_info().rss / 1e6:.0f} MB"
                if key == "sockets":
                    info["admitted"].append(extra["admitted"])
                scenarios[key].notes.append(note)
    finally:
        svc.stop()
    if profile is not None:
        info["profile"] = profiler.summary()
    return scenarios, info


def _pct(lat: list[float]) -> tuple[float, float]:
    return percentile(lat, 50) * 1000, percentile(lat, 99) * 1000


def render(scenarios: dict[str, Scenario], info: dict[str, Any], duration: float, rounds: int) -> str:
    _, idle_p99 = _pct(scenarios["idle"].samples)
    pinned = info["placement"]
    where = (
        f"service and MediaMTX pinned to CPU {sorted(pinned[0])}, the bystander on CPU "
        f"{sorted(pinned[1])}, the attackers in their own process there at nice {ATTACKER_NICE}"
        if pinned
        else "one CPU: nothing pinned, attackers at nice 10"
    )
    lines = [
        f"`bench/abuse.py` ({date.today().isoformat()}, {platform.machine()}, {psutil.cpu_count()} CPUs, "
        f"load average {' / '.join(f'{x:.1f}' for x in psutil.getloadavg())} at the end: the machine was "
        "shared with other builds, so absolute numbers are noisy). Placement, the same for every row: "
        f"{where} (attackers stand for other machines). Bystander: an authenticated client pinging every "
        f"20 ms for {duration:.0f} s per row; {rounds} rounds of idle / flood / slow readers / sockets "
        "rows interleaved, each scenario's samples pooled. Goal: p99 within 2x of idle; an admin is "
        "always admitted. Rerun: `.venv/bin/python -m bench.abuse`.",
        "",
        "| scenario | bystander p50 ms | p99 ms | p99 / idle | samples | notes |",
        "|---|---|---|---|---|---|",
    ]
    met = 0
    for key, sc in scenarios.items():
        p50, p99 = _pct(sc.samples)
        ratio = p99 / idle_p99 if idle_p99 else float("nan")
        if key != "idle" and p99 <= 2 * idle_p99:
            met += 1
        note = "reference" if key == "idle" else "; ".join(n for n in dict.fromkeys(sc.notes) if n)
        lines.append(
            f"| {SCENARIOS[key]} | {p50:.2f} | {p99:.2f} | {ratio:.2f}x | {len(sc.samples)} | {note} |"
        )
    admitted = info["admitted"]
    lines += [
        "",
        f"p99 within 2x of idle in {met} of {len(scenarios) - 1} attack scenarios; an admin was admitted "
        f"in {sum(admitted)} of {len(admitted)} sockets rows.",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=8.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--profile", type=Path, default=None)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    scenarios, info = asyncio.run(run(args.duration, args.rounds, args.profile))
    text = render(scenarios, info, args.duration, args.rounds)
    print(text)
    if "profile" in info:
        print(info["profile"])
    if not args.no_write:
        write_section("Abuse resistance (bystander latency under hostile load)", text)


if __name__ == "__main__":
    main()

"""Soak: the real service for N minutes under a steady mixed load, with MediaMTX killed every few minutes.

Load: `--cameras` publisher cameras (ffmpeg stream-copies one pre-encoded clip in a loop, so 20 encoders do
not eat the CPU; a publisher that drops when MediaMTX dies reconnects like a real encoder), continuous
recording on `--recording` of them, a snapshot every few seconds, `--subscribers` WebSocket connections
subscribed to every event, one `create_event` per second matching a signed webhook to a local receiver, and a
SIGKILL of MediaMTX every `--kill-every` seconds (the supervisor restarts it).

Sampled every `--sample-every` s: service RSS and open files, asyncio tasks (/metrics), database size, RPC
latency (get_status from a probe connection, p50/p99 per interval), webhook outbox. Reported: the samples, the
trend of each (least-squares slope per hour and last-third vs first-third median), and what was lost:
webhook deliveries missing or duplicated, events a subscriber missed, recording gaps beyond the restarts.

Run: `.venv/bin/python -m bench.soak --minutes 30` (writes the "Soak" section of docs/performance.md;
`--no-write` to leave it alone). Not part of CI.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from aiohttp import web
from websockets.asyncio.client import ClientConnection, connect

from bench.common import ServiceUnderTest, free_ports, percentile, write_section


class Rpc:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws, self.n = ws, 0

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


@dataclass
class Counters:
    ticks_sent: list[str] = field(default_factory=list)  # event ids of soak.tick
    webhook_hits: dict[str, int] = field(default_factory=dict)  # event id -> deliveries
    subscriber_seen: list[set[str]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    kills: int = 0
    publisher_restarts: int = 0
    snapshots: int = 0
    errors: list[str] = field(default_factory=list)


def make_clip(path: Path) -> None:
    subprocess.run(
        ["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10",
         "-t", "10", "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )  # fmt: skip


def start_publisher(clip: Path, url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", str(clip),
         "-c", "copy", "-f", "rtsp", "-rtsp_transport", "tcp", url],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
    return float("nan")


def slope_per_hour(xs: list[float], ys: list[float]) -> float:
    if len(xs) < 2 or statistics.pvariance(xs) == 0:
        return 0.0
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    num = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return num / sum((x - mx) ** 2 for x in xs) * 3600


def thirds(ys: list[float]) -> tuple[float, float]:
    k = max(1, len(ys) // 3)
    return statistics.median(ys[:k]), statistics.median(ys[-k:])


async def run(args: argparse.Namespace) -> str:
    svc = ServiceUnderTest(
        overrides={
            "recordings": {"segment_duration_s": 60, "retention": {"enabled": False}},
            "events": {
                "webhooks": {
                    "backoff_base_s": 1,
                    "backoff_max_s": 10,
                    "max_attempts": 20,
                    "allowed_networks": ["127.0.0.0/8"],  # the local receiver (security L9)
                }
            },
            "mediamtx": {"restart_backoff_initial_s": 0.5},
        }
    )
    svc.start()
    c = Counters()
    clip = svc.tmp / "clip.mp4"
    make_clip(clip)
    hook_app = web.Application()

    async def hook(request: web.Request) -> web.Response:
        body = await request.json()
        eid = body["event"]["id"] if "event" in body else body.get("id", "?")
        c.webhook_hits[eid] = c.webhook_hits.get(eid, 0) + 1
        return web.Response(text="ok")

    hook_app.router.add_post("/hook", hook)
    runner = web.AppRunner(hook_app)
    await runner.setup()
    (hook_port,) = free_ports(1)
    await web.TCPSite(runner, "127.0.0.1", hook_port).start()
    headers = {"Authorization": f"Bearer {svc.token()}"}
    admin = Rpc(await connect(svc.ws_url, additional_headers=headers, max_size=None))
    cams = [f"cam{i:02d}" for i in range(args.cameras)]
    for cam in cams:
        await admin.call("add_camera", {"id": cam, "source": "publisher"})
    for cam in cams[: args.recording]:
        await admin.call("set_recording_policy", {"camera": cam, "policy": {"mode": "continuous"}})
    await admin.call("add_webhook", {"url": f"http://127.0.0.1:{hook_port}/hook", "topics": ["soak.*"],
                                     "secret": "soak-secret-0123456789"})  # fmt: skip
    # Security M7: each publisher camera's own credential.
    urls = {cam: (await admin.call("create_publish_url", {"camera": cam}))["rtsp_url"] for cam in cams}
    pubs = {cam: start_publisher(clip, urls[cam]) for cam in cams}

    subs: list[ClientConnection] = []
    readers: list[asyncio.Task[None]] = []

    async def reader(ws: ClientConnection, seen: set[str]) -> None:
        async for raw in ws:
            msg = json.loads(raw)
            if msg.get("method") == "event" and msg["params"]["event"]["type"] == "soak.tick":
                seen.add(msg["params"]["event"]["id"])

    for _ in range(args.subscribers):
        ws = await connect(svc.ws_url, additional_headers=headers, max_size=None)
        await Rpc(ws).call("subscribe_events", {"topics": ["*"]})
        seen: set[str] = set()
        c.subscriber_seen.append(seen)
        subs.append(ws)
        readers.append(asyncio.create_task(reader(ws, seen)))

    stop_at = time.monotonic() + args.minutes * 60
    started = time.monotonic()
    main = psutil.Process(svc.proc.pid if svc.proc else 0)

    async def ticker() -> None:
        i = 0
        while time.monotonic() < stop_at:
            ev = await admin.call("create_event", {"type": "soak.tick", "data": {"i": i}})
            c.ticks_sent.append(ev["id"])
            i += 1
            if i % args.snapshot_every == 0:
                try:
                    await admin.call("take_snapshot", {"camera": cams[i % len(cams)]})
                    c.snapshots += 1
                except RuntimeError as exc:  # a camera mid-reconnect after a kill: counted, not fatal
                    c.errors.append(str(exc)[:120])
            await asyncio.sleep(1.0)

    async def prober() -> None:
        probe = Rpc(await connect(svc.ws_url, additional_headers=headers))
        while time.monotonic() < stop_at:
            t0 = time.perf_counter()
            await probe.call("get_status")
            c.latencies.append(time.perf_counter() - t0)
            await asyncio.sleep(0.5)
        await probe.ws.close()

    async def chaos() -> None:
        next_kill = started + args.kill_every
        while time.monotonic() < stop_at:
            await asyncio.sleep(1.0)
            for cam, proc in pubs.items():  # encoders reconnect
                if proc.poll() is not None:
                    pubs[cam] = start_publisher(clip, urls[cam])
                    c.publisher_restarts += 1
            if time.monotonic() >= next_kill:
                next_kill += args.kill_every
                for child in main.children(recursive=True):
                    if child.name() == "mediamtx":
                        os.kill(child.pid, signal.SIGKILL)
                        c.kills += 1

    samples: list[dict[str, float]] = []

    async def sampler() -> None:
        while time.monotonic() < stop_at:
            mark = len(c.latencies)
            await asyncio.sleep(args.sample_every)
            lat = c.latencies[mark:] or [float("nan")]  # none: every probe call of the interval was stuck
            db = sum(p.stat().st_size for p in (svc.tmp / "data").glob("camera-service.db*"))
            samples.append(
                {
                    "t_min": (time.monotonic() - started) / 60,
                    "rss_mb": main.memory_info().rss / 2**20,
                    "fds": float(main.num_fds()),
                    "tasks": metric(svc.port, "camera_service_asyncio_tasks"),
                    "db_mb": db / 2**20,
                    "p50_ms": percentile(lat, 50) * 1000,
                    "p99_ms": percentile(lat, 99) * 1000,
                    "outbox": metric(svc.port, "camera_service_webhook_outbox_depth"),
                }
            )
            print(" ".join(f"{k}={v:.1f}" for k, v in samples[-1].items()), flush=True)

    try:
        await asyncio.gather(ticker(), prober(), chaos(), sampler())
        # Drain: every tick delivered (retries after kills included) and fanned out.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(c.webhook_hits) < len(c.ticks_sent):
            await asyncio.sleep(0.5)
        timeline = await recording_gaps(
            admin, cams[: args.recording], started_wall=time.time() - (time.monotonic() - started)
        )
    finally:
        for r in readers:
            r.cancel()
        await asyncio.gather(*(s.close() for s in subs), return_exceptions=True)
        await admin.ws.close()
        for proc in pubs.values():
            proc.terminate()
        await runner.cleanup()
        svc.stop()
    return report(args, c, samples, timeline)


async def recording_gaps(admin: Rpc, cams: list[str], started_wall: float) -> dict[str, int]:
    start = time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(started_wall + 30)
    )  # after the first segment began
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 70))  # before the open segment
    gaps: dict[str, int] = {}
    for cam in cams:
        try:
            tl = await admin.call("get_timeline", {"camera": cam, "start": start, "end": end})
            gaps[cam] = len(tl["gaps"])
        except RuntimeError:
            gaps[cam] = -1
    return gaps


def report(
    args: argparse.Namespace, c: Counters, samples: list[dict[str, float]], gaps: dict[str, int]
) -> str:
    delivered = sum(1 for e in c.ticks_sent if c.webhook_hits.get(e, 0) >= 1)
    duplicated = sum(1 for e in c.ticks_sent if c.webhook_hits.get(e, 0) > 1)
    sent = set(c.ticks_sent)
    missed = [len(sent - seen) for seen in c.subscriber_seen]
    lines = [
        f"{args.minutes} min, {args.cameras} cameras ({args.recording} recording continuously), "
        f"{args.subscribers} subscribers, 1 event/s to a webhook, a snapshot every {args.snapshot_every} s, "
        f"MediaMTX SIGKILLed every {args.kill_every} s ({c.kills} kills, {c.publisher_restarts} publisher "
        f"reconnects). Run: `.venv/bin/python -m bench.soak --minutes {args.minutes}`.",
        "",
        "| t (min) | RSS MB | open files | tasks | DB MB | get_status p50 ms | p99 ms | outbox |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in samples:
        lines.append(
            f"| {s['t_min']:.1f} | {s['rss_mb']:.1f} | {s['fds']:.0f} | {s['tasks']:.0f} | "
            f"{s['db_mb']:.2f} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | {s['outbox']:.0f} |"
        )
    lines += [
        "",
        "| trend | first third (median) | last third (median) | slope per hour |",
        "|---|---|---|---|",
    ]
    xs = [s["t_min"] * 60 for s in samples]
    for key in ("rss_mb", "fds", "tasks", "db_mb", "p99_ms"):
        pairs = [(x, s[key]) for x, s in zip(xs, samples, strict=True) if s[key] == s[key]]  # NaN: no sample
        ys = [y for _, y in pairs]
        if len(ys) >= 3:
            first, last = thirds(ys)
            slope = slope_per_hour([x for x, _ in pairs], ys)
            lines.append(f"| {key} | {first:.2f} | {last:.2f} | {slope:+.2f} |")
    lines += [
        "",
        f"Webhooks: {len(c.ticks_sent)} events, {delivered} delivered, {duplicated} delivered twice or more. "
        f"Subscribers: {sum(1 for m in missed if m == 0)}/{len(missed)} saw every event "
        f"(most missed by one: {max(missed, default=0)}). Snapshots taken: {c.snapshots} "
        f"({len(c.errors)} refused mid-restart). Recording gaps per recording camera (restarts: {c.kills}): "
        f"{gaps}.",
    ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--cameras", type=int, default=20)
    ap.add_argument("--recording", type=int, default=5)
    ap.add_argument("--subscribers", type=int, default=200)
    ap.add_argument("--kill-every", type=float, default=180, help="seconds between MediaMTX kills")
    ap.add_argument("--sample-every", type=float, default=15)
    ap.add_argument("--snapshot-every", type=int, default=5, help="seconds between snapshots")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    body = asyncio.run(run(args))
    print(body)
    if not args.no_write:
        write_section("Soak", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

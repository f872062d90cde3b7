"""Web console: time to the first decoded frame, browser CPU for a 4x4 grid, initial JS transferred.

Everything real: the service (in this process) with its MediaMTX, ffmpeg test cameras (320x240 @ 15 fps,
H.264 baseline), Debian's /usr/bin/chromium via Playwright (headless, software decoding).

1. First frame, 20 loads each, alternating: *console* = navigation to `/`, sign-in (Playwright fills the
   form), until the first tile's <video> reports a decoded frame; *reference* = MediaMTX's own WebRTC reader
   page for the same camera (navigation until its <video> decodes a frame). Both in a fresh browser context.
2. CPU of the Chromium process tree (psutil, all its processes) over 10 s with the 4x4 grid playing 16
   cameras, against 1 tile playing one camera (same run).
3. JS the console's first load transferred (resource timing `encodedBodySize`, gzip as served), and whether
   hls.js was fetched (it must not be, for cameras WebRTC can play).

Run: `.venv/bin/python -m bench.web` (`--loads N`, `--no-write` to leave docs/performance.md alone).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench.common import percentile, write_section
from tests.harness.ffmpeg import TestCamera
from tests.web.browser import WebEnv, web_env

FIRST_FRAME_JS = """(sel) => { const v = document.querySelector(sel);
  return !!v && v.getVideoPlaybackQuality().totalVideoFrames > 0; }"""


def chromium_procs() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if "chrom" in p.name().lower()]


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


async def measure_cpu(seconds: float) -> float:
    """Cores used by the Chromium process tree over `seconds`."""
    procs = chromium_procs()
    before = cpu_seconds(procs)
    await asyncio.sleep(seconds)
    return (cpu_seconds(procs) - before) / seconds


async def console_first_frame(env: WebEnv, camera: str) -> tuple[float, float, float, int, bool]:
    """Seconds to the first frame: cold (navigation + sign-in), from the sign-in click, and after switching
    back to Live while signed in; plus the JS bytes of the first load and whether hls.js was fetched."""
    page = await env.page()
    sel = f'.tile[data-camera="{camera}"] video'
    start = time.perf_counter()
    await page.goto("/")
    await page.page.get_by_label("User name").fill("admin")
    await page.page.get_by_label("Password").fill(env.admin_password)
    click = time.perf_counter()
    await page.page.get_by_role("button", name="Sign in").click()
    await page.page.wait_for_function(FIRST_FRAME_JS, arg=sel, polling="raf", timeout=60_000)
    done = time.perf_counter()
    js: list[Any] = await page.page.evaluate(
        """() => performance.getEntriesByType('resource').filter(r => r.name.endsWith('.js'))
              .map(r => [r.name, r.encodedBodySize])"""
    )
    js_bytes = sum(int(size) for _, size in js)
    hls = any("hls" in name.rsplit("/", 1)[-1] for name, _ in js)
    # Signed in: leave the live view and come back (tiles are torn down and start again).
    await page.page.click('[data-nav="events"]')
    await page.page.locator("section.events table").wait_for()
    back = time.perf_counter()
    await page.page.click('[data-nav="live"]')
    await page.page.wait_for_function(FIRST_FRAME_JS, arg=sel, polling="raf", timeout=60_000)
    again = time.perf_counter()
    await page.page.context.close()
    env.contexts.remove(page.page.context)
    return done - start, done - click, again - back, js_bytes, hls


async def reference_first_frame(env: WebEnv, camera: str) -> float:
    admin = await env.service.client()
    urls = await admin.call("get_stream_urls", {"camera": camera})
    await admin.close()
    page = await env.page()
    start = time.perf_counter()
    await page.page.goto(urls["webrtc"])
    await page.page.wait_for_function(FIRST_FRAME_JS, arg="video", polling="raf", timeout=60_000)
    took = time.perf_counter() - start
    await page.page.context.close()
    env.contexts.remove(page.page.context)
    return took


async def run(loads: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        async with web_env(Path(tmp)) as env:
            admin = await env.service.client()
            cams: list[TestCamera] = []
            for i in range(16):
                cid = f"cam{i + 1:02d}"
                await admin.call("add_camera", {"id": cid, "name": cid, "source": "publisher"})
                cam = TestCamera(
                    await env.service.publish_url(cid),
                    width=320,
                    height=240,
                    fps=15,
                    gop=15,
                    extra_args=["-profile:v", "baseline", "-bf", "0"],
                    log_path=Path(tmp) / f"{cid}.log",
                )
                cams.append(await cam.start())
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                page = await admin.call("list_cameras", {"limit": 100})
                if all(c["status"] == "ONLINE" for c in page["cameras"]):
                    break
                await asyncio.sleep(0.5)
            console: list[float] = []
            signin: list[float] = []
            switch: list[float] = []
            reference: list[float] = []
            js_bytes: list[int] = []
            hls_loaded = False
            for _ in range(loads):
                took, after_click, after_switch, size, hls = await console_first_frame(env, "cam01")
                console.append(took)
                signin.append(after_click)
                switch.append(after_switch)
                js_bytes.append(size)
                hls_loaded |= hls
                reference.append(await reference_first_frame(env, "cam01"))

            # CPU: one tile, then the 4x4 grid (16 WebRTC tiles), each after everything is live.
            cpu: dict[str, float] = {}
            for layout, n in (("1", 1), ("4x4", 16)):
                page = await env.page(width=1920, height=1080)
                await page.goto("/")
                await page.login("admin", env.admin_password)
                await page.page.locator(f'button[data-layout="{layout}"]').click()
                for cid in [f"cam{i + 1:02d}" for i in range(n)]:
                    await page.page.wait_for_function(
                        FIRST_FRAME_JS, arg=f'.tile[data-camera="{cid}"] video', timeout=60_000
                    )
                await asyncio.sleep(2)
                cpu[layout] = await measure_cpu(10.0)
                await page.page.context.close()
                env.contexts.remove(page.page.context)
            await admin.close()
            for cam in cams:
                await cam.stop()
    return {
        "console": console,
        "signin": signin,
        "switch": switch,
        "reference": reference,
        "js_bytes": max(js_bytes),
        "hls_loaded": hls_loaded,
        "cpu": cpu,
    }


def report(r: dict[str, Any], loads: int) -> str:
    c, ref = r["console"], r["reference"]
    c50, c95 = percentile(c, 50) * 1000, percentile(c, 95) * 1000
    s50, s95 = percentile(r["signin"], 50) * 1000, percentile(r["signin"], 95) * 1000
    w50, w95 = percentile(r["switch"], 50) * 1000, percentile(r["switch"], 95) * 1000
    r50, r95 = percentile(ref, 50) * 1000, percentile(ref, 95) * 1000
    one, grid = r["cpu"]["1"], r["cpu"]["4x4"]
    kb = r["js_bytes"] / 1024
    met_js = "met" if kb < 100 else "not met"
    when = datetime.now(UTC).date().isoformat()
    return f"""
`python -m bench.web --loads {loads}` — the real service with its MediaMTX, ffmpeg cameras 320x240 @ 15 fps
(H.264 baseline, GOP 1 s), Debian Chromium headless via Playwright (`--disable-gpu`: software decoding), all
on 127.0.0.1. Machine: {platform.machine()}, Python {platform.python_version()}, {when}; the shared 2-core
machine also runs the 16 publishers and the service, so absolute numbers are indicative.

| first decoded frame ({loads} loads each, alternating) | p50 ms | p95 ms |
|---|---|---|
| console, cold: navigation to `/`, form filled, sign-in, first tile (2x2) | {c50:.0f} | {c95:.0f} |
| console: click on *Sign in* to first frame (argon2id check, list, 4 WHEP sessions) | {s50:.0f} | {s95:.0f} |
| console, signed in: Events -> Live to first frame (tiles start again) | {w50:.0f} | {w95:.0f} |
| reference: MediaMTX's own WebRTC reader page, navigation to first frame (1 stream) | {r50:.0f} | {r95:.0f} |
| console signed in / reference | {w50 / r50:.2f}x | {w95 / r95:.2f}x |

- Goal p50 < 1 s on loopback (live view of a signed-in console): **{"met" if w50 < 1000 else "not met"}**
  ({w50:.0f} ms); from the sign-in click {s50:.0f} ms; cold with navigation and form {c50:.0f} ms.
- Browser CPU (all Chromium processes, 10 s): 1 tile {one:.2f} cores, 4x4 grid (16 WebRTC tiles)
  {grid:.2f} cores = {grid / max(one, 1e-6):.1f}x one tile ({grid / 16:.3f} cores per tile).
- Initial JS transferred: **{kb:.1f} KB** (gzip, as served; goal < 100 KB: {met_js});
  hls.js fetched during these loads: **{"yes" if r["hls_loaded"] else "no"}** (it loads only on fallback).
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loads", type=int, default=20)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run(args.loads))
    body = report(result, args.loads)
    print(body)
    if not args.no_write:
        write_section("Web console", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

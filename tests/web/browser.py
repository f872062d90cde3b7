"""Browser-test harness: the real service (+ its MediaMTX with WebRTC/HLS on loopback) and Debian's
/usr/bin/chromium driven by the Python `playwright` package (never `playwright install`).

`ConsolePage` records every console error, page error and request; `check_clean()` asserts that no
request left 127.0.0.1 and nothing was logged as an error. Screenshots go to build/web-artifacts/.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import yaml

from tests.harness.mediamtx import REPO_ROOT
from tests.harness.service import RunningService, run_service, service_config

if TYPE_CHECKING:  # playwright (0.2 s) is imported when a browser starts, not in every worker's collection
    from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = REPO_ROOT / "build" / "web-artifacts"
AXE = REPO_ROOT / "clients" / "web" / "node_modules" / "axe-core" / "axe.min.js"


def loopback_template(tmp: Path) -> Path:
    """config/mediamtx.yml with WebRTC ICE on 127.0.0.1 only (no interface address is offered)."""
    conf = yaml.safe_load((REPO_ROOT / "config" / "mediamtx.yml").read_text())
    conf["webrtcIPsFromInterfaces"] = False
    conf["webrtcAdditionalHosts"] = ["127.0.0.1"]
    path = tmp / "mediamtx-loopback.yml"
    path.write_text(yaml.safe_dump(conf))
    return path


def web_config(tmp: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    base = {
        "mediamtx": {
            "enable_webrtc": True,
            "enable_hls": True,
            "config_template": str(loopback_template(tmp)),
        },
        # A recording shows on the timeline once its first segment is complete: 2 s, as in the integration
        # tests, instead of the default 60 s the recording tests here would otherwise wait through.
        "recordings": {"segment_duration_s": 2},
    }
    from camera_service.core.dicts import deep_merge

    return service_config(tmp / "svc", overrides=deep_merge(base, overrides or {}))


@dataclass
class ConsolePage:
    page: Page
    base: str
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def attach(self) -> None:
        def on_console(msg: ConsoleMessage) -> None:
            if msg.type == "error":
                self.errors.append(msg.text)

        self.page.on("console", on_console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        self.page.on("request", lambda req: self.requests.append(req.url))
        self.page.on("websocket", lambda ws: self.requests.append(ws.url))
        self.page.on(
            "response",
            lambda r: r.status >= 400 and self.errors.append(f"HTTP {r.status} {r.request.method} {r.url}"),
        )

    async def goto(self, path: str = "/") -> None:
        await self.page.goto(self.base + path)

    async def login(self, username: str, password: str) -> None:
        await self.page.get_by_label("User name").fill(username)
        await self.page.get_by_label("Password").fill(password)
        await self.page.get_by_role("button", name="Sign in").click()

    async def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        await self.page.screenshot(path=str(path))
        return path

    async def axe(self) -> list[dict[str, Any]]:
        """Serious/critical axe-core violations on the current page."""
        result: list[dict[str, Any]] = await self.page.evaluate(
            """async () => {
                const r = await axe.run(document, {resultTypes: ['violations']});
                return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                    .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}));
            }"""
        )
        return result

    def check_clean(self) -> None:
        outside = [
            u
            for u in self.requests
            if urlsplit(u).scheme in ("http", "https", "ws", "wss") and urlsplit(u).hostname != "127.0.0.1"
        ]
        assert not outside, f"requests left 127.0.0.1: {outside}"
        assert not self.errors, f"console errors: {self.errors}"

    async def tile(self, camera: str, attr: str) -> str | None:
        return await self.page.get_attribute(f'.tile[data-camera="{camera}"]', attr)

    async def frames(self, camera: str) -> tuple[int, float]:
        """(decoded frames, currentTime) of a tile's <video>, read from the element itself."""
        value: list[float] = await self.page.evaluate(
            """(cam) => {
                const v = document.querySelector(`.tile[data-camera="${cam}"] video`);
                if (!v) return [0, 0];
                return [v.getVideoPlaybackQuality().totalVideoFrames, v.currentTime];
            }""",
            camera,
        )
        return int(value[0]), float(value[1])


async def stamp_first_seen(page: ConsolePage, selector: str, key_attr: str) -> None:
    """From now on, note in the page when each element matching `selector` is first in the DOM (its
    `key_attr` value -> Date.now(), on the DOM change itself). A latency timed with `first_seen()` is the
    page's own, free of the polling interval of a test's waits (Playwright backs off to 500 ms) and of
    DevTools round trips on a loaded machine. Elements already there count as seen now."""
    await page.page.evaluate(
        """([sel, attr]) => {
            const seen = ((window.__firstSeen ??= {})[sel] ??= {});
            const scan = () => {
                const now = Date.now();
                for (const el of document.querySelectorAll(sel)) {
                    const key = el.getAttribute(attr);
                    if (key !== null && !(key in seen)) seen[key] = now;
                }
            };
            scan();
            new MutationObserver(scan).observe(document, {subtree: true, childList: true, attributes: true});
        }""",
        [selector, key_attr],
    )


async def first_seen(page: ConsolePage, selector: str, key: str) -> float | None:
    """Wall-clock time (epoch seconds, as time.time()) when `stamp_first_seen(selector)` first saw the
    element whose key attribute is `key`; None when it has not (yet)."""
    ms = await page.page.evaluate("([sel, key]) => window.__firstSeen?.[sel]?.[key] ?? null", [selector, key])
    return None if ms is None else float(ms) / 1000


async def poll(check: Callable[[], Awaitable[bool]], timeout: float, what: str, step: float = 0.1) -> float:
    """Seconds until `check()` is true; AssertionError naming `what` after `timeout`."""
    start = time.monotonic()
    while True:
        if await check():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(step)


@dataclass
class WebEnv:
    service: RunningService
    browser: Browser
    contexts: list[BrowserContext] = field(default_factory=list)

    @property
    def admin_password(self) -> str:
        path = self.service.settings.storage.data_dir / "secrets" / "admin-password"
        return path.read_text().strip()

    async def page(self, *, width: int = 1600, height: int = 1000) -> ConsolePage:
        context = await self.browser.new_context(
            viewport={"width": width, "height": height}, accept_downloads=True
        )
        # axe-core from npm, injected by the DevTools protocol (not subject to the page's CSP).
        await context.add_init_script(path=str(AXE))
        self.contexts.append(context)
        page = ConsolePage(await context.new_page(), self.service.http_url)
        page.attach()
        return page


@contextlib.asynccontextmanager
async def web_env(tmp: Path, overrides: dict[str, Any] | None = None) -> AsyncIterator[WebEnv]:
    from playwright.async_api import async_playwright

    async with run_service(web_config(tmp, overrides)) as service, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        env = WebEnv(service, browser)
        try:
            yield env
        finally:
            for ctx in env.contexts:
                with contextlib.suppress(Exception):
                    await ctx.close()
            await browser.close()


BASELINE = ["-profile:v", "baseline", "-bf", "0"]  # plays over WebRTC
BFRAMES = ["-profile:v", "high", "-bf", "2"]  # refused by MediaMTX's WebRTC: HLS


async def wait_online(env: WebEnv, cid: str) -> None:
    admin = await env.service.client()

    async def online() -> bool:
        return bool((await admin.call("get_camera", {"camera": cid}))["status"] == "ONLINE")

    await poll(online, 30, f"{cid} online")


async def publisher_camera(
    env: WebEnv,
    factory: Callable[..., Awaitable[Any]],
    cid: str,
    *,
    args: list[str] = BASELINE,
    size: tuple[int, int] = (320, 240),
    **fields: Any,
) -> Any:
    """Add camera `cid` (source publisher, plus `fields`), publish a 15 fps test pattern to it with
    ffmpeg and wait until the service reports it ONLINE. Returns the TestCamera."""
    admin = await env.service.client()
    await admin.call("add_camera", {"id": cid, "name": cid.upper(), "source": "publisher", **fields})
    url = await env.service.publish_url(cid)
    cam = await factory(url, width=size[0], height=size[1], fps=15, gop=15, extra_args=args)
    await wait_online(env, cid)
    return cam

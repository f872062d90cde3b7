"""The web console in Debian's Chromium against the real service, MediaMTX and ffmpeg cameras.

Asserts on what the browser really does: decoded frames of each tile's <video> (WebRTC), currentTime
for HLS, the tile's state attribute, the CSP header, console errors, and where requests went.
"""

from __future__ import annotations

import re
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.harness.ffmpeg import TestCamera
from tests.web.browser import ConsolePage, WebEnv, first_seen, poll, stamp_first_seen, web_env

pytestmark = pytest.mark.integration

BASELINE = ["-profile:v", "baseline", "-bf", "0"]
BFRAMES = ["-profile:v", "high", "-bf", "2"]


async def _cameras(env: WebEnv, factory: Any, specs: list[tuple[str, list[str]]]) -> dict[str, TestCamera]:
    admin = await env.service.client()
    cams = {}
    for cid, args in specs:
        await admin.call("add_camera", {"id": cid, "name": cid.upper(), "source": "publisher"})
        url = await env.service.publish_url(cid)
        cams[cid] = await factory(url, width=320, height=240, fps=15, gop=15, extra_args=args)
    for cid in cams:

        async def online(cid: str = cid) -> bool:
            return (await admin.call("get_camera", {"camera": cid}))["status"] == "ONLINE"

        await poll(online, 30, f"{cid} online")
    return cams


async def _eq(value: Any, expected: Any) -> bool:
    return bool(await value == expected)


async def _zoomed(transform: Any) -> bool:
    value = await transform
    return bool(value.startswith("scale(") and float(value[6:-1]) > 1)


async def _playing(page: ConsolePage, cam: str, transport: str, timeout: float = 30) -> None:
    async def live() -> bool:
        return (
            await page.tile(cam, "data-state") == "live"
            and await page.tile(cam, "data-transport") == transport
        )

    await poll(live, timeout, f"{cam} live over {transport}")
    frames0, t0 = await page.frames(cam)

    async def advancing() -> bool:
        frames, t = await page.frames(cam)
        return frames > frames0 + 5 if transport == "webrtc" else t > t0 + 0.5

    await poll(advancing, 15, f"{cam} decoding new frames ({transport})")


# English words of the console's own text; in Arabic none of them may show. Camera names, user names,
# numbers, codecs, URLs and event types are data and legitimately Latin, so they are not in the list.
ENGLISH = [
    "found",
    "segments",
    "Discovery",
    "optional",
    "registered",
    "sessions",
    "revoked",
    "active",
    "disabled",
    "DISABLED",
    "policy",
    "Mode",
    "connection",
    "Seconds",
    "Message",
    "Severity",
    "import",
    "Acknowledge",
    "Live",
    "Events",
    "Recordings",
    "Camera",
    "Status",
    "Type",
    "Time",
    "Save",
    "Cancel",
    "low",
    "medium",
    "high",
    "critical",
    "new",
    "acknowledged",
    "viewer",
    "operator",
    "record",
    "notify",
]


async def _english_left(page: ConsolePage) -> list[str]:
    """The words of ENGLISH in the page's visible text, option texts and aria-label/title/placeholder."""
    found: list[str] = await page.page.evaluate(
        """(words) => {
            const texts = [document.body.innerText];
            for (const o of document.querySelectorAll("option")) texts.push(o.textContent ?? "");
            for (const el of document.querySelectorAll("[aria-label],[title],[placeholder]"))
                for (const a of ["aria-label", "title", "placeholder"]) texts.push(el.getAttribute(a) ?? "");
            const all = texts.join("\\n");
            return words.filter((w) => new RegExp(`(^|[^A-Za-z_])${w}($|[^A-Za-z_])`).test(all));
        }""",
        ENGLISH,
    )
    return found


async def _admin_pages_in_arabic(env: WebEnv) -> None:
    """The administration in Arabic: ONVIF discovery (a unicast probe to a UDP port that never answers:
    0 found), users, and the rule editor's action fields, whose labels the server gives in English."""
    page = await env.page()
    await page.goto("/")
    await page.login("admin", env.admin_password)
    await page.page.get_by_test_id("grid").wait_for()
    await page.page.select_option('[data-testid="lang"]', "ar")
    await page.page.click('[data-nav="admin"]')
    await page.page.get_by_label("عناوين الاكتشاف (اختياري)").wait_for()
    assert await page.page.get_by_test_id("discover").inner_text() == "اكتشاف ONVIF"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        await page.page.get_by_label("عناوين الاكتشاف (اختياري)").fill(f"127.0.0.1:{silent.getsockname()[1]}")
        await page.page.get_by_test_id("discover").click()
        await page.page.get_by_role("status").filter(has_text="عُثر على 0").wait_for(timeout=30_000)
    await page.page.locator('tr[data-camera-row="cam1"]').wait_for()
    assert await _english_left(page) == []
    await page.page.click('[data-tab="users"]')
    await page.page.get_by_role("cell", name="vic", exact=True).wait_for()
    assert await _english_left(page) == []
    await page.page.click('[data-tab="rules"]')
    await page.page.get_by_test_id("rule-new").click()
    await page.page.get_by_test_id("rule-add-action").click()
    form = page.page.locator("form.rule-editor")
    await form.locator('[data-action="0"]').get_by_label("النوع").select_option("record")
    await form.get_by_label("ثواني التسجيل", exact=True).wait_for()
    assert await form.get_by_label("الكاميرا", exact=True).count() == 1
    await page.shot("rule-editor-arabic")
    assert await page.axe() == []
    assert await _english_left(page) == []
    page.check_clean()


async def test_login_grid_fallback_offline_and_back(tmp_path: Path, test_camera_factory: Any) -> None:
    async with web_env(tmp_path) as env:
        cams = await _cameras(
            env, test_camera_factory, [(f"cam{i}", BASELINE) for i in range(1, 5)] + [("cam5", BFRAMES)]
        )
        page = await env.page()
        async with aiohttp.ClientSession() as http, http.get(env.service.http_url + "/") as resp:
            csp = resp.headers["Content-Security-Policy"]
            assert resp.status == 200
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp

        await page.goto("/")
        await page.shot("login")
        assert await page.axe() == []
        await page.login("admin", "not-the-password")
        await page.page.get_by_test_id("login-error").wait_for()
        assert "Wrong user name or password" in await page.page.get_by_test_id("login-error").inner_text()
        admin = await env.service.client()
        audit = await admin.call("list_audit", {"method": "login"})
        assert any(
            e["outcome"] == "auth_failed" and e["params"]["username"] == "admin" for e in audit["entries"]
        )

        await page.login("admin", env.admin_password)
        await page.page.get_by_test_id("grid").wait_for()
        await page.page.click('button[data-layout="2x2"]')
        for i in range(1, 5):
            await _playing(page, f"cam{i}", "webrtc")
        await page.shot("live-2x2")
        assert await page.axe() == []

        # B-frames: WebRTC decodes nothing, the tile falls back to HLS and says why.
        await page.page.click('button[data-layout="3x3"]')
        await _playing(page, "cam5", "hls", timeout=60)
        reason = await page.page.inner_text('.tile[data-camera="cam5"] [data-testid="tile-reason"]')
        assert "B-frames" in reason
        await page.shot("live-3x3-hls-fallback")

        # A publisher stops: offline within 3 s; it comes back: live again without a reload.
        await page.page.click('button[data-layout="2x2"]')
        await _playing(page, "cam2", "webrtc")
        # Timed from the publisher's end (SIGKILL: its connection closes at once; a graceful stop adds
        # ffmpeg's own shutdown) to the tile's change, as noted by the page itself.
        offline_tile = '.tile[data-state="offline"]'
        await stamp_first_seen(page, offline_tile, "data-camera")
        stopped_at = time.time()
        cams["cam2"].kill()

        async def offline() -> bool:
            return await page.tile("cam2", "data-state") == "offline"

        await poll(offline, 20, "cam2 offline")
        shown = await first_seen(page, offline_tile, "cam2")
        assert shown is not None
        took = shown - stopped_at
        print(f"cam2 tile offline {took:.3f} s after its publisher was killed")
        assert took < 3.0, f"offline shown after {took:.2f} s"
        await page.shot("live-offline")
        await cams["cam2"].stop()  # reaps the killed publisher
        await cams["cam2"].start()
        await _playing(page, "cam2", "webrtc", timeout=30)
        page.check_clean()


async def test_viewer_sees_no_admin_controls_and_arabic_is_rtl(
    tmp_path: Path, test_camera_factory: Any
) -> None:
    async with web_env(tmp_path) as env:
        await _cameras(env, test_camera_factory, [("cam1", BASELINE), ("cam2", BASELINE)])
        admin = await env.service.client()
        await admin.call("create_user", {"username": "vic", "password": "viewer-pass-1", "role": "viewer"})
        page = await env.page()
        await page.goto("/")
        await page.login("vic", "viewer-pass-1")
        await _playing(page, "cam1", "webrtc")

        # Drag cam2 onto cam1: the order (and the layout) stay for this user on this device, across a reload.
        await page.page.click('button[data-layout="1+5"]')
        await page.page.drag_and_drop('.cell:has([data-camera="cam2"])', '.cell:has([data-camera="cam1"])')

        async def order() -> list[str]:
            return await page.page.eval_on_selector_all(".tile", "els => els.map(e => e.dataset.camera)")

        await poll(lambda: _eq(order(), ["cam2", "cam1"]), 15, "cam2 first after the drop")
        await page.page.reload()
        await page.login("vic", "viewer-pass-1")
        await poll(lambda: _eq(order(), ["cam2", "cam1"]), 10, "order kept after a reload")
        assert await page.page.get_attribute('button[data-layout="1+5"]', "aria-pressed") == "true"
        await _playing(page, "cam1", "webrtc")
        # Wheel over a tile: digital zoom (a CSS transform on the video).
        await page.page.hover('.tile[data-camera="cam1"] video')
        await page.page.mouse.wheel(0, -300)

        async def transform() -> str:
            return str(
                await page.page.eval_on_selector('.tile[data-camera="cam1"] video', "v => v.style.transform")
            )

        # The zoom is a state change, applied to the element after the next paint.
        await poll(lambda: _zoomed(transform()), 15, "cam1 zoomed in")
        await page.page.click('.tile[data-camera="cam1"]')
        # Per-tile snapshot: a PNG of the frame on screen, made in the browser.
        clicked = datetime.now(UTC)
        async with page.page.expect_download() as info:
            await page.page.click('.tile[data-camera="cam1"] [data-testid="snapshot"]')
        # Named by the time in the site zone (UTC here) with its offset: cam1_2026-11-30_19-05-00+0000.png
        name = (await info.value).suggested_filename
        taken = datetime.strptime(name, "cam1_%Y-%m-%d_%H-%M-%S%z.png")
        assert timedelta(seconds=-2) <= taken - clicked <= timedelta(seconds=60), name
        assert name.endswith("+0000.png"), name
        png = Path(await (await info.value).path()).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
        # Double-click: the tile goes fullscreen.
        await page.page.dblclick('.tile[data-camera="cam1"] video')

        async def fullscreen() -> str | None:
            return await page.page.evaluate("() => document.fullscreenElement?.dataset.camera ?? null")

        # requestFullscreen() completes asynchronously (at the next animation frame), after the click.
        await poll(lambda: _eq(fullscreen(), "cam1"), 15, "cam1 fullscreen")
        await page.page.evaluate("() => document.exitFullscreen()")
        assert await page.page.locator('[data-nav="admin"]').count() == 0
        assert await page.page.locator('[data-testid="rec-toggle"]').count() == 0
        assert await page.page.locator(".ptz").count() == 0
        await page.page.goto(page.base + "/#/admin")  # typed by hand: still the live view, no admin page
        assert await page.page.locator(".admin").count() == 0
        await page.page.goto(page.base + "/#/events")
        assert await page.page.get_by_role("button", name="Acknowledge").count() == 0
        await page.page.select_option('[data-testid="lang"]', "ar")
        assert await page.page.get_attribute("html", "dir") == "rtl"
        assert await page.page.get_attribute("html", "lang") == "ar"
        await page.shot("events-arabic-viewer")
        assert await page.axe() == []
        assert await page.page.inner_text('[data-nav="events"]') == "الأحداث"
        assert await _english_left(page) == []
        await page.page.goto(page.base + "/#/recordings/cam1")
        summary = page.page.get_by_text(re.compile(r"^\d+ ث / \d+ مقاطع$"))
        await summary.wait_for(timeout=30_000)
        assert await _english_left(page) == []
        page.check_clean()
        await _admin_pages_in_arabic(env)

        # A phone: one column, the tile still plays.
        phone = await env.page(width=390, height=844)
        await phone.goto("/")
        await phone.login("vic", "viewer-pass-1")
        await _playing(phone, "cam1", "webrtc")
        columns = await phone.page.evaluate(
            "() => getComputedStyle(document.querySelector('[data-testid=grid]')).gridTemplateColumns"
        )
        assert len(columns.split()) == 1, columns
        await phone.shot("live-phone")
        assert await phone.axe() == []
        phone.check_clean()


async def test_demo_camera_plays_after_first_start(tmp_path: Path) -> None:
    """The README's path: first start with the demo camera, sign in as admin with the generated password."""
    async with web_env(tmp_path, {"demo": {"enabled": True}}) as env:
        demo = env.service.settings.demo.camera_id
        page = await env.page()
        await page.goto("/")
        await page.login("admin", env.admin_password)
        await _playing(page, demo, "webrtc", timeout=60)
        await page.shot("demo-first-start")
        # Sign out: back to the form, and the session's refresh token is revoked on the server.
        await page.page.get_by_role("button", name="Sign out").click()
        await page.page.get_by_role("button", name="Sign in").wait_for()
        admin = await env.service.client()
        users = {u["username"]: u for u in (await admin.call("list_users"))["users"]}
        assert users["admin"]["active_sessions"] == 0
        page.check_clean()

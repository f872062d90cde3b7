"""More of the live grid in Debian's Chromium against the real service, MediaMTX and ffmpeg cameras:
the substream in the grid and the main stream when focused (told apart by the decoded frame size), and an
HLS tile going stale when its frames stop arriving, then live again."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.web.browser import BASELINE, BFRAMES, ConsolePage, poll, publisher_camera, web_env

if TYPE_CHECKING:  # playwright is imported when a browser starts, not at collection
    from playwright.async_api import Route

pytestmark = pytest.mark.integration

MAIN = (640, 360)
SUB = (320, 180)


async def _decoded_size(page: ConsolePage, cam: str) -> tuple[int, int]:
    size: list[int] = await page.page.evaluate(
        """(cam) => {
            const v = document.querySelector(`.tile[data-camera="${cam}"] video`);
            return v ? [v.videoWidth, v.videoHeight] : [0, 0];
        }""",
        cam,
    )
    return size[0], size[1]


async def _plays(
    page: ConsolePage, cam: str, stream: str, size: tuple[int, int], timeout: float = 40.0
) -> None:
    """The tile is live on `stream` (sub/main), decodes frames of `size`, and keeps decoding."""

    async def right() -> bool:
        return (
            await page.tile(cam, "data-state") == "live"
            and await page.tile(cam, "data-stream") == stream
            and await _decoded_size(page, cam) == size
        )

    await poll(right, timeout, f"{cam} live on its {stream} stream at {size[0]}x{size[1]}")
    frames0, _ = await page.frames(cam)

    async def advancing() -> bool:
        return (await page.frames(cam))[0] > frames0 + 5

    await poll(advancing, 15, f"{cam} decoding new {stream} frames")


async def test_grid_plays_substream_focused_tile_main_stream(
    tmp_path: Path, test_camera_factory: Any
) -> None:
    async with web_env(tmp_path) as env:
        admin = await env.service.client()
        # Two publishers of different sizes: which one a tile decodes shows in videoWidth/videoHeight.
        await publisher_camera(env, test_camera_factory, "duo", size=MAIN, substream="publisher")
        sub_publisher = await test_camera_factory(
            await env.service.publish_url("duo.sub"),
            width=SUB[0],
            height=SUB[1],
            fps=15,
            gop=15,
            extra_args=BASELINE,
        )
        await publisher_camera(env, test_camera_factory, "solo", size=MAIN)
        assert (await admin.call("get_camera", {"camera": "duo"}))["substream"] == "publisher"
        urls = await admin.call("get_stream_urls", {"camera": "duo"})
        assert urls["substream"]["whep"].split("?")[0].endswith("/duo.sub/whep")
        assert (await admin.call("get_stream_urls", {"camera": "solo"}))["substream"] is None

        page = await env.page()
        await page.goto("/")
        await page.login("admin", env.admin_password)
        await page.page.click('button[data-layout="2x2"]')
        await _plays(page, "duo", "sub", SUB)
        await _plays(page, "solo", "main", MAIN)  # no substream: the grid plays its main stream
        await page.shot("live-substream-grid")
        assert await page.axe() == []

        # Fullscreen (double-click) is a focused tile: the main stream; back in the grid: the substream.
        await page.page.dblclick('.tile[data-camera="duo"] video')
        await _plays(page, "duo", "main", MAIN)
        await page.page.evaluate("() => document.exitFullscreen()")
        await _plays(page, "duo", "sub", SUB)
        # The single-tile layout is focused too.
        await page.page.click('button[data-layout="1"]')
        await _plays(page, "duo", "main", MAIN)

        await page.page.click('button[data-layout="2x2"]')
        await _plays(page, "duo", "sub", SUB)

        # The substream stops while the camera stays up: the grid tile plays the main stream instead.
        await sub_publisher.stop()
        await _plays(page, "duo", "main", MAIN)
        assert (await admin.call("get_camera", {"camera": "duo"}))["status"] == "ONLINE"
        # Removing the substream: no substream URLs, and the path is gone from MediaMTX.
        await admin.call("update_camera", {"camera": "duo", "substream": None})
        assert (await admin.call("get_stream_urls", {"camera": "duo"}))["substream"] is None
        mtx = env.service.app.services.mediamtx.client
        assert "duo.sub" not in {c["name"] for c in await mtx.list_path_configs()}
        # MediaMTX's 404 for the stopped substream is what sent the tile to the main stream; Chromium logs
        # every 4xx fetch as a console error. Nothing else may be logged.
        expected = ["/duo.sub/whep", "the server responded with a status of 404"]
        page.errors = [e for e in page.errors if not any(x in e for x in expected)]
        page.check_clean()


async def test_hls_tile_goes_stale_when_frames_stop(tmp_path: Path, test_camera_factory: Any) -> None:
    async with web_env(tmp_path) as env:
        admin = await env.service.client()
        await publisher_camera(env, test_camera_factory, "bf", args=BFRAMES)
        page = await env.page()
        await page.goto("/")
        await page.login("admin", env.admin_password)
        await page.page.click('button[data-layout="1"]')

        async def hls_live() -> bool:
            return (
                await page.tile("bf", "data-state") == "live"
                and await page.tile("bf", "data-transport") == "hls"
            )

        await poll(hls_live, 60, "bf live over HLS (B-frames)")
        t0 = (await page.frames("bf"))[1]
        await poll(lambda: _after(page, t0 + 0.5), 15, "HLS currentTime advancing")

        # Frames stop arriving (every HLS request held, as a stalled network does): the tile says stale,
        # while the service still reports the camera ONLINE.
        held: list[Route] = []
        hls_port = env.service.settings.mediamtx.hls_port

        async def hold(route: Route) -> None:
            held.append(route)

        pattern = f"http://127.0.0.1:{hls_port}/**"
        await page.page.route(pattern, hold)

        async def stale() -> bool:
            return await page.tile("bf", "data-state") == "stale"

        await poll(stale, 30, "bf tile stale", step=0.05)
        reason = await page.page.inner_text('.tile[data-camera="bf"] [data-testid="tile-reason"]')
        assert "no new frame" in reason
        assert (await admin.call("get_camera", {"camera": "bf"}))["status"] == "ONLINE"
        await page.shot("live-hls-stale")

        # Frames flow again: live without a reload.
        await page.page.unroute(pattern)
        for route in held:
            await asyncio.shield(_continue(route))
        await poll(hls_live, 60, "bf live over HLS again")
        t1 = (await page.frames("bf"))[1]
        await poll(lambda: _after(page, t1 + 0.5), 15, "HLS currentTime advancing again")
        page.check_clean()


async def _after(page: ConsolePage, t: float) -> bool:
    return (await page.page.evaluate('() => document.querySelector(".tile video").currentTime')) > t


async def _continue(route: Route) -> None:
    try:
        await route.continue_()
    except Exception:  # the player gave up on that request meanwhile (hls.js aborted it)
        return

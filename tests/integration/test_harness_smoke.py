"""Smoke test of the test harness itself: real MediaMTX + ffmpeg publisher + PyAV reader."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import av
import pytest

from tests.harness.ffmpeg import TestCamera
from tests.harness.mediamtx import MediaMTXInstance, run_mediamtx
from tests.harness.procs import wait_for

pytestmark = pytest.mark.integration

YAML = """
paths:
  cam1:
    source: publisher
"""


async def _path_info(http: aiohttp.ClientSession, mtx: MediaMTXInstance, name: str) -> dict[str, Any]:
    async with http.get(f"{mtx.api_url}/v3/paths/get/{name}") as resp:
        if resp.status == 404:
            return {"ready": False}
        resp.raise_for_status()
        data: dict[str, Any] = await resp.json()
        return data


def _read_one_frame(url: str) -> tuple[int, int]:
    with av.open(url, options={"rtsp_transport": "tcp"}, timeout=(5, 5)) as container:
        for frame in container.decode(video=0):
            return frame.width, frame.height
    raise AssertionError("no video frame decoded")


async def test_publish_read_and_unpublish(tmp_path: Path, test_camera_factory: Any) -> None:
    async with (
        run_mediamtx(YAML, workdir=tmp_path / "mtx") as mtx,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http,
    ):
        url = mtx.rtsp_url("cam1")
        cam: TestCamera = await test_camera_factory(url, width=320, height=240, fps=15)

        async def ready() -> dict[str, Any] | None:
            assert cam.running, f"ffmpeg exited:\n{cam.output()}"
            info = await _path_info(http, mtx, "cam1")
            return info if info.get("ready") else None

        info = await wait_for(ready, timeout=30, message=lambda: f"mediamtx output:\n{mtx.output(50)}")
        track = info["tracks2"][0]
        assert track["codec"] == "H264"
        assert track["codecProps"]["width"] == 320
        assert track["codecProps"]["height"] == 240

        width, height = await asyncio.to_thread(_read_one_frame, url)
        assert (width, height) == (320, 240)

        await cam.stop()
        assert not cam.running

        async def not_ready() -> bool:
            return not (await _path_info(http, mtx, "cam1")).get("ready")

        await wait_for(not_ready, timeout=15)


async def test_default_fixture_accepts_any_path(mediamtx: MediaMTXInstance, test_camera_factory: Any) -> None:
    assert set(mediamtx.ports) == {"api", "rtsp", "playback", "metrics"}
    cam: TestCamera = await test_camera_factory(mediamtx.rtsp_url("anything/nested"))
    async with aiohttp.ClientSession() as http:

        async def ready() -> bool:
            return bool((await _path_info(http, mediamtx, "anything/nested")).get("ready"))

        await wait_for(ready, timeout=30, message=lambda: mediamtx.output(50))
        async with http.get(f"{mediamtx.metrics_url}/metrics") as resp:
            assert resp.status == 200
    assert cam.running


async def test_kill_is_a_crash_and_output_is_kept(tmp_path: Path) -> None:
    async with run_mediamtx(workdir=tmp_path / "mtx") as mtx:
        assert "[API] started" in mtx.output()
        mtx.kill()
        await wait_for(lambda: not mtx.running, timeout=5)
        assert mtx.process is not None
        assert mtx.process.returncode == -9
        await mtx.restart()
        assert mtx.running
    assert not mtx.running


async def test_bad_config_fails_fast_with_output(tmp_path: Path) -> None:
    from tests.harness.mediamtx import MediaMTXStartError

    with pytest.raises(MediaMTXStartError, match="exited"):
        async with run_mediamtx("notAKey: 1\n", workdir=tmp_path / "bad"):
            pass

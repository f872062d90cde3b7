"""Recording needs the source pulled even when nobody watches: an on-demand pull camera (rtsp from a bare
MediaMTX fed by ffmpeg) and a local-device camera (runOnDemand publisher; here a stand-in script for
`ffmpeg -f v4l2`) record with no reader, and go back to on-demand after the recording stops."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from camera_service.mediamtx.client import MediaMTXClient
from tests.conftest import ServiceFactory, TestCameraFactory
from tests.harness.ffmpeg import ffmpeg_binary
from tests.harness.mediamtx import MediaMTXInstance
from tests.harness.procs import wait_for
from tests.harness.rpc_client import RpcClient

pytestmark = pytest.mark.integration

OVERRIDES: dict[str, Any] = {"recordings": {"segment_duration_s": 1, "retention": {"enabled": False}}}


async def _segments(rpc: RpcClient, camera: str) -> list[dict[str, Any]]:
    return list((await rpc.call("list_recordings", {"camera": camera, "limit": 1000}))["files"])


async def _wait_segments(rpc: RpcClient, camera: str, n: int) -> list[dict[str, Any]]:
    async def enough() -> list[dict[str, Any]] | None:
        files = await _segments(rpc, camera)
        return files if len(files) >= n else None

    files: list[dict[str, Any]] = await wait_for(enough, 30, 0.2, message=f"{camera}: no segments")
    return files


async def _ready(client: MediaMTXClient, path: str) -> bool:
    return (await client.get_path(path)).ready


async def test_on_demand_pull_camera_records_while_nobody_reads(
    service_factory: ServiceFactory,
    mediamtx: MediaMTXInstance,
    test_camera_factory: TestCameraFactory,
    tmp_path: Path,
) -> None:
    await test_camera_factory(mediamtx.rtsp_url("src"), width=320, height=240, fps=25, gop=12)
    async with service_factory(overrides=OVERRIDES, data_dir=tmp_path / "svc") as svc:
        rpc = await svc.client()
        await rpc.call(
            "add_camera",
            {"id": "pull", "name": "pull", "source": mediamtx.rtsp_url("src"), "on_demand": True},
        )
        mtx = svc.app.services.mediamtx.client
        conf = await mtx.get_path_config("pull")
        assert conf["sourceOnDemand"] is True and conf["record"] is False
        assert not await _ready(mtx, "pull")  # nobody reads: the source is not pulled

        await rpc.call("start_recording", {"camera": "pull"})
        conf = await mtx.get_path_config("pull")
        assert conf["sourceOnDemand"] is False and conf["record"] is True
        files = await _wait_segments(rpc, "pull", 2)
        assert (files[0]["width"], files[0]["height"]) == (320, 240)
        path = await mtx.get_path("pull")
        assert path.ready and path.readers == []  # recorded with no reader at all

        await rpc.call("stop_recording", {"camera": "pull"})
        conf = await mtx.get_path_config("pull")
        assert conf["sourceOnDemand"] is True and conf["record"] is False
        # Back to on-demand: with no reader MediaMTX closes the source (sourceOnDemandCloseAfter).
        await wait_for(
            lambda: _not(_ready(mtx, "pull")), 30, 0.5, message="source still pulled after the stop"
        )


async def _not(aw: Any) -> bool:
    return not await aw


def _fake_device_ffmpeg(tmp_path: Path) -> Path:
    """Stands in for `ffmpeg -f v4l2 -i /dev/videoN ... -f rtsp URL`: publishes a 320x240 test pattern to
    the URL MediaMTX passes last, and notes each start in a marker file."""
    script = tmp_path / "fake-v4l2-ffmpeg"
    marker = tmp_path / "device-starts"
    script.write_text(
        "#!/bin/sh\n"
        "for last; do :; done\n"
        f"echo start >> '{marker}'\n"
        f"exec '{ffmpeg_binary()}' -hide_banner -loglevel error -nostdin -re -f lavfi "
        "-i testsrc2=size=320x240:rate=25 -c:v libx264 -preset ultrafast -tune zerolatency "
        '-pix_fmt yuv420p -g 12 -f rtsp -rtsp_transport tcp "$last"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


async def test_local_device_camera_records_without_a_viewer(
    service_factory: ServiceFactory, tmp_path: Path
) -> None:
    fake = _fake_device_ffmpeg(tmp_path)
    marker = tmp_path / "device-starts"
    overrides = {**OVERRIDES, "cameras": {"device_ffmpeg": str(fake)}}
    async with service_factory(overrides=overrides, data_dir=tmp_path / "svc") as svc:
        rpc = await svc.client()
        await rpc.call("add_camera", {"id": "usb", "name": "usb", "source": "/dev/video7"})
        mtx = svc.app.services.mediamtx.client
        conf = await mtx.get_path_config("usb")
        assert conf["runOnDemand"].startswith(str(fake)) and not conf.get("runOnInit")
        assert not await _ready(mtx, "usb") and not marker.exists()  # published on demand only

        await rpc.call("start_recording", {"camera": "usb"})
        conf = await mtx.get_path_config("usb")
        assert conf["record"] is True and conf["runOnInit"].startswith(str(fake))
        assert not conf.get("runOnDemand")  # one publisher only
        files = await _wait_segments(rpc, "usb", 2)
        assert (files[0]["width"], files[0]["height"]) == (320, 240)
        assert (await mtx.get_path("usb")).readers == []

        await rpc.call("stop_recording", {"camera": "usb"})
        conf = await mtx.get_path_config("usb")
        assert conf["record"] is False and conf["runOnDemand"].startswith(str(fake))
        assert not conf.get("runOnInit")
        # The recording's publisher is stopped with the path reload: the device is free again.
        await wait_for(lambda: _not(_ready(mtx, "usb")), 15, 0.3, message="device still published")
        assert os.path.getsize(marker) > 0

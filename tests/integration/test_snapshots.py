"""Snapshots: in-process PyAV decode of the live stream, stored with metadata; offline camera errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import av
import pytest
import pytest_asyncio

from tests.harness.ffmpeg import TestCamera
from tests.harness.procs import wait_for
from tests.harness.rpc_client import RpcCallError, RpcClient
from tests.harness.service import RunningService, run_service, service_config

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

SNAPSHOT_TIMEOUT_S = 4.0


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def svc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningService]:
    data = tmp_path_factory.mktemp("snap")
    overrides = {"recordings": {"snapshot_timeout_s": SNAPSHOT_TIMEOUT_S, "snapshot_warm_s": 2}}
    async with run_service(service_config(data, overrides=overrides)) as running:
        rpc = await running.client()
        await rpc.call("add_camera", {"id": "cam1", "name": "one", "source": "publisher"})
        await rpc.call("add_camera", {"id": "dark", "name": "never publishes", "source": "publisher"})
        cam = TestCamera(
            await running.publish_url("cam1"),
            width=320,
            height=240,
            fps=25,
            gop=25,
            log_path=data / "cam1.log",
        )
        await cam.start()
        try:
            yield running
        finally:
            await cam.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def client(svc: RunningService) -> RpcClient:
    return await svc.client()


async def snapshot(client: RpcClient, params: dict[str, Any]) -> dict[str, Any]:
    async def attempt() -> dict[str, Any] | None:
        try:
            result = dict(await client.call("take_snapshot", params, timeout=SNAPSHOT_TIMEOUT_S + 5))
        except RpcCallError as exc:
            if exc.code == -32009:  # the publisher is not up yet
                return None
            raise
        if result["status"] == "FAILED" and result["error_code"] == -32009:  # the same, old shape
            return None
        return result

    result: dict[str, Any] = await wait_for(attempt, 20, 0.3, message="no snapshot")
    return result


def decode_image(path: Path) -> tuple[int, int, str]:
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
        return frame.width, frame.height, c.streams.video[0].codec_context.name


async def test_jpeg_snapshot_has_the_stream_resolution(svc: RunningService, client: RpcClient) -> None:
    snap = await snapshot(client, {"camera": "cam1"})
    assert snap["format"] == "jpeg" and (snap["width"], snap["height"]) == (320, 240)
    path = svc.settings.storage.snapshots_path / snap["filename"]
    data = path.read_bytes()
    assert data[:3] == b"\xff\xd8\xff" and data[-2:] == b"\xff\xd9"
    assert snap["file_size"] == len(data)
    assert await asyncio.to_thread(decode_image, path) == (320, 240, "mjpeg")
    # The next one within the warm period is served by the connected reader.
    again = await client.call("take_snapshot", {"camera": "cam1", "quality": 30})
    assert again["id"] != snap["id"] and again["width"] == 320
    assert again["file_size"] < snap["file_size"]  # lower quality, smaller file


async def test_png_scaled_and_compat_shapes(svc: RunningService, client: RpcClient) -> None:
    png = await snapshot(client, {"camera": "cam1", "format": "png", "max_width": 160})
    path = svc.settings.storage.snapshots_path / png["filename"]
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (png["width"], png["height"]) == (160, 120)
    assert await asyncio.to_thread(decode_image, path) == (160, 120, "png")
    compat = await snapshot(client, {"device": "camera0", "format": "jpg", "quality": 85})
    assert compat["status"] == "completed" and compat["device"] == "camera0" and compat["camera"] == "cam1"
    assert compat["file_path"] == compat["filename"] and compat["timestamp"]
    info = await client.call("get_snapshot_info", {"filename": compat["filename"]})
    # The compat method answers the old clients' relative /files path (issue 17, ADR 0012) ...
    assert info["id"] == compat["id"] and info["download_url"] == "/files/snapshots/" + compat["filename"]
    native = await client.call("get_snapshot", {"id": compat["id"]})  # ... the native one the signed URL
    assert native["download_url"].startswith(svc.http_url + "/downloads/snapshots/")
    listed = await client.call("list_snapshots", {"limit": 100, "offset": 0})
    assert compat["id"] in {f["id"] for f in listed["files"]} and listed["total"] >= 2
    deleted = await client.call("delete_snapshot", {"filename": compat["filename"]})
    assert deleted["deleted"] is True
    assert not (svc.settings.storage.snapshots_path / compat["filename"]).exists()
    with pytest.raises(RpcCallError) as err:
        await client.call("get_snapshot", {"id": compat["id"]})
    assert err.value.code == -32004


async def test_offline_camera_gives_a_clear_error_within_the_timeout(client: RpcClient) -> None:
    with pytest.raises(RpcCallError) as err:
        await client.call("take_snapshot", {"camera": "dark"}, timeout=SNAPSHOT_TIMEOUT_S + 2)
    assert err.value.code == -32009 and err.value.data["camera"] == "dark"
    assert "not streaming" in err.value.message
    with pytest.raises(RpcCallError) as err:
        await client.call("take_snapshot", {"camera": "nope"})
    assert err.value.code == -32004
    with pytest.raises(RpcCallError) as err:
        await client.call("take_snapshot", {"camera": "cam1", "quality": 0})
    assert err.value.code == -32602

"""Helpers of the compat protocol tests: a service with one publishing camera and one dark camera,
HTTP requests, and old-protocol requests (camerarecorder.md §1) sent as raw JSON-RPC frames."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from tests.harness.ffmpeg import TestCamera
from tests.harness.procs import wait_for
from tests.harness.rpc_client import RpcClient
from tests.harness.service import RunningService, run_service, service_config

SNAPSHOT_TIMEOUT_S = 3.0


@contextlib.asynccontextmanager
async def compat_service(data: Path, **overrides: Any) -> AsyncIterator[RunningService]:
    """cam1 (publisher, 320x240, fed by ffmpeg; the 0th camera = camera0 = /dev/video0) and dark
    (publisher that never publishes; camera1)."""
    cfg = {
        "recordings": {
            "segment_duration_s": 2,
            "snapshot_timeout_s": SNAPSHOT_TIMEOUT_S,
            "snapshot_warm_s": 2,
        },
        **overrides,
    }
    async with run_service(service_config(data, overrides=cfg)) as running:
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
            await wait_for(lambda: _online(rpc), 30, 0.2, message="cam1 never came online")
            yield running
        finally:
            await cam.stop()


async def _online(rpc: RpcClient) -> bool:
    cam = await rpc.call("get_camera", {"camera": "cam1"})
    return bool(cam["status"] == "ONLINE" and cam["live"]["streaming"])


async def old_call(client: RpcClient, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The whole response frame of a request as the old clients send it."""
    return await client.request(method, params if params is not None else {}, timeout=30)


async def http(
    method: str, url: str, headers: dict[str, str] | None = None
) -> tuple[int, bytes, dict[str, str]]:
    async with aiohttp.ClientSession() as s, s.request(method, url, headers=headers or {}) as r:
        return r.status, await r.read(), dict(r.headers)


async def http_json(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    import json

    status, body, _ = await http("GET", url, headers)
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode(errors="replace")

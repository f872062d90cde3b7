"""Helpers shared by the camera integration tests."""

from __future__ import annotations

import asyncio
from typing import Any

import av

from tests.harness.procs import wait_for
from tests.harness.rpc_client import RpcClient


def read_frame(url: str, timeout: float = 15.0) -> tuple[int, int, str]:
    """Open an RTSP URL with PyAV, decode one video frame; (width, height, codec name)."""
    with av.open(url, options={"rtsp_transport": "tcp"}, timeout=(timeout, timeout)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            return frame.width, frame.height, stream.codec_context.name
    raise AssertionError("no frame decoded")


async def read_frame_async(url: str, timeout: float = 15.0) -> tuple[int, int, str]:
    return await asyncio.to_thread(read_frame, url, timeout)


async def wait_camera(rpc: RpcClient, camera_id: str, timeout: float = 20.0, **expect: Any) -> dict[str, Any]:
    """Wait until get_camera shows every expected live/top-level field value; return the camera."""

    async def check() -> dict[str, Any] | None:
        cam: dict[str, Any] = await rpc.call("get_camera", {"camera": camera_id})
        merged = {**cam["live"], **cam}
        return cam if all(merged.get(k) == v for k, v in expect.items()) else None

    result: dict[str, Any] = await wait_for(
        check, timeout, 0.2, message=f"camera {camera_id} never had {expect}"
    )
    return result

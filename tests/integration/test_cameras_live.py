"""Cameras against real MediaMTX + ffmpeg: pull, publisher and on-demand cameras go ONLINE with the right
codec/resolution, are readable through their RTSP URLs, and status changes are pushed to clients."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.harness.mediamtx import MediaMTXInstance
from tests.harness.service import RunningService
from tests.integration.cameras_helpers import read_frame_async, wait_camera

pytestmark = pytest.mark.integration


async def test_three_cameras_online_readable_and_status_pushed(
    service: RunningService, mediamtx: MediaMTXInstance, test_camera_factory
) -> None:
    rpc = await service.client()
    # Upstream "cameras": paths of a separate bare MediaMTX fed by ffmpeg.
    await test_camera_factory(mediamtx.rtsp_url("feed1"), width=320, height=240, fps=15)
    await test_camera_factory(mediamtx.rtsp_url("feed2"), width=160, height=120, fps=10)
    await rpc.call("add_camera", {"id": "pull1", "name": "Pull", "source": mediamtx.rtsp_url("feed1")})
    await rpc.call(
        "add_camera", {"id": "pub1", "name": "Publisher", "source": "publisher", "tags": ["lobby"]}
    )
    await rpc.call("add_camera", {"id": "od1", "source": mediamtx.rtsp_url("feed2"), "on_demand": True})
    publisher = await test_camera_factory(await service.publish_url("pub1"), width=352, height=288, fps=15)

    pull = await wait_camera(rpc, "pull1", status="ONLINE", width=320, height=240, codec="H264")
    assert pull["live"]["source_type"] == "rtspSource"
    pub = await wait_camera(rpc, "pub1", status="ONLINE", width=352, height=288, codec="H264")
    assert pub["live"]["source_type"] == "rtspSession"
    od = await rpc.call("get_camera", {"camera": "od1"})
    assert od["status"] == "OFFLINE" and od["live"]["streaming"] is False  # nobody has read it yet

    # Each camera is readable through its public RTSP URL; reading the on-demand one starts its pull.
    for cid, size in (("pull1", (320, 240)), ("pub1", (352, 288)), ("od1", (160, 120))):
        urls = await rpc.call("get_stream_urls", {"camera": cid})
        # (security appends a short-lived stream token: ?token=...)
        assert urls["rtsp"].split("?")[0] == f"rtsp://127.0.0.1:{service.settings.mediamtx.rtsp_port}/{cid}"
        width, height, codec = await read_frame_async(service.rtsp_url(cid))  # + the reader credential
        assert (width, height, codec) == (*size, "h264")
    await wait_camera(rpc, "od1", status="ONLINE", width=160, height=120, codec="H264")

    # The frame rate is measured from the stream (MediaMTX reports none).
    measured = await wait_camera(rpc, "pull1", timeout=20, status="ONLINE")
    for _ in range(100):
        if measured["live"]["fps"] is not None:
            break
        measured = await rpc.call("get_camera", {"camera": "pull1"})
        await asyncio.sleep(0.2)
    assert measured["live"]["fps"] == pytest.approx(15, abs=1.5)

    listed = await rpc.call("get_camera_list")
    by_device = {c["device"]: c for c in listed["cameras"]}
    assert by_device["pub1"]["status"] == "CONNECTED" and by_device["pub1"]["resolution"] == "352x288"
    assert listed["total"] == 3 and listed["connected"] == 3

    # Stop the publisher: OFFLINE is pushed within 2 s; restart it: ONLINE again.
    while not rpc.notifications.empty():
        rpc.notifications.get_nowait()
    stopped_at = time.monotonic()
    await publisher.stop()
    note = await rpc.next_notification(
        "camera_status_update", timeout=2.0, where=lambda p: p["device"] == "pub1" and p["state"] == "OFFLINE"
    )
    assert note["params"]["status"] == "DISCONNECTED"
    print(f"OFFLINE notification after {time.monotonic() - stopped_at:.3f} s")
    await publisher.start()
    note = await rpc.next_notification(
        "camera_status_update", timeout=30.0, where=lambda p: p["device"] == "pub1" and p["state"] == "ONLINE"
    )
    assert note["params"]["resolution"] == "352x288"
    status = await rpc.call("get_camera_status", {"device": "pub1"})
    assert status["status"] == "CONNECTED" and status["capabilities"]["formats"] == ["H264"]
    # Compat names: cameraN is the N-th camera by creation order.
    by_compat_name = await rpc.call("get_camera_status", {"device": "camera1"})
    assert by_compat_name["device"] == "camera1" and by_compat_name["camera"] == "pub1"  # echoed as given

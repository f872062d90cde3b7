"""Event clips against the real service: an event on a continuously recording camera gets a clip of
pre + post seconds cut from the recordings once the post-roll has passed, linked from the event."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import pytest

from tests.integration.cameras_helpers import wait_camera

pytestmark = pytest.mark.integration

OVERRIDES = {
    "recordings": {"segment_duration_s": 4, "retention": {"enabled": False}},
    "events": {"clip_settle_s": 1.0},
}


async def test_event_clip_pre4_post4_is_an_8s_mp4_linked_from_the_event(
    service_factory: Any, test_camera_factory: Any
) -> None:
    async with service_factory(overrides=OVERRIDES) as svc:
        admin = await svc.client()
        await admin.call("add_camera", {"id": "cam1", "name": "cam1", "source": "publisher"})
        await test_camera_factory(await svc.publish_url("cam1"), fps=25, gop=25)
        # ONLINE before the policy is set: MediaMTX refuses a publisher whose path config changed between
        # its ANNOUNCE and RECORD, and ffmpeg does not retry.
        await wait_camera(admin, "cam1", status="ONLINE")
        await admin.call("set_recording_policy", {"camera": "cam1", "policy": {"mode": "continuous"}})
        viewer = await svc.client("viewer")
        await viewer.call("subscribe_events", {"topics": ["event.*", "clip.*"], "cameras": ["cam1"]})

        # Let at least the pre-roll be recorded before the event.
        deadline = time.monotonic() + 30
        while True:
            status = await admin.call("get_recording_status", {"camera": "cam1"})
            if status["recording"]:
                break
            assert time.monotonic() < deadline, status
            await asyncio.sleep(0.2)
        await asyncio.sleep(6.0)

        event = await admin.call(
            "create_event",
            {"type": "alarm.motion", "camera": "cam1", "severity": "high", "clip": {"pre_s": 4, "post_s": 4}},
        )
        assert event["clip_state"] == "pending" and event["clip_id"] is None
        ready = await viewer.next_notification(
            "event",
            timeout=45,
            where=lambda p: p["event"]["type"] in ("event.clip_ready", "event.clip_failed"),
        )
        assert ready["params"]["event"]["type"] == "event.clip_ready", ready
        assert ready["params"]["event"]["data"]["event_id"] == event["id"]

        linked = await admin.call("get_event", {"id": event["id"]})
        assert (
            linked["clip_state"] == "ready"
            and linked["clip_id"] == ready["params"]["event"]["data"]["clip_id"]
        )
        clip = await admin.call("get_clip", {"id": linked["clip_id"]})
        assert 8.0 * 0.85 <= clip["duration_s"] <= 8.0 * 1.15, clip
        assert clip["camera"] == "cam1" and clip["locked"] is True and clip["file_size"] > 0
        assert clip["kind"] == "event"
        start = datetime.fromisoformat(clip["start"]).timestamp()
        assert abs(start - (event["time"] - 4.0)) < 1.5  # cut around the event, not elsewhere

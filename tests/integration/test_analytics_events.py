"""Motion and tamper from real streams, and detections driving the existing rules: a still scene never
reaches the detector after its first frame, a moving pattern makes motion events, a camera switched to
black frames makes `tamper.blackout`, and a rule on `detection.person` cuts a clip of the recording."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.integration.analytics_helpers import overrides, photo_camera, wait_for
from tests.integration.cameras_helpers import wait_camera

pytestmark = pytest.mark.integration

BLACK = ["-f", "lavfi", "-i", "color=c=black:size=320x240:rate=5"]


async def test_still_scene_is_gated_moving_pattern_makes_motion_and_black_frames_are_tamper(
    service_factory: Any, test_camera_factory: Any
) -> None:
    async with service_factory(overrides=overrides()) as svc:
        admin = await svc.client()
        for cam in ("still", "moving", "black"):
            await admin.call("add_camera", {"id": cam, "name": cam, "source": "publisher"})
        await photo_camera(test_camera_factory, await svc.publish_url("still"), "chelsea")
        await test_camera_factory(await svc.publish_url("moving"), fps=5, gop=2)
        to_black = await test_camera_factory(await svc.publish_url("black"), fps=5, gop=2)
        viewer = await svc.client("viewer")
        await viewer.call("subscribe_events", {"topics": ["motion.*", "tamper.*"]})

        await admin.call("set_analytics", {"camera": "still", "enabled": True})
        for cam in ("moving", "black"):
            await admin.call(
                "set_analytics", {"camera": cam, "enabled": True, "detectors": ["motion", "tamper"]}
            )

        # Still scene: the first frame is analysed, every later one is gated (counted, no detector run).
        # (The first frame's detection may still be running in the worker when the sixth is sampled.)
        async def still_gated() -> dict[str, int] | None:
            frames: dict[str, int] = (await admin.call("get_analytics", {"camera": "still"}))["frames"]
            done = frames["detected"] + frames["dropped"] >= 1
            return frames if frames["sampled"] >= 6 and done else None

        frames = await wait_for(still_gated, what="six samples of the still camera")
        assert frames["detected"] == 1 and frames["gated"] >= frames["sampled"] - 2, frames
        assert frames["motion"] == 0, frames
        metrics = svc.app.services.metrics.render().decode()
        assert 'camera_service_analytics_frames_total{camera="still",outcome="gated"}' in metrics

        note = await viewer.next_notification(
            "event", timeout=60, where=lambda p: p["event"]["type"] == "motion.started"
        )
        event = note["params"]["event"]
        assert event["camera"] in ("moving", "black"), event  # both show the moving pattern now
        assert event["data"]["regions"] and 0 < event["data"]["changed"] < 0.8, event

        # Switch the "black" camera to black frames: the sampler reconnects and reports a blackout.
        await to_black.stop()
        await test_camera_factory(await svc.publish_url("black"), fps=5, gop=2, input_args=BLACK)
        note = await viewer.next_notification(
            "event", timeout=60, where=lambda p: p["event"]["type"] == "tamper.blackout"
        )
        event = note["params"]["event"]
        assert event["camera"] == "black" and event["severity"] == "high", event
        info = await admin.call("get_analytics", {"camera": "black"})
        assert info["active_tamper"] == ["blackout"], info
        moving = await admin.call("get_analytics", {"camera": "moving"})
        assert moving["active_tamper"] == [] and moving["frames"]["motion"] >= 1, moving

        # The black camera's motion period ended; get_timeline marks it (the moving one: still going).
        async def motion_marks(cam: str) -> list[dict[str, Any]]:
            window = {"camera": cam, "start": time.time() - 600, "end": time.time() + 60}
            timeline = await admin.call("get_timeline", window)
            return [a for a in timeline["activity"] if a["kind"] == "motion"]

        black_marks = await wait_for(lambda: motion_marks("black"), what="a motion period on the timeline")
        assert black_marks[0]["start"] <= black_marks[0]["end"], black_marks
        assert await motion_marks("moving"), "the ongoing motion period is marked too"


async def test_a_rule_on_detection_person_makes_a_clip(
    service_factory: Any, test_camera_factory: Any
) -> None:
    cfg = overrides()
    cfg |= {"recordings": {"segment_duration_s": 4, "retention": {"enabled": False}}}
    cfg |= {"events": {"clip_settle_s": 1.0}}
    async with service_factory(overrides=cfg) as svc:
        admin = await svc.client()
        await admin.call("add_camera", {"id": "astro", "name": "astro", "source": "publisher"})
        await photo_camera(test_camera_factory, await svc.publish_url("astro"), "astronaut")
        # ONLINE before the policy is set: MediaMTX refuses a publisher whose path config changed between
        # its ANNOUNCE and RECORD, and ffmpeg does not retry.
        await wait_camera(admin, "astro", status="ONLINE")
        await admin.call("set_recording_policy", {"camera": "astro", "policy": {"mode": "continuous"}})
        rule = await admin.call(
            "add_rule",
            {
                "name": "person on astro",
                "trigger": {"topics": ["detection.person"], "cameras": ["astro"]},
                "actions": [{"type": "clip", "params": {"pre_s": 2, "post_s": 2}}],
            },
        )
        viewer = await svc.client("viewer")
        await viewer.call("subscribe_events", {"topics": ["detection.*", "event.*"], "cameras": ["astro"]})

        async def recording() -> bool:
            return bool((await admin.call("get_recording_status", {"camera": "astro"}))["recording"])

        await wait_for(recording, what="the recording to start")
        await admin.call("set_analytics", {"camera": "astro", "enabled": True})

        detection = (
            await viewer.next_notification(
                "event", timeout=90, where=lambda p: p["event"]["type"] == "detection.person"
            )
        )["params"]["event"]
        ready = (
            await viewer.next_notification(
                "event",
                timeout=90,
                where=lambda p: p["event"]["type"] in ("event.clip_ready", "event.clip_failed"),
            )
        )["params"]["event"]
        assert ready["type"] == "event.clip_ready", ready
        assert ready["data"]["event_id"] == detection["id"], (ready, detection)
        clip = await admin.call("get_clip", {"id": ready["data"]["clip_id"]})
        assert clip["camera"] == "astro" and clip["file_size"] > 0 and clip["duration_s"] > 2.0, clip
        runs = await admin.call("list_rule_runs", {"rule": rule["id"]})
        assert runs and runs[0]["event_id"] == detection["id"], runs

        found = await admin.call("search_detections", {"class": "person", "camera": "astro"})
        assert [d["event_id"] for d in found["detections"]] == [detection["id"]]

        # get_timeline shows the recording and marks the person's presence.
        window = {"camera": "astro", "start": detection["time"] - 60, "end": time.time() + 5}
        timeline = await admin.call("get_timeline", window)
        assert timeline["ranges"], timeline
        objects = [a for a in timeline["activity"] if a["kind"] == "object"]
        assert [(a["label"], a["event_id"]) for a in objects] == [("person", detection["id"])], timeline

"""Object detection on real photos published as cameras through MediaMTX: the astronaut photo makes a
confirmed `detection.person` event (stored, searchable, with a best-frame snapshot), the cat photo makes
none; take_snapshot of an analysed camera answers from the sampled frame; a killed worker comes back."""

from __future__ import annotations

import os
import re
import signal
import time
from typing import Any

import pytest

from tests.harness.rpc_client import RpcCallError
from tests.integration.analytics_helpers import overrides, photo_camera, wait_for

pytestmark = pytest.mark.integration


async def test_astronaut_is_a_person_and_the_cat_is_not(
    service_factory: Any, test_camera_factory: Any
) -> None:
    async with service_factory(overrides=overrides()) as svc:
        admin = await svc.client()
        for cam in ("astro", "cat"):
            await admin.call("add_camera", {"id": cam, "name": cam, "source": "publisher"})
        await photo_camera(test_camera_factory, await svc.publish_url("astro"), "astronaut")
        await photo_camera(test_camera_factory, await svc.publish_url("cat"), "chelsea")
        viewer = await svc.client("viewer")
        await viewer.call("subscribe_events", {"topics": ["detection.*"]})

        # Bad input: a clear JSON-RPC error and nothing changes.
        bad = [
            ({"camera": "astro", "enabled": True, "detectors": ["objects", "xray"]}, -32602, "detectors"),
            (
                {"camera": "astro", "zones": [{"name": "z", "points": [[0, 0], [2, 0], [0, 1]]}]},
                -32602,
                "zones",
            ),
            ({"camera": "astro", "fps": 0}, -32602, "fps"),
            ({"camera": "nope", "enabled": True}, -32004, None),
        ]
        for params, code, field in bad:
            with pytest.raises(RpcCallError) as err:
                await admin.call("set_analytics", params)
            assert err.value.code == code, (params, err.value)
            if field:
                assert field in str(err.value.data), err.value.data
        assert (await admin.call("get_analytics", {"camera": "astro"}))["enabled"] is False

        started = time.time()
        zone = {"name": "left", "points": [[0, 0], [0.8, 0], [0.8, 1], [0, 1]]}
        for cam in ("astro", "cat"):
            result = await admin.call("set_analytics", {"camera": cam, "enabled": True, "zones": [zone]})
            assert result["enabled"] is True and result["running"] is True
            assert result["settings"]["detectors"] == ["objects", "motion", "tamper"]

        note = await viewer.next_notification(
            "event", timeout=90, where=lambda p: p["event"]["type"] == "detection.person"
        )
        event = note["params"]["event"]
        print(f"detection.person {event['time'] - started:.2f}s after enabling (frame time)")
        assert event["camera"] == "astro", event
        data = event["data"]
        assert data["label"] == "person" and data["confidence"] >= 0.8, data
        x1, y1, x2, y2 = data["box"]
        # The astronaut fills the left two-thirds of the photo, head near the top, cut off at the bottom.
        assert x1 < 0.2 and 0.55 < x2 < 0.95 and y1 < 0.2 and y2 > 0.9, data["box"]
        assert data["track_id"] and data["snapshot_id"], data
        assert data["zone"] == "left", data  # her feet (bottom centre of the box) are in the zone

        stored = await admin.call("get_event", {"id": event["id"]})
        assert stored["type"] == "detection.person" and stored["data"]["track_id"] == data["track_id"]
        snap = await admin.call("get_snapshot", {"id": data["snapshot_id"]})
        assert snap["camera"] == "astro" and snap["file_size"] > 0, snap

        found = await admin.call(
            "search_detections",
            {"class": "person", "camera": "astro", "start": started - 5, "end": time.time() + 5},
        )
        assert [d["event_id"] for d in found["detections"]] == [event["id"]], found
        assert found["detections"][0]["score"] >= 0.8
        assert (await admin.call("search_detections", {"zone": "left"}))["detections"][0][
            "event_id"
        ] == event["id"]
        assert (await admin.call("search_detections", {"zone": "right"}))["detections"] == []

        # Camera scope: a viewer of the cat camera sees none of the astronaut's detections.
        cat_viewer = await svc.client("viewer", scopes={"cameras": ["cat"]})
        assert (await cat_viewer.call("search_detections", {"class": "person"}))["detections"] == []
        with pytest.raises(RpcCallError) as err:
            await cat_viewer.call("search_detections", {"camera": "astro"})
        assert err.value.code == -32004

        # The cat camera's first frame went through the detector (later ones are gated: a still photo
        # has no motion and no moving object) and no person was found.
        async def cat_checked() -> dict[str, int] | None:
            frames: dict[str, int] = (await admin.call("get_analytics", {"camera": "cat"}))["frames"]
            return frames if frames["detected"] >= 1 and frames["gated"] >= 2 else None

        await wait_for(cat_checked, what="cat frames through the detector")
        none = await admin.call("search_detections", {"class": "person", "camera": "cat"})
        assert none["detections"] == [], none
        assert (await admin.call("search_detections", {"label": "person"}))["detections"][0][
            "camera"
        ] == "astro"

        # take_snapshot of an analysed camera is served from the sampled frame.
        shot = await admin.call("take_snapshot", {"camera": "astro"})
        assert shot["camera"] == "astro" and shot["file_size"] > 0, shot


async def test_killed_worker_is_restarted_and_analytics_resumes(
    service_factory: Any, test_camera_factory: Any
) -> None:
    async with service_factory(overrides=overrides()) as svc:
        admin = await svc.client()
        await admin.call("add_camera", {"id": "astro", "name": "astro", "source": "publisher"})
        await photo_camera(test_camera_factory, await svc.publish_url("astro"), "astronaut")
        await admin.call("set_analytics", {"camera": "astro", "enabled": True})

        async def worker() -> dict[str, Any] | None:
            status = await admin.call("get_status")
            w = status["components"]["analytics"]["details"]["worker"]
            return w if w["ready"] and w["pid"] else None

        first = await wait_for(worker, what="the analytics worker")

        async def detections() -> list[dict[str, Any]]:
            found = await admin.call("search_detections", {"camera": "astro", "class": "person"})
            return list(found["detections"])

        await wait_for(detections, what="a first detection")
        os.kill(first["pid"], signal.SIGKILL)

        async def restarted() -> dict[str, Any] | None:
            w = await worker()
            return w if w and w["pid"] != first["pid"] and w["restarts"] >= 1 else None

        await wait_for(restarted, what="a restarted worker")
        assert await admin.call("ping") == "pong"  # the service kept answering

        # Analytics resumes: with fresh tracks (re-enabling resets them) the restarted worker finds the
        # astronaut again and a second detection event is stored.
        await admin.call("set_analytics", {"camera": "astro", "enabled": True})

        async def two_detections() -> bool:
            return len(await detections()) >= 2

        await wait_for(two_detections, timeout=90, what="a detection from the restarted worker")
        metrics = svc.app.services.metrics.render().decode()
        assert "camera_service_analytics_worker_restarts_total 1.0" in metrics


async def test_a_plugin_that_cannot_load_is_reported_and_the_service_runs_on(
    service_factory: Any, test_camera_factory: Any, tmp_path: Any
) -> None:
    cfg = overrides()
    cfg["analytics"]["models_dir"] = str(tmp_path / "no-models")  # the objects model is missing here
    async with service_factory(overrides=cfg) as svc:
        admin = await svc.client()
        await admin.call("add_camera", {"id": "cat", "name": "cat", "source": "publisher"})
        await photo_camera(test_camera_factory, await svc.publish_url("cat"), "chelsea")
        await admin.call("set_analytics", {"camera": "cat", "enabled": True})

        async def reported() -> dict[str, Any] | None:
            analytics = (await admin.call("get_status"))["components"]["analytics"]
            return analytics if "objects" in analytics["details"]["plugin_errors"] else None

        analytics = await wait_for(reported, what="the objects plugin's load error in get_status")
        assert "install-models.sh" in analytics["details"]["plugin_errors"]["objects"], analytics
        assert analytics["details"]["worker"]["ready"] is True, analytics
        plugins = await admin.call("list_analytics_plugins")
        objects = next(p for p in plugins["plugins"] if p["manifest"]["id"] == "objects")
        assert "FileNotFoundError" in objects["error"], plugins

        async def sampling() -> bool:
            return (await admin.call("get_analytics", {"camera": "cat"}))["frames"]["sampled"] >= 3

        await wait_for(sampling, what="sampling to go on")  # the rest of analytics keeps working
        assert await admin.call("ping") == "pong"

        # A camera that is not streaming: the reader's error is shown, without the reader's credentials.
        await admin.call("add_camera", {"id": "dark", "name": "dark", "source": "publisher"})
        await admin.call("set_analytics", {"camera": "dark", "enabled": True, "detectors": ["motion"]})

        async def error() -> str | None:
            info = await admin.call("get_analytics", {"camera": "dark"})
            return info["error"] if not info["connected"] and info["error"] else None

        text = await wait_for(error, what="the reader's error")
        assert re.search(r"://[^/@*\s]+@", text) is None, text

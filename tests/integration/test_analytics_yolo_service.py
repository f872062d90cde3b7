"""A YOLO-family model configured by path (analytics.yolo) runs as the `objects` detector through the
real service: a synthetic YOLOv8-layout model (its output is a constant set of candidates, see
tests/harness/yolo_model.py) on the cat photo (450x300, letterboxed) makes a confirmed `detection.widget`
event with the box mapped back to frame coordinates; a missing model file is reported in get_status and
the service runs on."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.harness.yolo_model import candidate_rows, write_model
from tests.integration.analytics_helpers import overrides, photo_camera, wait_for

pytestmark = pytest.mark.integration

SIZE = 64
FRAME_W, FRAME_H = 450, 300  # chelsea.png (451x300) published at even size
WIDGET = (0.1, 0.2, 0.5, 0.9)  # normalised frame box the model "finds"


def to_input(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    scale = min(SIZE / FRAME_W, SIZE / FRAME_H)
    top = (SIZE - round(FRAME_H * scale)) // 2  # wide frame: padded above and below
    x1, y1, x2, y2 = box
    return (
        x1 * FRAME_W * scale,
        y1 * FRAME_H * scale + top,
        x2 * FRAME_W * scale,
        y2 * FRAME_H * scale + top,
    )


def v8_model(path: Path) -> Path:
    rows = candidate_rows(
        [
            (to_input(WIDGET), 0, 0.9, 1.0),
            (to_input((0.6, 0.1, 0.9, 0.4)), 1, 0.3, 1.0),  # over score_threshold, under min_score
        ],
        2,
    )
    v8 = np.concatenate([rows[:, :4], rows[:, 5:]], axis=1).T.copy()  # [4+classes, boxes]
    return write_model(path, v8, SIZE)


async def test_a_configured_yolo_model_makes_detection_events_in_frame_coordinates(
    service_factory: Any, test_camera_factory: Any, tmp_path: Path
) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text("widget\ngadget\n", encoding="utf-8")
    model = v8_model(tmp_path / "yolo.onnx")
    cfg = overrides(yolo={"model": str(model), "labels": str(labels)})
    async with service_factory(overrides=cfg) as svc:
        admin = await svc.client()
        await admin.call("add_camera", {"id": "cat", "name": "cat", "source": "publisher"})
        await photo_camera(test_camera_factory, await svc.publish_url("cat"), "chelsea")
        viewer = await svc.client("viewer")
        await viewer.call("subscribe_events", {"topics": ["detection.*"]})
        started = time.time()
        result = await admin.call(
            "set_analytics", {"camera": "cat", "enabled": True, "labels": ["widget", "gadget"]}
        )
        assert result["settings"]["detectors"] == ["objects", "motion", "tamper"]

        note = await viewer.next_notification(
            "event", timeout=90, where=lambda p: p["event"]["type"].startswith("detection.")
        )
        event = note["params"]["event"]
        assert event["type"] == "detection.widget" and event["camera"] == "cat", event
        data = event["data"]
        assert data["label"] == "widget" and data["confidence"] == pytest.approx(0.9, abs=1e-3), data
        assert data["box"] == pytest.approx(list(WIDGET), abs=0.01), data["box"]
        assert data["track_id"] and data["snapshot_id"], data

        found = await admin.call(
            "search_detections", {"class": "widget", "start": started - 5, "end": time.time() + 5}
        )
        assert [d["event_id"] for d in found["detections"]] == [event["id"]], found
        assert (await admin.call("search_detections", {"class": "gadget"}))["detections"] == []
        analytics = (await admin.call("get_status"))["components"]["analytics"]
        assert analytics["details"]["plugin_errors"] == {}, analytics
        plugins = await admin.call("list_analytics_plugins")
        objects = next(p for p in plugins["plugins"] if p["manifest"]["id"] == "objects")
        assert objects["manifest"]["entrypoint"].endswith("yolo:YoloObjects") and objects["error"] is None


async def test_a_missing_yolo_model_is_reported_and_the_service_runs_on(
    service_factory: Any, test_camera_factory: Any, tmp_path: Path
) -> None:
    cfg = overrides(yolo={"model": str(tmp_path / "gone.onnx"), "labels": ["widget"]})
    async with service_factory(overrides=cfg) as svc:
        admin = await svc.client()
        await admin.call("add_camera", {"id": "cat", "name": "cat", "source": "publisher"})
        await photo_camera(test_camera_factory, await svc.publish_url("cat"), "chelsea")
        await admin.call("set_analytics", {"camera": "cat", "enabled": True})

        async def reported() -> dict[str, Any] | None:
            analytics = (await admin.call("get_status"))["components"]["analytics"]
            return analytics if "objects" in analytics["details"]["plugin_errors"] else None

        analytics = await wait_for(reported, what="the YOLO model's load error in get_status")
        assert "gone.onnx is missing" in analytics["details"]["plugin_errors"]["objects"], analytics
        assert analytics["details"]["worker"]["ready"] is True, analytics

        async def sampling() -> bool:
            return (await admin.call("get_analytics", {"camera": "cat"}))["frames"]["sampled"] >= 3

        await wait_for(sampling, what="sampling to go on")
        assert await admin.call("ping") == "pong"

"""Faces and licence plates from real streams: the astronaut's face becomes a `detection.face` event, a
synthetic plate (drawn by ffmpeg) read by PP-OCR becomes a `detection.plate` event carrying its text,
and search_detections finds it by plate text."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.analytics_helpers import overrides, photo_camera, wait_for

pytestmark = pytest.mark.integration

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"  # Debian fonts-dejavu-core (scripts/setup.sh)
PLATE = [
    "-f",
    "lavfi",
    "-i",
    "color=c=0x404040:size=640x360:rate=5,"
    "drawbox=x=120:y=130:w=400:h=100:color=white:t=fill,drawbox=x=120:y=130:w=400:h=100:color=black:t=4,"
    f"drawtext=fontfile={FONT}:text='AB 123 CD':fontsize=56:fontcolor=black:x=(w-text_w)/2:y=(h-text_h)/2",
]


async def test_face_on_the_astronaut_and_plate_text_in_the_event(
    service_factory: Any, test_camera_factory: Any
) -> None:
    async with service_factory(overrides=overrides()) as svc:
        admin = await svc.client()
        for cam in ("astro", "gate"):
            await admin.call("add_camera", {"id": cam, "name": cam, "source": "publisher"})
        await photo_camera(test_camera_factory, await svc.publish_url("astro"), "astronaut")
        await test_camera_factory(await svc.publish_url("gate"), fps=5, gop=2, input_args=PLATE)
        viewer = await svc.client("viewer")
        await viewer.call("subscribe_events", {"topics": ["detection.face", "detection.plate"]})

        await admin.call(
            "set_analytics", {"camera": "astro", "enabled": True, "detectors": ["faces", "motion"]}
        )
        await admin.call(
            "set_analytics",
            {"camera": "gate", "enabled": True, "detectors": ["plates", "motion"], "plates_full_frame": True},
        )
        seen: dict[str, dict[str, Any]] = {}

        async def both() -> bool:
            note = await viewer.next_notification("event", timeout=120)
            event = note["params"]["event"]
            seen.setdefault(event["type"], event)
            return {"detection.face", "detection.plate"} <= set(seen)

        await wait_for(both, timeout=180, interval=0, what="a face and a plate event")
        face = seen["detection.face"]
        assert face["camera"] == "astro" and face["data"]["confidence"] >= 0.8, face
        x1, y1, x2, y2 = face["data"]["box"]
        # Her face: upper middle of the photo.
        assert 0.3 < x1 < 0.45 and 0.45 < x2 < 0.6 and 0.05 < y1 < 0.2 and 0.25 < y2 < 0.45, face

        plate = seen["detection.plate"]
        assert plate["camera"] == "gate" and plate["data"]["plate"] == "AB 123 CD", plate
        px1, py1, px2, py2 = plate["data"]["box"]
        assert 0.1 < px1 < 0.35 and 0.65 < px2 < 0.9 and 0.3 < py1 < 0.5 and 0.5 < py2 < 0.7, plate

        found = await admin.call("search_detections", {"plate": "ab123"})
        assert [d["event_id"] for d in found["detections"]] == [plate["id"]], found
        assert found["detections"][0]["plate"] == "AB123CD"
        assert (await admin.call("search_detections", {"plate": "XY999"}))["detections"] == []
        faces = await admin.call("search_detections", {"class": "face", "camera": "astro"})
        assert [d["event_id"] for d in faces["detections"]] == [face["id"]]

"""get_statistics against the real service: uptime from status events, recorded time and bytes from the
segment index, events by type and severity, snapshots, external live-view sessions; scoped and validated."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness.procs import wait_for
from tests.harness.rpc_client import RpcCallError
from tests.integration.cameras_helpers import read_frame_async, wait_camera

pytestmark = pytest.mark.integration
OVERRIDES = {"recordings": {"segment_duration_s": 2, "retention": {"enabled": False}}}


async def test_statistics_per_camera_and_scoped(service_factory: Any, test_camera_factory: Any) -> None:
    async with service_factory(overrides=OVERRIDES) as svc:
        admin = await svc.client()
        for cam, group in (("gate", "north"), ("yard", "south")):
            await admin.call("add_camera", {"id": cam, "source": "publisher", "group": group})
            await test_camera_factory(await svc.publish_url(cam), width=320, height=240, fps=15, gop=15)
            await wait_camera(admin, cam, status="ONLINE")
        await admin.call("start_recording", {"camera": "gate"})
        await admin.call("take_snapshot", {"camera": "gate"}, timeout=40)
        await admin.call("create_event", {"type": "alarm.door", "camera": "gate", "severity": "high"})
        # An external viewer (token in the URL) reads gate: one live-view session.
        token = (await admin.call("create_stream_token", {"camera": "gate"}))["token"]
        assert (await read_frame_async(svc.public_rtsp_url("gate", token), 15.0))[0] == 320

        async def gate_stats() -> dict[str, Any] | None:
            stats = await admin.call("get_statistics", {"camera": "gate"})
            row = stats["cameras"][0]
            done = row["recorded_hours"] > 0 and row["live_view_sessions"] >= 1
            return stats if done else None

        stats = await wait_for(gate_stats, 60, 0.5, message="no recorded segment or live view counted")
        gate = stats["cameras"][0]
        assert [c["camera"] for c in stats["cameras"]] == ["gate"]
        assert 0 < gate["uptime_percent"] <= 100 and gate["online_seconds"] > 0
        assert gate["recorded_bytes"] > 0 and gate["snapshots"] == 1
        assert gate["events_by_type"]["alarm.door"] == 1 and gate["events_by_type"]["camera.online"] >= 1
        assert gate["events_by_severity"]["high"] >= 1
        assert gate["live_view_sessions"] == gate["events_by_type"]["liveview.started"]
        assert stats["window_seconds"] == pytest.approx(24 * 3600, abs=5)

        everything = await admin.call("get_statistics")
        assert [c["camera"] for c in everything["cameras"]] == ["gate", "yard"]
        yard = everything["cameras"][1]
        assert yard["snapshots"] == 0 and yard["recorded_bytes"] == 0 and yard["live_view_sessions"] == 0
        assert everything["totals"]["snapshots"] == 1
        south = await admin.call("get_statistics", {"group": "south"})
        assert [c["camera"] for c in south["cameras"]] == ["yard"]

        # A window before the cameras existed: nothing recorded, nothing online.
        old = await admin.call(
            "get_statistics", {"start": "2020-01-01T00:00:00Z", "end": "2020-01-02T00:00:00Z"}
        )
        assert all(c["uptime_percent"] == 0 and c["snapshots"] == 0 for c in old["cameras"])

        # Scope: a viewer of yard sees yard only, and gate is NOT_FOUND (like an unknown camera).
        viewer = await svc.client("viewer", scopes={"cameras": ["yard"]})
        assert [c["camera"] for c in (await viewer.call("get_statistics"))["cameras"]] == ["yard"]
        with pytest.raises(RpcCallError) as err:
            await viewer.call("get_statistics", {"camera": "gate"})
        assert err.value.code == -32004
        with pytest.raises(RpcCallError) as err:
            await admin.call(
                "get_statistics", {"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}
            )
        assert err.value.code == -32602

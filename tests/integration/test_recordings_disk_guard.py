"""The low-disk guard, triggered through its thresholds (absolute free-GB thresholds above any real disk's
free space, set at runtime with set_retention_settings, or percent thresholds from the config file):
warning -> `storage.warning` bus event + `storage_status_update` notification; block -> start_recording
refused with STORAGE_ERROR while running recordings go on and existing ones are kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from camera_service.core.bus import Event
from tests.conftest import ServiceFactory, TestCameraFactory
from tests.harness.procs import wait_for
from tests.harness.rpc_client import RpcCallError, RpcClient
from tests.integration.cameras_helpers import wait_camera

pytestmark = pytest.mark.integration

STORAGE_ERROR = -32007
HUGE_GB = 1_000_000.0  # 1 PB: more than the free space of any test machine


async def _segments(rpc: RpcClient, camera: str) -> list[dict[str, Any]]:
    return list((await rpc.call("list_recordings", {"camera": camera, "limit": 1000}))["files"])


async def test_warning_then_block_refuses_new_recordings_and_keeps_existing_ones(
    service_factory: ServiceFactory, test_camera_factory: TestCameraFactory, tmp_path: Path
) -> None:
    overrides = {"recordings": {"segment_duration_s": 1, "retention": {"interval_s": 1}}}
    async with service_factory(overrides=overrides, data_dir=tmp_path / "svc") as svc:
        events: list[Event] = []
        unsubscribe = svc.app.services.bus.subscribe(events.append, topics=["storage.*"])
        rpc = await svc.client()
        for cam in ("cam1", "cam2"):
            await rpc.call("add_camera", {"id": cam, "name": cam, "source": "publisher"})
            await test_camera_factory(await svc.publish_url(cam), width=320, height=240, fps=25, gop=12)
        # ONLINE before recording starts: MediaMTX refuses a publisher whose path config changed between
        # its ANNOUNCE and RECORD, and ffmpeg does not retry.
        for cam in ("cam1", "cam2"):
            await wait_camera(rpc, cam, status="ONLINE")
        assert (await rpc.call("get_storage_info"))["level"] == "ok"
        await rpc.call("start_recording", {"camera": "cam1"})

        async def some(cam: str, n: int) -> list[dict[str, Any]] | None:
            files = await _segments(rpc, cam)
            return files if len(files) >= n else None

        await wait_for(lambda: some("cam1", 1), 20, 0.2)

        # Warning: notification + bus event; recordings still start.
        await rpc.call("set_retention_settings", {"settings": {"warn_free_gb": HUGE_GB}})
        note = await rpc.next_notification("storage_status_update", timeout=10)
        assert note["params"]["level"] == "warning" and note["params"]["previous"] == "ok"
        assert note["params"]["free_bytes"] > 0
        assert [e.data["level"] for e in events] == ["warning"] and events[0].type == "storage.warning"
        info = await rpc.call("get_storage_info")
        assert info["level"] == "warning" and info["low_space_warning"] is True
        assert info["critical_space_warning"] is False
        await rpc.call("start_recording", {"camera": "cam2", "duration_s": 1})

        # Block: new recordings refused; the running one goes on; nothing is deleted.
        await rpc.call("set_retention_settings", {"settings": {"block_free_gb": HUGE_GB}})
        note = await rpc.next_notification(
            "storage_status_update", timeout=10, where=lambda p: p["level"] == "critical"
        )
        assert note["params"]["previous"] == "warning"
        assert events[-1].type == "storage.warning" and events[-1].data["level"] == "critical"
        assert (await rpc.call("get_storage_info"))["critical_space_warning"] is True
        await wait_for(
            lambda: _not_recording(rpc, "cam2"), 10, 0.2, message="timed recording of cam2 never stopped"
        )
        cam2_before = await _segments(rpc, "cam2")
        with pytest.raises(RpcCallError) as err:
            await rpc.call("start_recording", {"camera": "cam2"})
        assert err.value.code == STORAGE_ERROR
        assert err.value.data["reason"] == "low_disk" and err.value.data["camera"] == "cam2"
        assert (await rpc.call("get_recording_status", {"camera": "cam2"}))["recording"] is False
        assert (await rpc.call("get_recording_status", {"camera": "cam1"}))["recording"] is True
        before = await _segments(rpc, "cam1")
        await wait_for(lambda: some("cam1", len(before) + 2), 20, 0.2, message="cam1 stopped recording")
        root = svc.settings.storage.recordings_path
        for f in before + cam2_before:
            assert (root / f["filename"]).is_file()
        names = {f["filename"] for f in await _segments(rpc, "cam2")}
        assert names >= {f["filename"] for f in cam2_before}

        # Back to normal: "ok" is announced and recordings start again.
        await rpc.call("set_retention_settings", {"settings": {"warn_free_gb": 0, "block_free_gb": 0}})
        note = await rpc.next_notification(
            "storage_status_update", timeout=10, where=lambda p: p["level"] == "ok"
        )
        await rpc.call("start_recording", {"camera": "cam2", "duration_s": 1})
        await rpc.call("stop_recording", {"camera": "cam1"})
        unsubscribe()


async def _not_recording(rpc: RpcClient, cam: str) -> bool:
    return not (await rpc.call("get_recording_status", {"camera": cam}))["recording"]


async def test_block_threshold_from_the_config_file_refuses_recordings_from_the_start(
    service_factory: ServiceFactory, tmp_path: Path
) -> None:
    overrides = {"recordings": {"retention": {"warn_free_percent": 100, "block_free_percent": 100}}}
    async with service_factory(overrides=overrides, data_dir=tmp_path / "svc") as svc:
        rpc = await svc.client()
        await rpc.call("add_camera", {"id": "cam1", "name": "one", "source": "publisher"})
        info = await rpc.call("get_storage_info")
        assert info["level"] == "critical" and info["block_threshold"] == 0
        with pytest.raises(RpcCallError) as err:
            await rpc.call("start_recording", {"camera": "cam1"})
        assert err.value.code == STORAGE_ERROR and err.value.data["level"] == "critical"
        assert (await rpc.call("get_recording_status", {"camera": "cam1"}))["recording"] is False

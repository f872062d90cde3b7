"""The registry survives service restarts, is re-applied after MediaMTX dies, and repairs drift."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.harness.mediamtx import MediaMTXInstance
from tests.harness.procs import wait_for
from tests.integration.cameras_helpers import wait_camera

pytestmark = pytest.mark.integration


def _strip(page: dict) -> list[dict]:  # type: ignore[type-arg]
    return [{k: v for k, v in c.items() if k not in ("live", "status")} for c in page["cameras"]]


async def _path_sources(svc) -> dict[str, str]:  # type: ignore[no-untyped-def]
    confs = await svc.app.services.mediamtx.client.list_path_configs()
    return {c["name"]: c["source"] for c in confs}


async def test_restart_and_mediamtx_kill_reapply_everything(
    service_factory, mediamtx: MediaMTXInstance, test_camera_factory, tmp_path: Path
) -> None:
    data_dir = tmp_path / "persist"
    await test_camera_factory(mediamtx.rtsp_url("feed1"))
    feed_url = mediamtx.rtsp_url("feed1")
    async with service_factory(demo=True, data_dir=data_dir) as svc:
        rpc = await svc.client()
        await rpc.call("add_camera", {"id": "pull1", "source": feed_url, "tags": ["a"]})
        await rpc.call("add_camera", {"id": "pub1", "source": "publisher", "group": "g1"})
        await rpc.call(
            "add_camera",
            {"id": "od1", "source": feed_url, "on_demand": True, "username": "u", "password": "pw-1"},
        )
        await rpc.call("add_camera", {"id": "off1", "source": feed_url, "enabled": False})
        # The demo camera goes through the same registry and is ONLINE on a fresh install.
        await wait_camera(rpc, "demo", status="ONLINE", codec="H264")
        demo = await rpc.call("get_camera", {"camera": "demo"})
        assert demo["tags"] == ["demo"] and demo["source"] == "publisher"
        await wait_camera(rpc, "pull1", status="ONLINE")
        assert (await rpc.call("get_camera", {"camera": "off1"}))["status"] == "DISABLED"
        before = await rpc.call("list_cameras", {})

    # Same data dir, new process state: everything comes back from the database.
    async with service_factory(demo=True, data_dir=data_dir) as svc:
        rpc = await svc.client()
        after = await rpc.call("list_cameras", {})
        assert _strip(after) == _strip(before)
        assert [c["id"] for c in after["cameras"]] == ["demo", "od1", "off1", "pub1", "pull1"]
        sources = await _path_sources(svc)
        assert set(sources) == {"demo", "od1", "pub1", "pull1"}  # the disabled camera has no path
        assert sources["od1"] == feed_url.replace("rtsp://", "rtsp://u:pw-1@")  # decrypted and re-applied
        await wait_camera(rpc, "pull1", status="ONLINE")

        # Kill MediaMTX: the supervisor restarts it and every path is re-applied with no client action.
        mtx = svc.app.services.mediamtx
        restarts = mtx.restarts
        assert mtx.pid is not None
        os.kill(mtx.pid, signal.SIGKILL)
        await wait_for(lambda: mtx.restarts > restarts and mtx.is_up, 30, 0.1)
        await wait_for(lambda: _path_sources(svc), 10, 0.1)
        assert await wait_for(lambda: _has_paths(svc, {"demo", "od1", "pub1", "pull1"}), 15, 0.1)
        await wait_camera(rpc, "pull1", status="ONLINE", timeout=30)
        await wait_camera(rpc, "demo", status="ONLINE", timeout=30)  # the demo publisher reconnects


async def _has_paths(svc, names: set[str]) -> bool:  # type: ignore[no-untyped-def]
    return set(await _path_sources(svc)) == names


async def test_drift_is_repaired(service_factory, mediamtx: MediaMTXInstance) -> None:
    async with service_factory(overrides={"cameras": {"reconcile_interval_s": 1.0}}) as svc:
        rpc = await svc.client()
        client = svc.app.services.mediamtx.client
        await rpc.call("add_camera", {"id": "cam1", "source": mediamtx.rtsp_url("x"), "on_demand": True})
        await rpc.call("add_camera", {"id": "cam2", "source": "publisher"})
        # Behind the service's back: delete one path, add a foreign one, change a value of another.
        await client.delete_path_config("cam1")
        await client.add_path_config("intruder", {"source": "publisher"})
        await client.patch_path_config("cam2", {"overridePublisher": False, "source": "rtsp://10.0.0.1/x"})
        assert await wait_for(lambda: _has_paths(svc, {"cam1", "cam2"}), 10, 0.1)
        cam1 = await client.get_path_config("cam1")
        assert cam1["sourceOnDemand"] is True and cam1["source"] == mediamtx.rtsp_url("x")

        async def cam2_repaired() -> bool:
            return (await client.get_path_config("cam2"))["source"] == "publisher"

        assert await wait_for(cam2_repaired, 10, 0.1)
        report = svc.app.services.cameras.last_reconcile
        assert report is not None

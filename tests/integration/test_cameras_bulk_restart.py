"""A (re)started managed MediaMTX starts with every camera path in its config (ADR 0010): the reconcile
after a MediaMTX crash or a service restart finds nothing to change, and no credential reaches the disk."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.harness.procs import wait_for

pytestmark = pytest.mark.integration

CAMERAS = 50
PASSWORD = "Bulk-Pw-4hT9-secret"


def files_holding(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


async def test_restarted_mediamtx_starts_with_every_path(service_factory: Any, tmp_path: Path) -> None:
    data_dir = tmp_path / "bulk"
    ids = [f"cam{i:03d}" for i in range(CAMERAS)]
    async with service_factory(data_dir=data_dir) as svc:
        rpc = await svc.client()
        for i, cid in enumerate(ids):
            # Unreachable on-demand sources: nothing is pulled, the path configs are all that matters.
            source = f"rtsp://user{i}:{PASSWORD}@10.255.0.{i + 1}:554/stream1"
            await rpc.call("add_camera", {"id": cid, "source": source, "on_demand": True})
        await rpc.call("add_camera", {"id": "pub", "source": "publisher"})
        cameras = svc.app.services.cameras
        mtx = svc.app.services.mediamtx
        names = {c["name"] for c in await mtx.client.list_path_configs()}
        assert names == {*ids, "pub"}

        # SIGKILL MediaMTX: the supervisor respawns it; its reconcile writes nothing.
        writes, reconciles, pid = cameras.provisioner.writes, cameras.provisioner.reconciles, mtx.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        await wait_for(lambda: mtx.restarts == 1 and mtx.is_up, 30, 0.05)
        await wait_for(lambda: cameras.provisioner.reconciles > reconciles, 30, 0.05)
        assert mtx.pid not in (None, pid)
        report = cameras.last_reconcile
        assert report is not None and report.applied == [] and report.deleted == []
        assert report.unchanged == CAMERAS + 1 and not report.failed
        assert cameras.provisioner.writes == writes
        names = {c["name"] for c in await mtx.client.list_path_configs()}
        assert names == {*ids, "pub"}

        # The passwords are in the memory-only config MediaMTX runs with, and nowhere under the data dir.
        conf = mtx.config_file
        assert mtx.config_in_memory and PASSWORD.encode() in conf.read_bytes()
        assert not files_holding(data_dir, PASSWORD.encode())
        await rpc.close()
    assert not conf.exists()  # a stopped service leaves no credentials in RAM either

    # A restarted service: its MediaMTX starts with the registry's paths, the start reconcile writes none.
    async with service_factory(data_dir=data_dir) as svc:
        cameras = svc.app.services.cameras
        assert cameras.provisioner.reconciles >= 1 and cameras.provisioner.writes == 0
        names = {c["name"] for c in await svc.app.services.mediamtx.client.list_path_configs()}
        assert names == {*ids, "pub"}
    assert not files_holding(data_dir, PASSWORD.encode())

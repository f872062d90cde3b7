"""A normal stop while recording is clean: no ERROR log records (e.g. the segment index writing after the
database closed, "Cannot operate on a closed database"), and the last segment is indexed on the next start."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServiceFactory, TestCameraFactory
from tests.harness.procs import wait_for
from tests.integration.cameras_helpers import wait_camera

pytestmark = pytest.mark.integration


async def test_stop_while_recording_logs_no_errors(
    service_factory: ServiceFactory,
    test_camera_factory: TestCameraFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = tmp_path / "svc"
    overrides = {"recordings": {"segment_duration_s": 1, "retention": {"interval_s": 1}}}
    async with service_factory(overrides=overrides, data_dir=data) as svc:
        rpc = await svc.client()
        await rpc.call("add_camera", {"id": "cam1", "name": "one", "source": "publisher"})
        await test_camera_factory(await svc.publish_url("cam1"), width=320, height=240, fps=25, gop=12)
        # ONLINE before recording starts: MediaMTX refuses a publisher whose path config changed between
        # its ANNOUNCE and RECORD, and ffmpeg does not retry.
        await wait_camera(rpc, "cam1", status="ONLINE")
        await rpc.call("start_recording", {"camera": "cam1"})

        async def indexed() -> list[dict[str, Any]] | None:
            files = (await rpc.call("list_recordings", {"camera": "cam1"}))["files"]
            return files if len(files) >= 2 else None

        await wait_for(indexed, 20, 0.2, message="no segments indexed")
        caplog.clear()
        caplog.set_level(logging.INFO)
        # Leaving the block stops the service while MediaMTX is still writing and calling back.
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [f"{r.name}: {r.getMessage()} {r.exc_text or ''}" for r in errors]
    on_disk = {p.relative_to(data / "recordings").as_posix() for p in (data / "recordings").rglob("*.mp4")}

    # The segments closed during the stop are indexed on the next start (reconciliation with the disk).
    async with service_factory(overrides=overrides, data_dir=data) as svc:
        rpc = await svc.client()
        files = (await rpc.call("list_recordings", {"camera": "cam1", "limit": 1000}))["files"]
        assert {f["filename"] for f in files} >= on_disk
        await rpc.call("stop_recording", {"camera": "cam1"})  # the session resumed after the restart

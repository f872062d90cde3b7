"""Kill the service while recording: its MediaMTX keeps writing segments; after a restart the segments
written meanwhile are indexed (reconciliation with the disk) and the session is resumed."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from camera_service.recordings.index import parse_segment_name
from tests.harness.ffmpeg import TestCamera
from tests.harness.ports import free_port
from tests.harness.procs import wait_for
from tests.harness.service import ServiceProcess, service_config
from tests.integration.cameras_helpers import wait_camera

pytestmark = pytest.mark.integration


def _alive(pid: int) -> bool:
    """Running (an orphan that died stays a zombie until reaped, so read its state)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _kill_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)  # MediaMTX runs in its own process group


async def test_segments_written_while_the_service_was_down_are_indexed(tmp_path: Path) -> None:
    # MediaMTX logs to a file, not to the service (ADR 0011): it outlives the killed service at any log level.
    config = service_config(
        tmp_path / "svc",
        server_port=free_port(),
        overrides={"recordings": {"segment_duration_s": 2}},
    )
    root = tmp_path / "svc" / "recordings"
    rtsp = f"rtsp://127.0.0.1:{config['mediamtx']['rtsp_port']}/cam1"
    svc = ServiceProcess(config, tmp_path / "proc")
    cam = TestCamera(rtsp, width=320, height=240, fps=25, gop=25, log_path=tmp_path / "cam.log")
    mtx_pid: int | None = None
    try:
        await svc.start()
        rpc = await svc.client()
        await rpc.call("add_camera", {"id": "cam1", "name": "one", "source": "publisher"})
        cam.url = (await rpc.call("create_publish_url", {"camera": "cam1"}))["rtsp_url"]  # security M7
        await cam.start()
        # ONLINE before recording starts: MediaMTX refuses a publisher whose path config changed between
        # its ANNOUNCE and RECORD, and ffmpeg does not retry.
        await wait_camera(rpc, "cam1", status="ONLINE")
        started = await rpc.call("start_recording", {"camera": "cam1"})

        async def indexed() -> list[dict[str, Any]] | None:
            files = (await rpc.call("list_recordings", {"camera": "cam1"}))["files"]
            return files or None

        await wait_for(indexed, 20, 0.3)
        status = await rpc.call("get_status")
        mtx_pid = int(status["components"]["mediamtx"]["details"]["pid"])
        await rpc.close()

        svc.kill()
        await svc.wait_exit()
        killed_at = time.time()
        assert _alive(mtx_pid)

        # MediaMTX keeps recording into 2 s segments; no hook reaches anyone. Two segments begun since
        # the kill (the second is closed by the SIGINT below) are what the restart must index.
        def begun_while_down() -> bool:
            names = (p.relative_to(root).as_posix() for p in (root / "cam1").glob("*.mp4"))
            return sum((parse_segment_name(n) or ("", 0.0))[1] > killed_at for n in names) >= 2

        await wait_for(begun_while_down, 20, 0.2)
        _kill_group(mtx_pid, signal.SIGINT)  # let it close the current segment, as a real stop would
        await wait_for(lambda: not _alive(mtx_pid), 10, 0.1)
        await cam.stop()
        on_disk = sorted(p.relative_to(root).as_posix() for p in (root / "cam1").glob("*.mp4"))
        written_while_down = [p for p in on_disk if (parse_segment_name(p) or ("", 0.0))[1] > killed_at]
        assert len(written_while_down) >= 2, on_disk

        await svc.start()
        rpc = await svc.client()
        files = (await rpc.call("list_recordings", {"camera": "cam1", "limit": 1000}))["files"]
        indexed_names = {f["filename"] for f in files}
        assert set(on_disk) <= indexed_names
        for f in files:
            if f["filename"] in written_while_down:
                assert f["codec"] == "h264" and f["width"] == 320 and f["duration_s"] > 0
        # The persisted session survived and is recording again.
        rec = await rpc.call("get_recording_status", {"camera": "cam1"})
        assert rec["recording"] is True and rec["session"]["id"] == started["session_id"]
        # A vanished file leaves the index at the next start-up reconcile.
        await rpc.call("stop_recording", {"camera": "cam1"})
        await rpc.close()
        await svc.stop()
        (root / written_while_down[0]).unlink()
        await svc.start()
        rpc = await svc.client()
        files = (await rpc.call("list_recordings", {"camera": "cam1", "limit": 1000}))["files"]
        assert written_while_down[0] not in {f["filename"] for f in files}
        await rpc.close()
    finally:
        await svc.stop()
        await cam.stop()
        if mtx_pid is not None and _alive(mtx_pid):
            _kill_group(mtx_pid, signal.SIGKILL)

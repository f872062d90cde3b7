"""MediaMTX outlives a SIGKILLed service and keeps recording; the restarted service adopts it (ADR 0011)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from camera_service.config.sections import MediaMTXConfig, StorageConfig
from camera_service.mediamtx import MediaMTXClient, MediaMTXSupervisor, find_mediamtx_binary
from camera_service.mediamtx.adoption import (
    PidRecord,
    config_location,
    process_alive,
    read_pidfile,
    write_pidfile,
)
from camera_service.mediamtx.config_render import render_mediamtx_config
from camera_service.observability.metrics import Metrics
from tests.conftest import TestCameraFactory
from tests.harness.mediamtx import REPO_ROOT
from tests.harness.ports import free_port, free_ports
from tests.harness.procs import wait_for
from tests.harness.rpc_client import RpcClient
from tests.harness.service import ServiceProcess, service_config
from tests.integration.cameras_helpers import wait_camera

pytestmark = pytest.mark.integration


def mediamtx_pids(config_path: Path) -> list[int]:
    """Every running process whose command line names this runtime config."""
    found = []
    needle = str(config_path).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline and process_alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def segments(root: Path) -> set[str]:
    return {p.name for p in root.glob("*.mp4")}


@pytest.fixture
async def svc(tmp_path: Path) -> AsyncIterator[ServiceProcess]:
    """A service child process at MediaMTX log level debug (plenty of log lines: a pipe would break)."""
    config = service_config(
        tmp_path / "data",
        server_port=free_port(),
        overrides={"recordings": {"segment_duration_s": 1}, "mediamtx": {"log_level": "debug"}},
    )
    proc = ServiceProcess(config, tmp_path / "proc")
    run_dir = tmp_path / "data" / "run"
    try:
        yield proc
    finally:
        await proc.stop()
        # A killed service leaves its MediaMTX running: end it through the pidfile, then anything left.
        with contextlib.suppress(OSError, ValueError):
            kill_group(int(json.loads((run_dir / "mediamtx.pid").read_text())["pid"]))
        conf = config_location(run_dir).path
        for pid in mediamtx_pids(conf):
            kill_group(pid)
        with contextlib.suppress(OSError):  # its memory-only config directory (empty once stopped)
            conf.unlink(missing_ok=True)
            conf.parent.rmdir()


async def mediamtx_details(client: RpcClient) -> dict[str, Any]:
    status = await client.call("get_status")
    details: dict[str, Any] = status["components"]["mediamtx"]["details"]
    return details


async def test_mediamtx_survives_a_killed_service_and_is_adopted(
    svc: ServiceProcess, tmp_path: Path, test_camera_factory: TestCameraFactory
) -> None:
    run_dir = tmp_path / "data" / "run"
    conf = config_location(run_dir).path
    rec_dir = tmp_path / "data" / "recordings" / "cam1"
    await svc.start()
    rpc = await svc.client()
    await rpc.call("add_camera", {"id": "cam1", "name": "one", "source": "publisher"})
    publish = (await rpc.call("create_publish_url", {"camera": "cam1"}))["rtsp_url"]  # security M7
    await test_camera_factory(publish, width=320, height=240, fps=15, gop=15)
    # ONLINE before recording starts: MediaMTX refuses a publisher whose path config changed between its
    # ANNOUNCE and RECORD, and ffmpeg does not retry.
    await wait_camera(rpc, "cam1", status="ONLINE")
    await rpc.call("start_recording", {"camera": "cam1"})
    await wait_for(lambda: len(segments(rec_dir)) >= 2, 20, 0.2)
    details = await mediamtx_details(rpc)
    pid = int(details["pid"])
    assert details["adopted"] is False and mediamtx_pids(conf) == [pid]
    await rpc.close()
    # (d) MediaMTX's own log lines reach the service log (through its log file, not a pipe).
    service_log = tmp_path / "proc" / "service.log"
    assert "camera_service.mediamtx.proc: [RTSP] started with listeners on" in service_log.read_text()

    # (a) SIGKILL the service: MediaMTX lives on and keeps writing segments.
    svc.kill()
    await svc.wait_exit()
    before = segments(rec_dir)
    # Alive and still recording: two new segments after the kill (no fixed wait needed before).
    await wait_for(lambda: len(segments(rec_dir) - before) >= 2, 15, 0.2)
    assert process_alive(pid)

    # (b) A restarted service adopts that very MediaMTX: same pid, no second one, still recording.
    await svc.start()
    rpc = await svc.client()
    details = await mediamtx_details(rpc)
    assert details["pid"] == pid and details["adopted"] is True
    assert mediamtx_pids(conf) == [pid]
    rec = await rpc.call("get_recording_status", {"camera": "cam1"})
    assert rec["recording"] is True
    after_restart = segments(rec_dir)
    await wait_for(lambda: len(segments(rec_dir) - after_restart) >= 2, 15, 0.2)
    assert (await mediamtx_details(rpc))["pid"] == pid and mediamtx_pids(conf) == [pid]
    await rpc.close()

    # Stopping the service stops the adopted MediaMTX too.
    await svc.stop()
    await wait_for(lambda: not process_alive(pid), 10, 0.1)
    assert mediamtx_pids(conf) == [] and not (run_dir / "mediamtx.pid").exists()


async def test_changed_settings_restart_instead_of_adopting(svc: ServiceProcess, tmp_path: Path) -> None:
    run_dir = tmp_path / "data" / "run"
    conf = config_location(run_dir).path
    await svc.start()
    rpc = await svc.client()
    old = int((await mediamtx_details(rpc))["pid"])
    await rpc.close()
    svc.kill()
    await svc.wait_exit()
    assert process_alive(old)
    # Same data, a setting that changes MediaMTX's config: the old one is replaced, not adopted.
    svc.config["mediamtx"]["log_level"] = "info"
    restarted = ServiceProcess(svc.config, tmp_path / "proc2")
    try:
        await restarted.start()
        rpc = await restarted.client()
        details = await mediamtx_details(rpc)
        await rpc.close()
        assert details["adopted"] is False and details["pid"] != old
        assert not process_alive(old) and mediamtx_pids(conf) == [details["pid"]]
        assert "not adopting MediaMTX" in (tmp_path / "proc2" / "service.log").read_text()
    finally:
        await restarted.stop()
    assert mediamtx_pids(conf) == []


async def test_pidfile_naming_a_dead_process_is_ignored(svc: ServiceProcess, tmp_path: Path) -> None:
    run_dir = tmp_path / "data" / "run"
    run_dir.mkdir(parents=True)
    gone = subprocess.Popen(["true"])  # a pid that surely exists no more
    gone.wait()
    (run_dir / "mediamtx.pid").write_text(
        json.dumps(
            {
                "pid": gone.pid,
                "api_port": svc.config["mediamtx"]["api_port"],
                "owner_pid": gone.pid,
                "binary": str(svc.config["mediamtx"]["binary"]),
                "config": str(config_location(run_dir).path),
                "callback_port": free_port(),
                "callback_secret": "stale",
            }
        )
    )
    await svc.start()
    rpc = await svc.client()
    details = await mediamtx_details(rpc)
    await rpc.close()
    assert details["adopted"] is False and details["pid"] not in (None, gone.pid)
    assert json.loads((run_dir / "mediamtx.pid").read_text())["pid"] == details["pid"]


async def test_adopted_mediamtx_that_dies_is_replaced_by_our_own(tmp_path: Path) -> None:
    """In-process: a MediaMTX left by a gone service is adopted; when it dies, ours takes over (a restart)."""
    ports = free_ports(9)
    names = (
        "api_port",
        "playback_port",
        "metrics_port",
        "rtsp_port",
        "rtmp_port",
        "hls_port",
        "webrtc_port",
        "webrtc_ice_udp_port",
        "srt_port",
    )
    cfg = MediaMTXConfig(
        **dict(zip(names, ports, strict=True)),
        enable_hls=False,
        enable_webrtc=False,
        enable_srt=False,
        enable_rtmp=False,
        health_interval_s=0.2,
        restart_backoff_initial_s=0.2,
    )
    storage = StorageConfig(data_dir=tmp_path / "data")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    binary = find_mediamtx_binary(None).resolve()
    conf = config_location(run_dir).path
    log_file = (run_dir / "mediamtx.log").resolve()
    template = REPO_ROOT / "config" / "mediamtx.yml"
    conf.write_text(render_mediamtx_config(template, cfg, storage, None, log_file=log_file))
    gone = subprocess.Popen(["true"])
    gone.wait()
    with log_file.open("ab") as out:  # started as the supervisor would have, by a service now gone
        orphan = subprocess.Popen(
            [str(binary), str(conf)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=run_dir,
            start_new_session=True,
        )
    sup = MediaMTXSupervisor(
        cfg.model_copy(update={"config_template": template}), storage, run_dir, Metrics(), binary=binary
    )
    try:
        write_pidfile(
            run_dir / "mediamtx.pid",
            PidRecord(
                pid=orphan.pid,
                api_port=cfg.api_port,
                owner_pid=gone.pid,
                binary=str(binary),
                config=str(conf),
            ),
        )
        async with MediaMTXClient(cfg.api_url) as probe:
            await wait_for(probe.info, 15, 0.1)
        ready = 0

        async def on_ready() -> None:
            nonlocal ready
            ready += 1

        sup.on_ready(on_ready)
        await sup.start()
        assert sup.adopted and sup.pid == orphan.pid and sup.health().details["adopted"] is True
        assert ready == 1 and mediamtx_pids(conf) == [orphan.pid]
        orphan.kill()
        orphan.wait()
        await wait_for(lambda: sup.is_up and sup.restarts == 1, 15, 0.1)
        assert sup.health().details["adopted"] is False and sup.pid not in (None, orphan.pid) and ready == 2
        assert mediamtx_pids(conf) == [sup.pid]
        assert read_pidfile(run_dir / "mediamtx.pid") is not None
        own = sup.pid
        await sup.stop()
        assert own is not None and not process_alive(own) and not (run_dir / "mediamtx.pid").exists()
    finally:
        await sup.stop()
        if orphan.poll() is None:
            kill_group(orphan.pid)
            orphan.wait()

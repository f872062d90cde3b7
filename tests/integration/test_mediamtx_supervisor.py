"""The supervisor and client against the real MediaMTX v1.20.1 binary (and ffmpeg for a publisher)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import stat
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from camera_service.config.sections import MediaMTXConfig, StorageConfig
from camera_service.mediamtx import (
    MediaMTXClient,
    MediaMTXNotFound,
    MediaMTXRejected,
    MediaMTXStartError,
    MediaMTXSupervisor,
    MediaMTXUnavailable,
    find_mediamtx_binary,
)
from camera_service.observability.metrics import Metrics
from tests.harness.ports import free_ports

pytestmark = pytest.mark.integration

try:
    MTX_BIN: Path | None = find_mediamtx_binary(None)
except FileNotFoundError:
    MTX_BIN = None

needs_mtx = pytest.mark.skipif(MTX_BIN is None, reason="MediaMTX binary not installed")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def light_config(**over: object) -> MediaMTXConfig:
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
    ports = dict(zip(names, free_ports(len(names)), strict=True))  # distinct (one free_port() at a
    # time could hand out the same port twice)
    return MediaMTXConfig(
        **{
            **ports,
            "enable_hls": False,
            "enable_webrtc": False,
            "enable_srt": False,
            "enable_rtmp": False,
            "health_interval_s": 0.2,
            "start_timeout_s": 15.0,
            "restart_backoff_initial_s": 0.2,
            **over,
        }
    )


async def wait_for(pred: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


SupFactory = Callable[..., Awaitable[MediaMTXSupervisor]]


@pytest.fixture
async def make_sup(tmp_path: Path) -> AsyncIterator[SupFactory]:
    started: list[MediaMTXSupervisor] = []

    async def factory(cfg: MediaMTXConfig | None = None, start: bool = True) -> MediaMTXSupervisor:
        sup = MediaMTXSupervisor(
            cfg or light_config(),
            StorageConfig(data_dir=tmp_path / "data"),
            tmp_path / "run",
            Metrics(),
            binary=MTX_BIN,
        )
        started.append(sup)
        if start:
            await sup.start()
        return sup

    try:
        yield factory
    finally:
        for sup in started:
            await sup.stop()


@pytest.fixture
async def sup(make_sup: SupFactory) -> MediaMTXSupervisor:
    return await make_sup()


@needs_mtx
async def test_starts_real_binary(sup: MediaMTXSupervisor, tmp_path: Path) -> None:
    info = await sup.client.info()
    assert info.version == "v1.20.1"
    assert sup.state == "up" and sup.is_up and sup.version == "v1.20.1"
    h = sup.health()
    assert h.healthy and h.details["pid"] == sup.pid and h.details["managed"] is True
    assert sup.metrics.mediamtx_up._value.get() == 1
    # moq off: nothing written into the working directory but its log and the pidfile; the config (it may
    # hold camera credentials) is on a private tmpfs, 0600 in a 0700 directory.
    written = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert written == ["mediamtx.log", "mediamtx.pid"]
    conf = sup.config_file
    assert sup.config_in_memory and str(conf).startswith("/dev/shm/camera-service-")
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600 and stat.S_IMODE(conf.parent.stat().st_mode) == 0o700
    assert h.details["adopted"] is False
    defaults = await sup.client.get_global_config()
    assert defaults["api"] is True and defaults["moq"] is False


@needs_mtx
async def test_path_config_crud(sup: MediaMTXSupervisor) -> None:
    c = sup.client
    for name in ("cam1", "site/front"):
        await c.add_path_config(name, {"source": "publisher"})
        assert (await c.get_path_config(name))["name"] == name
        await c.patch_path_config(name, {"record": True})
        assert (await c.get_path_config(name))["record"] is True
    names = [p["name"] for p in await c.list_path_configs()]
    assert names == ["cam1", "site/front"]
    await c.replace_path_config("upserted", {"source": "publisher"})  # replace creates a missing path
    assert (await c.get_path_config("upserted"))["source"] == "publisher"
    await c.delete_path_config("site/front")
    with pytest.raises(MediaMTXNotFound):
        await c.get_path_config("site/front")
    paths = {p.name for p in await c.list_paths()}
    assert paths == {"cam1", "upserted"}
    assert (await c.get_path("cam1")).ready is False
    await c.patch_path_defaults({"recordSegmentDuration": "10s"})
    assert await c.list_recordings() == []
    assert await c.playback_list("cam1") == []


@needs_mtx
async def test_a_foreign_mediamtx_on_our_api_port_is_never_taken_for_ours(
    make_sup: SupFactory, tmp_path: Path
) -> None:
    """The race behind a flake of test_path_config_crud: between our MediaMTX letting go of its API port
    (a restart here; at start, after the pre-flight check) and binding it again, another MediaMTX on the
    machine (another run of the same test) took it. Ours could not bind; the supervisor took the other's
    answers for its own, and a path config deleted here "came back" there."""
    ours = await make_sup(light_config(restart_backoff_initial_s=30.0))  # a wide window before the restart
    pid = ours.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    await wait_for(lambda: not ours.is_up)
    foreign = MediaMTXSupervisor(
        light_config(api_port=ours.cfg.api_port),
        StorageConfig(data_dir=tmp_path / "foreign-data"),
        tmp_path / "foreign-run",
        Metrics(),
        binary=MTX_BIN,
    )
    await foreign.start()
    try:
        await foreign.client.add_path_config("theirs", {"source": "publisher"})

        def refused() -> bool:
            return "another MediaMTX answers" in str(ours.health().details["last_error"])

        await wait_for(refused)  # ours polled the port, got the other's answer, and refused it
        assert not ours.is_up and ours.state == "down"
        assert (await foreign.client.get_path_config("theirs"))["name"] == "theirs"
    finally:
        await foreign.stop()


@needs_mtx
async def test_pagination_beyond_default_page(make_sup: SupFactory) -> None:
    # 150 concurrent writes, which MediaMTX applies one at a time: on a loaded machine the last ones
    # wait longer than the default 5 s request timeout.
    c = (await make_sup(light_config(request_timeout_s=60.0))).client
    await asyncio.gather(*(c.add_path_config(f"p{i:03d}", {}) for i in range(150)))
    assert len(await c.list_path_configs()) == 150
    assert len(await c.list_paths()) == 150


@needs_mtx
async def test_errors(sup: MediaMTXSupervisor) -> None:
    c = sup.client
    with pytest.raises(MediaMTXNotFound):
        await c.get_path_config("nope")
    await c.add_path_config("dup", {})
    with pytest.raises(MediaMTXRejected, match="already exists"):
        await c.add_path_config("dup", {})
    with pytest.raises(MediaMTXRejected):
        await c.add_path_config("bad", {"noSuchKey": 1})
    with pytest.raises(MediaMTXRejected) as ei:
        await c.add_path_config(
            "badsrc", {"source": "rtsp://user:s3cret@10.0.0.1:554/x", "sourceOnDemand": "notabool"}
        )
    assert "s3cret" not in str(ei.value)


async def test_closed_port_is_unavailable() -> None:
    t0 = time.monotonic()
    async with MediaMTXClient(f"http://127.0.0.1:{free_port()}", timeout_s=2.0) as c:
        with pytest.raises(MediaMTXUnavailable):
            await c.info()
    assert time.monotonic() - t0 < 1.5


@needs_mtx
async def test_sigkill_restart_and_reapply(sup: MediaMTXSupervisor) -> None:
    ready_calls = 0
    down_calls = 0

    async def on_ready() -> None:
        nonlocal ready_calls
        ready_calls += 1
        await sup.client.replace_path_config("cam1", {"source": "publisher"})  # re-apply RAM-only config

    async def on_down() -> None:
        nonlocal down_calls
        down_calls += 1

    sup.on_ready(on_ready)
    sup.on_down(on_down)
    await sup.client.add_path_config("cam1", {"source": "publisher"})
    old_pid, old_started = sup.pid, sup.started
    assert old_pid is not None
    os.kill(old_pid, signal.SIGKILL)
    t0 = time.monotonic()
    await wait_for(lambda: sup.state == "down", 2.0)
    assert time.monotonic() - t0 < 2.0
    await wait_for(lambda: sup.state == "up", 10.0)
    assert sup.restarts == 1 and ready_calls == 1 and down_calls == 1
    assert sup.pid not in (None, old_pid) and sup.started != old_started
    assert sup.metrics.mediamtx_restarts._value.get() == 1
    assert (await sup.client.get_path_config("cam1"))["source"] == "publisher"


@needs_mtx
async def test_unmanaged_attach_and_port_clash(sup: MediaMTXSupervisor, make_sup: SupFactory) -> None:
    attached = await make_sup(sup.cfg.model_copy(update={"managed": False}))
    assert attached.state == "up" and attached.pid is None and attached.version == "v1.20.1"
    with pytest.raises(MediaMTXStartError, match="already answers"):
        await make_sup(sup.cfg)
    nobody = await make_sup(light_config(managed=False))
    assert nobody.state == "down" and not nobody.health().healthy


@needs_mtx
async def test_bad_config_fails_fast(make_sup: SupFactory) -> None:
    sup = await make_sup(start=False)
    sup.config_extra = {"logLevel": "bogus"}  # MediaMTX refuses to load this config and exits
    t0 = time.monotonic()
    with pytest.raises(MediaMTXStartError, match="exited"):
        await sup.start()
    assert time.monotonic() - t0 < 5


@needs_mtx
@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
async def test_ffmpeg_publisher_shows_h264_track(sup: MediaMTXSupervisor) -> None:
    await sup.client.add_path_config("cam1", {"source": "publisher"})
    ff = await asyncio.create_subprocess_exec(
        "ffmpeg",
        "-nostdin",
        "-loglevel",
        "error",
        "-re",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-tune",
        "zerolatency",
        "-pix_fmt",
        "yuv420p",
        "-g",
        "25",
        "-f",
        "rtsp",
        "-rtsp_transport",
        "tcp",
        f"rtsp://127.0.0.1:{sup.cfg.rtsp_port}/cam1",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            paths = {p.name: p for p in await sup.client.list_paths()}
            if paths["cam1"].ready or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        cam = paths["cam1"]
        assert cam.ready and cam.online and cam.source is not None
        assert cam.source.type == "rtspSession"
        assert cam.tracks2[0].codec == "H264"
        assert cam.tracks2[0].codecProps["width"] == 320
    finally:
        ff.terminate()
        try:
            await asyncio.wait_for(ff.wait(), 5)
        except TimeoutError:
            ff.kill()
            await ff.wait()

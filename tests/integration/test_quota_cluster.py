"""Agency live-view quotas shared through Redis by three instances (issue 16 must-show).

Each instance has its own MediaMTX, data dir and a published ffmpeg camera of agency POLICE; all three
use one private redis-server (storage.redis_url) and the same limit of 10. Viewers are real RTSP reads
(tests/harness/rtsp_viewer.py): MediaMTX asks each instance's auth callback, and its runOnRead and
runOnUnread hooks confirm and release the lease. One instance is a child process, killed with SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from camera_service.auth.quota_redis import live_key
from camera_service.auth.roles import Role
from camera_service.auth.tokens import mint_token
from camera_service.mediamtx.adoption import config_location
from camera_service.storage.redis import open_redis
from tests.conftest import TestCameraFactory
from tests.harness.ports import free_port
from tests.harness.procs import wait_for
from tests.harness.redis import run_redis
from tests.harness.rpc_client import RpcCallError, RpcClient
from tests.harness.rtsp_viewer import RtspError, RtspViewer
from tests.harness.service import TEST_JWT_SECRET, ServiceProcess, run_service, service_config
from tests.integration.cameras_helpers import wait_camera

pytestmark = pytest.mark.integration

LIMIT = 10
VIEWERS = 50
LEASE_TTL_S = 4.0


def viewer_token(i: int) -> str:
    """One identity per viewer (the per-identity pending cap applies to each one alone)."""
    return mint_token(
        TEST_JWT_SECRET.encode(), subject=f"viewer-{i}", role=Role.VIEWER, ttl_s=3600, agencies=["POLICE"]
    )


def rtsp_url(rtsp_port: int, token: str) -> str:
    return f"rtsp://127.0.0.1:{rtsp_port}/police-cam?token={token}"


async def in_use(client: RpcClient) -> int:
    status = await client.call("get_quota_status")
    return int(next(a["in_use"] for a in status["agencies"] if a["agency"] == "POLICE"))


@contextlib.asynccontextmanager
async def killable_instance(config: dict[str, Any], workdir: Path) -> AsyncIterator[ServiceProcess]:
    proc = ServiceProcess(config, workdir)
    run_dir = Path(config["storage"]["data_dir"]) / "run"
    try:
        yield proc
    finally:
        await proc.stop()
        # A killed service leaves its MediaMTX running: end it through its pidfile.
        with contextlib.suppress(OSError, ValueError, KeyError):
            pid = int(json.loads((run_dir / "mediamtx.pid").read_text())["pid"])
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            conf = config_location(run_dir).path
            conf.unlink(missing_ok=True)
            conf.parent.rmdir()


async def test_fifty_viewers_over_three_instances_admit_exactly_ten(
    redis_url: str, tmp_path: Path, test_camera_factory: TestCameraFactory
) -> None:
    overrides = {
        "security": {"agency_limits": {"POLICE": LIMIT}, "live_lease_ttl_s": LEASE_TTL_S},
        "storage": {"redis_url": redis_url},
    }
    configs = [service_config(tmp_path / f"data{n}", overrides=overrides) for n in "ab"]
    config_c = service_config(tmp_path / "datac", server_port=free_port(), overrides=overrides)
    redis = open_redis(redis_url)
    viewers: list[tuple[int, RtspViewer]] = []
    try:
        async with (
            run_service(configs[0]) as a,
            run_service(configs[1]) as b,
            killable_instance(config_c, tmp_path / "proc-c") as c,
        ):
            await c.start(timeout=60)
            admins = [await a.client(), await b.client(), await c.client()]
            rtsp_ports = [a.settings.mediamtx.rtsp_port, b.settings.mediamtx.rtsp_port]
            rtsp_ports.append(int(config_c["mediamtx"]["rtsp_port"]))
            for admin in admins:
                await admin.call(
                    "add_camera", {"id": "police-cam", "source": "publisher", "agency": "POLICE"}
                )
                # Security M7: each instance's camera publishes with its own credential.
                issued = await admin.call("create_publish_url", {"camera": "police-cam"})
                await test_camera_factory(issued["rtsp_url"], width=320, height=240, fps=10, gop=10)
            for admin in admins:
                await wait_camera(admin, "police-cam", status="ONLINE")

            # 50 viewers at once, spread over the three instances' MediaMTX
            async def watch(i: int) -> tuple[int, RtspViewer] | None:
                viewer = RtspViewer(rtsp_url(rtsp_ports[i % 3], viewer_token(i)))
                try:
                    await viewer.play(timeout=60)
                except RtspError as exc:
                    await viewer.close()
                    assert exc.status == 401, exc  # refused by the auth callback
                    return None
                return i % 3, viewer

            results = await asyncio.gather(*(watch(i) for i in range(VIEWERS)))
            viewers = [r for r in results if r is not None]
            assert len(viewers) == LIMIT, f"{len(viewers)} viewers admitted"
            # the admitted ones really receive media, and every instance counts the same 10
            await wait_for(lambda: all(v.received > 1000 for _, v in viewers), 30, 0.2)
            for admin in admins:
                assert await in_use(admin) == LIMIT
            with pytest.raises(RpcCallError) as err:
                await admins[1].call("get_stream_urls", {"camera": "police-cam"})
            assert err.value.code == -32011
            assert err.value.data == {
                "agency": "POLICE",
                "limit": LIMIT,
                "in_use": LIMIT,
                "camera": "police-cam",
            }
            # one lease per admitted viewer in Redis, whichever instance took it
            assert await redis.zcard(live_key("POLICE")) == LIMIT

            # a viewer that goes away frees its slot, on every instance. It leaves the side (C, or A+B)
            # with more viewers, and a newcomer joins the other: both sides hold leases for the kill below.
            on_c = [v for v in viewers if v[0] == 2]
            on_ab = [v for v in viewers if v[0] != 2]
            leaving = on_c[0] if len(on_c) > len(on_ab) else on_ab[0]
            viewers.remove(leaving)
            await leaving[1].close()

            async def freed() -> bool:
                return all([await in_use(admin) == LIMIT - 1 for admin in admins])

            await wait_for(freed, 30, 0.2)
            # ... and the freed slot goes to a new viewer (through another instance's MediaMTX)
            target = 0 if leaving[0] == 2 else 2
            newcomer = RtspViewer(rtsp_url(rtsp_ports[target], viewer_token(VIEWERS)))
            await newcomer.play(timeout=60)
            viewers.append((target, newcomer))
            await wait_for(lambda: newcomer.received > 1000, 30, 0.2)
            late = RtspViewer(rtsp_url(rtsp_ports[0], viewer_token(VIEWERS + 1)))
            with pytest.raises(RtspError):
                await late.play(timeout=60)
            await late.close()

            # kill -9 instance C: its viewers' leases lapse within the lease TTL (no one renews them)
            on_c = sum(1 for n, _ in viewers if n == 2)
            assert 1 <= on_c < LIMIT
            c.kill()
            await c.wait_exit()
            killed_at = time.monotonic()
            seconds, micros = await redis.time()
            server_now_ms = int(seconds) * 1000 + int(micros) // 1000
            before = {
                m.decode(): s for m, s in await redis.zrange(live_key("POLICE"), 0, -1, withscores=True)
            }

            async def lapsed() -> bool:
                return await in_use(admins[0]) == LIMIT - on_c

            await wait_for(lapsed, 60, 0.1)
            lapse_s = time.monotonic() - killed_at
            after = {m.decode() for m in await redis.zrange(live_key("POLICE"), 0, -1)}
            gone = set(before) - after
            assert len(gone) == on_c
            # every lapsed lease expired at most one TTL after the kill (it was renewed last before it)
            assert all(before[m] <= server_now_ms + LEASE_TTL_S * 1000 for m in gone)
            print(f"killed instance's {on_c} leases lapsed {lapse_s:.2f}s after SIGKILL (TTL {LEASE_TTL_S}s)")
            # the survivors' confirmed leases outlived that TTL (renewed every TTL/3), and the slots the
            # killed instance held are free for anyone
            assert await in_use(admins[1]) == LIMIT - on_c
            admitted = RtspViewer(rtsp_url(rtsp_ports[0], viewer_token(VIEWERS + 2)))
            await admitted.play(timeout=60)
            viewers.append((0, admitted))
            assert await in_use(admins[1]) == LIMIT - on_c + 1

            # MediaMTX of instance A dies (SIGKILL: no runOnUnread for its readers) and is restarted by
            # A's supervisor: A's renewal round finds those readers gone and releases their leases.
            on_a = sum(1 for n, _ in viewers if n == 0)
            mediamtx = a.app.services.mediamtx
            old_pid = mediamtx.pid
            assert old_pid is not None
            os.kill(old_pid, signal.SIGKILL)

            async def a_readers_released() -> bool:
                return await in_use(admins[1]) == LIMIT - on_c + 1 - on_a

            await wait_for(a_readers_released, 60, 0.2)
            assert mediamtx.pid != old_pid
    finally:
        for _, viewer in viewers:
            await viewer.close()
        await redis.aclose()


async def test_redis_outage_refuses_new_viewers_and_shows_in_health(
    tmp_path: Path, test_camera_factory: TestCameraFactory
) -> None:
    """Fail closed: with the shared quota store down no new live view is admitted (a limit is a limit);
    viewers already playing go on; get_status says why. Its own redis-server, stopped mid-test."""
    with run_redis(tmp_path / "redis") as server:
        overrides = {
            "security": {"agency_limits": {"POLICE": 5}, "live_lease_ttl_s": 3.0},
            "storage": {"redis_url": server.url},
        }
        async with run_service(service_config(tmp_path / "data", overrides=overrides)) as svc:
            admin = await svc.client()
            await admin.call("add_camera", {"id": "police-cam", "source": "publisher", "agency": "POLICE"})
            port = svc.settings.mediamtx.rtsp_port
            await test_camera_factory(
                await svc.publish_url("police-cam"), width=320, height=240, fps=10, gop=10
            )
            await wait_camera(admin, "police-cam", status="ONLINE")
            playing = RtspViewer(rtsp_url(port, viewer_token(0)))
            try:
                await playing.play(timeout=60)
                await wait_for(lambda: playing.received > 1000, 30, 0.2)
                auth = (await admin.call("get_status"))["components"]["auth"]
                assert auth["healthy"] is True
                assert auth["details"]["quotas"] == "redis" and auth["details"]["quota_store_reachable"]

                server.stop()

                async def degraded() -> bool:
                    status = await admin.call("get_status")
                    return status["status"] == "degraded" and (
                        status["components"]["auth"]["status"] == "quota store unreachable"
                    )

                await wait_for(degraded, 30, 0.2)
                refused = RtspViewer(rtsp_url(port, viewer_token(1)))
                with pytest.raises(RtspError) as err:
                    await refused.play(timeout=60)
                await refused.close()
                assert err.value.status == 401
                # the stream-URL call's pre-check is advisory: it answers; the read is what is refused
                urls = await admin.call("get_stream_urls", {"camera": "police-cam"})
                assert "token=" in urls["rtsp"]
                # the viewer admitted before the outage keeps playing
                before = playing.received
                await wait_for(lambda: playing.received > before + 1000, 30, 0.2)
            finally:
                await playing.close()


async def test_single_instance_frees_leases_of_readers_lost_in_a_mediamtx_crash(
    service_factory: Any, test_camera_factory: TestCameraFactory
) -> None:
    """One instance, quotas in memory: MediaMTX is SIGKILLed (no runOnUnread for its readers) and
    restarted by the supervisor; the leases of the readers it lost are released, the agency is usable."""
    overrides = {"security": {"agency_limits": {"POLICE": 2}}}
    async with service_factory(overrides=overrides) as svc:
        admin = await svc.client()
        await admin.call("add_camera", {"id": "police-cam", "source": "publisher", "agency": "POLICE"})
        port = svc.settings.mediamtx.rtsp_port
        await test_camera_factory(await svc.publish_url("police-cam"), width=320, height=240, fps=10, gop=10)
        await wait_camera(admin, "police-cam", status="ONLINE")
        viewers = [RtspViewer(rtsp_url(port, viewer_token(i))) for i in range(2)]
        try:
            for viewer in viewers:
                await viewer.play(timeout=60)

            async def full() -> bool:
                return await in_use(admin) == 2

            await wait_for(full, 30, 0.2)
            assert (await admin.call("get_status"))["components"]["auth"]["details"]["quotas"] == "memory"
            mediamtx = svc.app.services.mediamtx
            old_pid = mediamtx.pid
            assert old_pid is not None
            os.kill(old_pid, signal.SIGKILL)

            async def released() -> bool:
                return await in_use(admin) == 0

            await wait_for(released, 60, 0.2)
            assert mediamtx.pid != old_pid
        finally:
            for viewer in viewers:
                await viewer.close()

"""The Kotlin/JVM client (clients/android) against the real service: `mvn -B verify` runs its unit tests
(MockWebServer), the Android API-26 check and, with CAMERA_SERVICE_URL/TOKEN set, its integration tests
(*IT) against this service: an ffmpeg test camera, the ONVIF simulator as a PTZ camera, and POST /restart
on a small control endpoint with which the IT restarts the service under a connected client.

Maven downloads its dependencies once into ~/.m2 (Maven Central); later runs need no network.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from camera_service.app import Application
from camera_service.auth.roles import Role
from camera_service.auth.tokens import mint_token
from camera_service.config.settings import Settings
from tests.harness.ffmpeg import TestCamera
from tests.harness.mediamtx import REPO_ROOT
from tests.harness.onvif_net import onvif_network, start_sim
from tests.harness.ports import free_ports
from tests.harness.procs import wait_for
from tests.harness.rpc_client import RpcClient
from tests.harness.service import TEST_JWT_SECRET, publish_url, service_config

# Maven compiles Kotlin (about a minute) and, on a fresh machine, downloads its dependencies first.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1500)]

ANDROID = REPO_ROOT / "clients" / "android"
IT_COUNT = 5  # test methods in CameraServiceIT.kt; each must run (none skipped)


class RestartableService:
    """The Application in this event loop, restartable on the same port and data directory."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.app: Application | None = None
        self.restarts = 0

    async def start(self) -> Application:
        self.app = Application(Settings(**self.config))
        await self.app.start()
        return self.app

    async def stop(self) -> None:
        if self.app is not None:
            await self.app.stop()
            self.app = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()
        self.restarts += 1


def report_counts(folder: Path) -> dict[str, int]:
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for report in folder.glob("TEST-*.xml"):
        suite = ET.parse(report).getroot()
        for key in counts:
            counts[key] += int(suite.get(key, "0"))
    return counts


async def run_maven(env: dict[str, str], log: Path, timeout: float) -> int:
    mvn = shutil.which("mvn")
    assert mvn, "Maven is missing: scripts/setup.sh installs it"
    # Not niced below the rest of the suite: the tests run in parallel (scripts/test.sh) and this build is
    # one of the longest jobs, so starving it would set the suite's wall time (141 s niced, 4 workers).
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            mvn,
            "-B",
            "-ntp",
            "-Dorg.slf4j.simpleLogger.showDateTime=true",  # timestamps in the log: where the time went
            "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
            "verify",
            cwd=ANDROID,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # so a timeout can end Maven and its forked test JVMs together
        )
        try:
            return await asyncio.wait_for(proc.wait(), timeout)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
            raise


async def test_kotlin_client_unit_and_integration_tests_pass_against_the_real_service(tmp_path: Path) -> None:
    for reports in ("surefire-reports", "failsafe-reports"):
        shutil.rmtree(ANDROID / "target" / reports, ignore_errors=True)
    token = mint_token(TEST_JWT_SECRET.encode(), subject="kotlin-it", role=Role.ADMIN, ttl_s=3600)
    port, control_port = free_ports(2)
    config = service_config(tmp_path / "svc", server_port=port, overrides={"onvif": {"call_timeout_s": 3.0}})
    ws_url = f"ws://127.0.0.1:{port}/ws"
    service = RestartableService(config)
    log = tmp_path / "mvn.log"

    async def restart(_: web.Request) -> web.Response:
        await service.restart()
        return web.Response(text="restarted")

    control = web.Application()
    control.router.add_post("/restart", restart)
    runner = web.AppRunner(control)
    async with onvif_network() as netns:
        sim = await start_sim(
            netns, discovery=False, velocity_range=[-0.8, 0.8], main_uri="rtsp://127.0.0.1:9/unused"
        )
        app = await service.start()
        camera = TestCamera(await publish_url(app, "cam1"), width=320, height=240, fps=25, gop=25)
        try:
            admin = await RpcClient.connect(ws_url, additional_headers={"Authorization": f"Bearer {token}"})
            await admin.call("add_camera", {"id": "cam1", "name": "Gate", "source": "publisher"})
            await admin.call(
                "import_onvif_camera",
                {"xaddr": sim.xaddr, "user": "admin", "password": "secret", "id": "ptzcam"},
            )
            await admin.call("update_camera", {"camera": "ptzcam", "enabled": False})  # PTZ only, no video
            await camera.start()

            async def online() -> bool:
                return bool((await admin.call("get_camera", {"camera": "cam1"}))["status"] == "ONLINE")

            await wait_for(online, 30, 0.3, message="cam1 did not come online")
            await admin.close()
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", control_port).start()
            env = {
                **os.environ,
                "CAMERA_SERVICE_URL": ws_url,
                "CAMERA_SERVICE_TOKEN": token,
                "CAMERA_SERVICE_CAMERA": "cam1",
                "CAMERA_SERVICE_PTZ_CAMERA": "ptzcam",
                "CAMERA_SERVICE_CONTROL_URL": f"http://127.0.0.1:{control_port}",
            }
            started = time.monotonic()
            rc = await run_maven(env, log, timeout=1400)
            print(f"mvn -B verify: {time.monotonic() - started:.1f} s")
            ptz_state = await sim.state()
        finally:
            await runner.cleanup()
            await camera.stop()
            await service.stop()
            await sim.close()

    output = log.read_text(errors="replace")
    assert rc == 0, f"mvn -B verify failed ({rc}):\n{output[-6000:]}"
    unit = report_counts(ANDROID / "target" / "surefire-reports")
    integration = report_counts(ANDROID / "target" / "failsafe-reports")
    assert unit["tests"] > 0 and unit["failures"] == unit["errors"] == 0, unit
    assert integration == {"tests": IT_COUNT, "failures": 0, "errors": 0, "skipped": 0}, integration
    assert "Checking unresolved references to net.sf.androidscents.signature:android-api-level-26" in output
    assert service.restarts == 1  # the IT restarted the service through the control endpoint
    # The IT's absolute move reached the simulated camera itself.
    assert (ptz_state["x"], ptz_state["y"], ptz_state["z"]) == pytest.approx((0.3, -0.2, 0.5))

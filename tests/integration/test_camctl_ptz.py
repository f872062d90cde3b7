"""`camctl ptz CAM --move left --for 1s` against the ONVIF test camera (see test_onvif_ptz.py's layout)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from camera_service.client import CameraServiceClient
from camera_service.core.bus import Event
from tests.harness.camctl import camctl
from tests.harness.onvif_net import onvif_network, start_sim
from tests.harness.procs import wait_for
from tests.harness.service import run_service, service_config

pytestmark = pytest.mark.integration


async def test_camctl_ptz_moves_left_for_one_second_then_stops(tmp_path: Path) -> None:
    async with onvif_network() as netns:
        sim = await start_sim(
            netns, discovery=False, velocity_range=[-0.8, 0.8], main_uri="rtsp://127.0.0.1:9/unused"
        )
        try:
            async with run_service(service_config(tmp_path / "svc")) as svc:
                events: list[Event] = []
                svc.app.services.bus.subscribe(events.append, topics=["ptz.*"])
                async with CameraServiceClient(svc.ws_url, token=svc.token("admin")) as admin:
                    await admin.onvif.import_camera(
                        xaddr=sim.xaddr, user="admin", password="secret", id="ptzcam"
                    )
                    await admin.cameras.update("ptzcam", enabled=False)  # no video needed
                await sim.reset()
                auth = ("--url", svc.ws_url, "--token", svc.token("operator"))
                started = time.monotonic()
                code, _out, err = await camctl("ptz", "ptzcam", "--move", "left", "--for", "1s", *auth)
                took = time.monotonic() - started
                assert code == 0, err
                assert await sim.ops() == ["ContinuousMove", "Stop"]
                move = (await sim.calls("ptz_service"))[0]["args"]["Velocity"]["PanTilt"]
                assert float(move["x"]) == -0.5  # left at the default speed
                stopped = await wait_for(lambda: [e for e in events if e.type == "ptz.stopped"], 10, 0.05)
                assert stopped[0].data["reason"] == "requested"  # camctl's stop, not disconnect/timeout
                moved = [e for e in events if e.type == "ptz.moved"]
                assert stopped[0].time - moved[0].time >= 1.0 and took >= 1.0
                assert (await sim.state())["moving"] is False
        finally:
            await sim.close()

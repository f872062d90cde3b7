"""ONVIF discovery and import against a real ONVIF peer (tests/harness/onvif_sim.py), never a real network.

Network layout (tests/harness/onvif_net.py): the simulator runs with `ip netns exec` inside a network
namespace this module creates (`csonvif-XXXXXX`, loopback up plus one veth pair with a private /30 in
10.200.0.0/16 and no route beyond it). The service stays in the root namespace (where its MediaMTX and
the tests' 127.0.0.1 servers are) and reaches the simulator over the veth: SOAP and unicast probes to the
namespace address, and multicast WS-Discovery on the root end of the veth, which can only reach the
namespace. The namespace (and its veth) is deleted at teardown. The video the camera advertises
(GetStreamUri) is a bare MediaMTX path on 127.0.0.1 fed by ffmpeg, as for a camera behind an RTSP server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.harness.ffmpeg import TestCamera
from tests.harness.mediamtx import run_mediamtx
from tests.harness.onvif_net import SimHandle, TestNetns, onvif_network, start_sim
from tests.harness.rpc_client import RpcCallError, RpcClient
from tests.harness.service import RunningService, run_service, service_config
from tests.integration.cameras_helpers import read_frame_async, wait_camera

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

CAMERA_CLOCK_OFFSET_S = 3600.0  # the camera's clock is an hour off: WS-Security must compensate


class Env:
    def __init__(self, netns: TestNetns, sim: SimHandle, service: RunningService, feed_url: str) -> None:
        self.netns, self.sim, self.service, self.feed_url = netns, sim, service, feed_url


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    tmp: Path = tmp_path_factory.mktemp("onvif-import")
    async with onvif_network() as netns, run_mediamtx(workdir=tmp / "upstream") as upstream:
        feed = upstream.rtsp_url("simcam")
        cam = TestCamera(feed, width=320, height=240, fps=15, log_path=tmp / "testcam.log")
        await cam.start()
        sim = await start_sim(
            netns,
            clock_offset_s=CAMERA_CLOCK_OFFSET_S,
            main_uri=feed,
            sub_uri=feed,
            name="Lobby%20Cam",
            model="SimPTZ-1",
            location="lab",
        )
        try:
            config = service_config(tmp / "svc", overrides={"onvif": {"call_timeout_s": 2.0}})
            async with run_service(config) as service:
                yield Env(netns, sim, service, feed)
        finally:
            await sim.close()
            await cam.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def rpc(env: Env) -> AsyncIterator[RpcClient]:
    client = await env.service.client()
    yield client
    await client.close()


async def test_unicast_discovery_finds_the_simulator_and_streams_found_events(
    env: Env, rpc: RpcClient
) -> None:
    result = await rpc.call("discover_cameras", {"hosts": [env.netns.ns_ip], "timeout_s": 1.0})
    assert result["multicast"] is False and result["unicast_targets"] == 1
    [device] = result["devices"]
    assert device["xaddrs"] == [env.sim.xaddr]
    assert device["address"] == f"urn:uuid:{env.sim.config['endpoint_uuid']}"
    assert (device["name"], device["hardware"], device["location"]) == ("Lobby Cam", "SimPTZ-1", "lab")
    assert device["source"] == env.netns.ns_ip and device["registered"] is False
    note = await rpc.next_notification("discovery.found", timeout=10.0)
    assert note["params"]["xaddrs"] == [env.sim.xaddr]


async def test_multicast_discovery_on_the_namespace_link(env: Env, rpc: RpcClient) -> None:
    probes_before = (await env.sim.state())["probes"]
    result = await rpc.call("discover_cameras", {"interface": env.netns.host_if, "timeout_s": 1.0})
    assert result["multicast"] is True and result["unicast_targets"] == 0
    assert [d["xaddrs"] for d in result["devices"]] == [[env.sim.xaddr]]
    # The simulator only listens on the group inside the namespace: the probe really was multicast.
    assert (await env.sim.state())["probes"] > probes_before


async def test_bad_discovery_params_are_rejected(rpc: RpcClient) -> None:
    with pytest.raises(RpcCallError) as err:
        await rpc.call("discover_cameras", {"interface": "no-such-if0", "timeout_s": 0.5})
    assert err.value.code == -32602
    with pytest.raises(RpcCallError) as err:
        await rpc.call("discover_cameras", {"hosts": ["10.0.0.0/8"], "timeout_s": 0.5})
    assert err.value.code == -32602 and "more than" in err.value.message


async def test_import_creates_a_camera_that_goes_online_and_decodes(env: Env, rpc: RpcClient) -> None:
    result = await rpc.call(
        "import_onvif_camera", {"xaddr": env.sim.xaddr, "user": "admin", "password": "secret", "id": "lobby"}
    )
    assert result["camera"] == "lobby" and result["created"] is True
    assert result["source"] == env.feed_url
    onvif = result["onvif"]
    assert (onvif["manufacturer"], onvif["model"]) == ("CameraService", "SimPTZ-1")
    assert [p["token"] for p in onvif["profiles"]] == ["main", "sub"]
    assert (onvif["profile"], onvif["sub_profile"]) == ("main", "sub")
    assert onvif["snapshot_uri"] == f"{env.sim.base}/snapshot/main.jpg"
    assert onvif["ptz"]["supported"] is True and onvif["ptz"]["profile_token"] == "main"
    assert onvif["ptz"]["ranges"]["pan_velocity"] == {"min": -1.0, "max": 1.0}
    assert onvif["ptz"]["ranges"]["zoom"] == {"min": 0.0, "max": 1.0}
    # Authenticated calls passed although the camera clock is an hour ahead: the offset was applied.
    assert onvif["clock_offset_s"] == pytest.approx(CAMERA_CLOCK_OFFSET_S, abs=3)
    assert all(c["authorized"] for c in await env.sim.calls())

    cam = await wait_camera(rpc, "lobby", status="ONLINE", width=320, height=240, codec="H264")
    assert cam["onvif"]["xaddr"] == env.sim.xaddr and "password" not in cam["onvif"]
    width, height, codec = await read_frame_async(env.service.rtsp_url("lobby"))
    assert (width, height, codec) == (320, 240, "h264")

    # Discovery now marks the device as registered; a second import updates the same camera.
    found = await rpc.call("discover_cameras", {"hosts": [env.netns.ns_ip], "timeout_s": 1.0})
    assert [(d["registered"], d["camera"]) for d in found["devices"]] == [(True, "lobby")]
    again = await rpc.call(
        "import_onvif_camera",
        {"xaddr": env.sim.xaddr, "user": "admin", "password": "secret", "profile": "sub", "name": "Lobby"},
    )
    assert (again["camera"], again["created"], again["name"]) == ("lobby", False, "Lobby")
    assert again["onvif"]["profile"] == "sub"


async def _expect_error(rpc: RpcClient, method: str, params: dict[str, Any], budget_s: float) -> RpcCallError:
    """The call fails with an error (and does so before `budget_s`: the documented timeout holds)."""
    with pytest.raises(RpcCallError) as err:
        await asyncio.wait_for(rpc.call(method, params), budget_s)
    return err.value


async def test_wrong_credentials_unreachable_and_stalled_devices(env: Env, rpc: RpcClient) -> None:
    calls_before = len(await env.sim.calls())
    err = await _expect_error(
        rpc, "import_onvif_camera", {"xaddr": env.sim.xaddr, "user": "admin", "password": "wrong"}, 10
    )
    assert err.code == -32012 and err.data["reason"] == "auth_failed"
    assert "wrong" not in err.message
    assert any(not c["authorized"] for c in (await env.sim.calls())[calls_before:])

    # Nothing listens on this port of the namespace address: refused at once.
    err = await _expect_error(
        rpc,
        "import_onvif_camera",
        {"xaddr": f"http://{env.netns.ns_ip}:1/onvif/device_service", "user": "a", "password": "b"},
        10,
    )
    assert err.code == -32009 and err.data["reason"] == "unreachable"

    stalled = await start_sim(env.netns, discovery=False, stall_ops=["GetDeviceInformation"], stall_s=30)
    try:
        err = await _expect_error(
            rpc, "import_onvif_camera", {"xaddr": stalled.xaddr, "user": "admin", "password": "secret"}, 10
        )
        assert err.code == -32010 and err.data["timeout_s"] == 2.0
        assert err.data["operation"] == "GetDeviceInformation"
    finally:
        await stalled.close()
    cameras = await rpc.call("list_cameras", {})
    assert [c["id"] for c in cameras["cameras"]] == ["lobby"]  # failed imports created nothing


async def test_device_without_ptz_and_camera_without_onvif(env: Env, rpc: RpcClient) -> None:
    plain = await start_sim(env.netns, discovery=False, ptz=False, main_uri=env.feed_url, model="Fixed-1")
    try:
        result = await rpc.call(
            "import_onvif_camera",
            {"xaddr": plain.xaddr, "user": "admin", "password": "secret", "id": "fixed"},
        )
        assert result["onvif"]["ptz"]["supported"] is False
        err = await _expect_error(rpc, "ptz", {"camera": "fixed", "action": "get_status"}, 10)
        assert err.code == -32008 and err.data["capability"] == "ptz"
        assert await plain.ops() == []  # refused from the stored capability, nothing sent
    finally:
        await plain.close()
    await rpc.call("add_camera", {"id": "noonvif", "source": env.feed_url})
    for params in ({"camera": "noonvif", "action": "stop"}, {"camera": "noonvif", "action": "get_presets"}):
        err = await _expect_error(rpc, "ptz", params, 10)
        assert err.code == -32008 and err.message == "not supported by this camera"
    err = await _expect_error(rpc, "start_patrol", {"camera": "noonvif", "presets": ["a"], "dwell_s": 1}, 10)
    assert err.code == -32008
    await rpc.call("remove_camera", {"camera": "noonvif"})
    await rpc.call("remove_camera", {"camera": "fixed"})

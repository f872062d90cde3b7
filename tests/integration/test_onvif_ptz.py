"""PTZ through the service against the ONVIF test camera in a private network namespace.

Same layout as test_onvif_import.py (see tests/harness/onvif_net.py): the simulator runs with
`ip netns exec` in a namespace with loopback and one veth to the root namespace; the service reaches it
over the veth. The simulator logs every SOAP call with its arguments (GET /sim/calls) and reports its
PTZ state (GET /sim/state); it deliberately ignores the ONVIF move Timeout, so every stop seen here was
sent by the service. Its velocity range is [-0.8, 0.8], so range checks visibly use the camera's ranges.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from camera_service.core.bus import Event
from tests.harness.onvif_net import SimHandle, TestNetns, onvif_network, start_sim
from tests.harness.procs import wait_for
from tests.harness.rpc_client import RpcCallError, RpcClient
from tests.harness.service import RunningService, run_service, service_config

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

CAM = "ptzcam"


class Env:
    def __init__(self, netns: TestNetns, sim: SimHandle, service: RunningService) -> None:
        self.netns, self.sim, self.service = netns, sim, service
        self.events: list[Event] = []
        service.app.services.bus.subscribe(self.events.append, topics=["ptz.*"])

    def of(self, type_: str) -> list[Event]:
        return [e for e in self.events if e.type == type_]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    tmp: Path = tmp_path_factory.mktemp("onvif-ptz")
    async with onvif_network() as netns:
        sim = await start_sim(
            netns, discovery=False, velocity_range=[-0.8, 0.8], main_uri="rtsp://127.0.0.1:9/unused"
        )
        try:
            config = service_config(tmp / "svc", overrides={"onvif": {"call_timeout_s": 3.0}})
            async with run_service(config) as service:
                admin = await service.client()
                await admin.call(
                    "import_onvif_camera",
                    {"xaddr": sim.xaddr, "user": "admin", "password": "secret", "id": CAM},
                )
                await admin.call("update_camera", {"camera": CAM, "enabled": False})  # no video needed
                await admin.close()
                yield Env(netns, sim, service)
        finally:
            await sim.close()


@pytest_asyncio.fixture(loop_scope="module")
async def op(env: Env) -> AsyncIterator[RpcClient]:
    """An operator's connection; the simulator's call log starts empty for each test."""
    await env.sim.reset()
    env.events.clear()
    client = await env.service.client("operator")
    yield client
    await client.close()


async def ptz(client: RpcClient, action: str, **params: object) -> object:
    reply = await client.call("ptz", {"camera": CAM, "action": action, **params})
    assert reply["camera"] == CAM and reply["action"] == action
    return reply["result"]


async def test_every_action_reaches_the_camera_with_its_arguments(env: Env, op: RpcClient) -> None:
    assert await ptz(op, "continuous_move", pan=0.5, tilt=-0.25, zoom=0.1, timeout_s=30) == {
        "moving": True,
        "timeout_s": 30.0,
    }
    [call] = await env.sim.calls("ptz_service")
    assert call["op"] == "ContinuousMove" and call["args"]["ProfileToken"] == "main"
    velocity = call["args"]["Velocity"]
    assert velocity == {"PanTilt": {"x": "0.5", "y": "-0.25"}, "Zoom": {"x": "0.1"}}
    assert call["args"]["Timeout"] == "PT30S"
    assert (await env.sim.state())["moving"] is True
    status = await ptz(op, "get_status")
    assert status["moving"] is True and status["continuous_move_active"] is True

    assert await ptz(op, "stop") == {"moving": False}
    assert (await env.sim.calls("ptz_service"))[-1]["args"] == {
        "ProfileToken": "main",
        "PanTilt": "true",
        "Zoom": "true",
    }
    assert (await env.sim.state())["moving"] is False

    await ptz(op, "absolute_move", pan=0.3, tilt=-0.2, zoom=0.5)
    state = await env.sim.state()
    assert (state["x"], state["y"], state["z"]) == (0.3, -0.2, 0.5)
    await ptz(op, "relative_move", pan=0.1, tilt=0.1)
    state = await env.sim.state()
    assert (state["x"], state["y"], state["z"]) == pytest.approx((0.4, -0.1, 0.5))
    assert (await env.sim.calls("ptz_service"))[-1]["args"]["Translation"] == {
        "PanTilt": {"x": "0.1", "y": "0.1"}
    }
    status = await ptz(op, "get_status")
    assert (status["pan"], status["tilt"], status["zoom"]) == pytest.approx((0.4, -0.1, 0.5))
    assert status["moving"] is False and status["pan_tilt_status"] == "IDLE"

    await ptz(op, "home")
    state = await env.sim.state()
    assert (state["x"], state["y"], state["z"]) == (0.0, 0.0, 0.0)
    assert await env.sim.ops() == [
        "ContinuousMove",
        "GetStatus",
        "Stop",
        "AbsoluteMove",
        "RelativeMove",
        "GetStatus",
        "GotoHomePosition",
    ]
    assert [e.data["action"] for e in env.of("ptz.moved")] == [
        "continuous_move",
        "absolute_move",
        "relative_move",
        "home",
    ]
    assert [e.data["reason"] for e in env.of("ptz.stopped")] == ["requested"]


async def test_presets_round_trip(env: Env, op: RpcClient) -> None:
    await ptz(op, "absolute_move", pan=-0.5, tilt=0.25, zoom=0.75)
    saved = await ptz(op, "set_preset", name="door")
    token = saved["preset"]
    assert saved == {"ok": True, "preset": token, "name": "door"}
    presets = await ptz(op, "get_presets")
    assert {"token": token, "name": "door", "pan": -0.5, "tilt": 0.25, "zoom": 0.75} in presets

    await ptz(op, "home")
    assert await ptz(op, "goto_preset", preset="door") == {"ok": True, "preset": token}  # by name
    state = await env.sim.state()
    assert (state["x"], state["y"], state["z"]) == (-0.5, 0.25, 0.75)
    assert (await env.sim.calls("ptz_service"))[-1]["args"] == {"ProfileToken": "main", "PresetToken": token}

    assert await ptz(op, "remove_preset", preset=token) == {"ok": True, "preset": token}  # by token
    assert token not in (await env.sim.state())["presets"]
    assert all(p["token"] != token for p in await ptz(op, "get_presets"))
    with pytest.raises(RpcCallError) as err:
        await ptz(op, "goto_preset", preset="door")
    assert err.value.code == -32004 and err.value.data == {"resource": "preset", "id": "door"}
    with pytest.raises(RpcCallError) as err:
        await ptz(op, "set_preset")
    assert err.value.code == -32602 and err.value.data["errors"][0]["field"] == "name"
    assert [e.type for e in env.events if e.type.startswith("ptz.preset")] == [
        "ptz.preset_set",
        "ptz.preset_removed",
    ]


async def test_out_of_range_values_are_rejected_before_any_soap_call(env: Env, op: RpcClient) -> None:
    cases = [
        ("continuous_move", {"pan": 0.9}, "pan"),  # camera's velocity range is [-0.8, 0.8]
        ("continuous_move", {"tilt": -0.81, "timeout_s": 1}, "tilt"),
        ("continuous_move", {"zoom": 1.5}, "zoom"),
        ("absolute_move", {"zoom": 1.2}, "zoom"),  # position zoom range is [0, 1]
        ("relative_move", {"pan": -2.0}, "pan"),
    ]
    for action, params, field in cases:
        with pytest.raises(RpcCallError) as err:
            await ptz(op, action, **params)
        assert err.value.code == -32602, (action, params)
        assert err.value.data["errors"][0]["field"] == field
        assert err.value.data["errors"][0]["type"] == "out_of_range"
    with pytest.raises(RpcCallError) as err:
        await ptz(op, "continuous_move", pan=0.5, timeout_s=601)  # above the service's limit
    assert err.value.code == -32602
    assert await env.sim.calls() == []  # the camera saw nothing at all
    assert env.events == []


async def test_continuous_move_stops_after_its_timeout(env: Env, op: RpcClient) -> None:
    await ptz(op, "continuous_move", pan=0.2, timeout_s=1)
    stopped = await wait_for(lambda: env.of("ptz.stopped"), 10.0, 0.05)
    assert stopped[0].data["reason"] == "timeout"
    assert await env.sim.ops() == ["ContinuousMove", "Stop"]
    assert (await env.sim.state())["moving"] is False


async def test_continuous_move_is_stopped_when_the_client_disconnects(env: Env, op: RpcClient) -> None:
    client = await env.service.client("operator")
    # A 3 s timer: the disconnect below must come first, even on a loaded machine.
    moved_at = time.monotonic()
    await ptz(client, "continuous_move", pan=-0.3, timeout_s=3)
    assert (await env.sim.state())["moving"] is True
    await client.close()  # the client vanishes without sending stop
    stopped = await wait_for(lambda: env.of("ptz.stopped"), 10.0, 0.05)
    assert stopped[0].data["reason"] == "disconnected"  # the disconnect hook, not the 3 s timer
    assert await env.sim.ops() == ["ContinuousMove", "Stop"]
    assert (await env.sim.state())["moving"] is False
    await asyncio.sleep(max(0.0, moved_at + 3.5 - time.monotonic()))  # past the cancelled timer's end:
    assert await env.sim.ops() == ["ContinuousMove", "Stop"]  # it sent no second Stop


async def test_commands_to_one_camera_are_serialised(env: Env, op: RpcClient) -> None:
    await ptz(op, "home")
    await env.sim.reset()
    steps = [0.01 * (i + 1) for i in range(8)]
    await asyncio.gather(*(ptz(op, "relative_move", pan=s) for s in steps))
    calls = await env.sim.calls("ptz_service")
    assert [c["op"] for c in calls] == ["RelativeMove"] * 8
    # One at a time: each call reached the camera after the previous one was answered, in send order.
    assert [float(c["args"]["Translation"]["PanTilt"]["x"]) for c in calls] == steps
    assert (await env.sim.state())["x"] == pytest.approx(sum(steps))


async def test_patrol_visits_presets_and_stops(env: Env, op: RpcClient) -> None:
    await ptz(op, "absolute_move", pan=0.1)
    a = (await ptz(op, "set_preset", name="a"))["preset"]
    await ptz(op, "absolute_move", pan=0.2)
    b = (await ptz(op, "set_preset", name="b"))["preset"]
    await env.sim.reset()

    started = await op.call("start_patrol", {"camera": CAM, "presets": ["a", b], "dwell_s": 0.1, "loops": 2})
    assert started == {
        "camera": CAM,
        "patrolling": True,
        "presets": [a, b],
        "replaced": False,
        "stopped": False,
    }
    await wait_for(lambda: env.of("ptz.patrol_finished"), 10.0, 0.05)
    gotos = [c["args"]["PresetToken"] for c in await env.sim.calls("ptz_service") if c["op"] == "GotoPreset"]
    assert gotos == [a, b, a, b]

    await op.call("start_patrol", {"camera": CAM, "presets": [a, b], "dwell_s": 30})
    assert (await ptz(op, "get_status"))["patrol_active"] is True
    assert (await op.call("stop_patrol", {"camera": CAM}))["stopped"] is True
    assert (await op.call("stop_patrol", {"camera": CAM}))["stopped"] is False
    assert [e.data["reason"] for e in env.of("ptz.patrol_stopped")] == ["requested"]
    with pytest.raises(RpcCallError) as err:
        await op.call("start_patrol", {"camera": CAM, "presets": ["a", "nope"], "dwell_s": 1})
    assert err.value.code == -32004


async def test_viewers_may_not_steer_and_scopes_apply(env: Env) -> None:
    viewer = await env.service.client("viewer")
    with pytest.raises(RpcCallError) as err:
        await viewer.call("ptz", {"camera": CAM, "action": "stop"})
    assert err.value.code == -32003
    scoped = await env.service.client("operator", scopes={"cameras": ["other"]})
    with pytest.raises(RpcCallError) as err:
        await scoped.call("ptz", {"camera": CAM, "action": "stop"})
    assert err.value.code == -32004
    await env.sim.reset()
    assert await env.sim.calls() == []


async def test_ptz_preset_rule_action_is_registered(env: Env) -> None:
    from camera_service.events.rules.actions import action_types, validate_action

    assert "ptz_preset" in action_types()
    assert validate_action("ptz_preset", {"preset": "door"}).model_dump() == {
        "preset": "door",
        "camera": None,
    }

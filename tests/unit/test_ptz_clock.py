"""The PTZ controller on a simulated clock and a fake ONVIF client: a continuous move is stopped at its
timeout and not a moment before, a new move re-arms the timer, a disconnect stops its own moves, and a
patrol dwells on the clock. No sleeping, no device."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from camera_service.core.bus import Event, EventBus
from camera_service.onvif.config import OnvifConfig
from camera_service.onvif.ptz import PtzController
from tests.harness.clock import FakeClock

PTZ = {
    "supported": True,
    "profile_token": "main",
    "ranges": {"pan_velocity": {"min": -1, "max": 1}, "tilt_velocity": {"min": -1, "max": 1}},
}


@dataclass
class FakeCamera:
    id: str = "cam"
    metadata: dict[str, Any] = field(default_factory=lambda: {"onvif": {"ptz": PTZ}})
    onvif: Any = None
    updated_at: float = 1.0


class FakeClient:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def call(self, service: str, operation: str, params: dict[str, Any] | None = None) -> Any:
        self.calls.append((operation, params or {}))
        if operation == "GetPresets":
            return [{"token": "p1", "Name": "door"}, {"token": "p2", "Name": "gate"}]
        return None

    def ops(self) -> list[str]:
        return [op for op, _ in self.calls]


class FakePool:
    def __init__(self) -> None:
        self.client = FakeClient()

    def get(self, camera: Any) -> FakeClient:
        return self.client

    async def drop(self, camera_id: str) -> None:
        pass


def make() -> tuple[PtzController, FakeClient, FakeClock, list[Event]]:
    clock, pool, bus = FakeClock(), FakePool(), EventBus()
    events: list[Event] = []
    bus.subscribe(events.append, topics=["ptz.*"])
    ptz = PtzController(OnvifConfig(), bus, pool, clock)  # type: ignore[arg-type]
    return ptz, pool.client, clock, events


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_continuous_move_stops_at_its_timeout_and_not_before() -> None:
    ptz, client, clock, events = make()
    cam = FakeCamera()
    await ptz.continuous_move(cam, 0.5, None, None, timeout_s=5, connection_id=1)  # type: ignore[arg-type]
    assert client.ops() == ["ContinuousMove"] and ptz.moving("cam")
    assert client.calls[0][1]["Timeout"] == "PT5S"

    await clock.advance(4.99)
    assert client.ops() == ["ContinuousMove"] and ptz.moving("cam")
    await clock.advance(0.02)
    await settle()
    assert client.ops() == ["ContinuousMove", "Stop"] and not ptz.moving("cam")
    assert [e.type for e in events] == ["ptz.moved", "ptz.stopped"]
    assert events[-1].data["reason"] == "timeout"
    await ptz.close({})


async def test_a_new_move_rearms_the_timer() -> None:
    ptz, client, clock, _ = make()
    cam = FakeCamera()
    await ptz.continuous_move(cam, 0.5, None, None, timeout_s=5, connection_id=1)  # type: ignore[arg-type]
    await clock.advance(4)
    await ptz.continuous_move(cam, -0.5, None, None, timeout_s=5, connection_id=1)  # type: ignore[arg-type]
    await clock.advance(4)  # 8 s after the first move, 4 s after the second
    assert client.ops() == ["ContinuousMove", "ContinuousMove"] and ptz.moving("cam")
    await clock.advance(1.5)
    await settle()
    assert client.ops()[-1] == "Stop" and client.ops().count("Stop") == 1
    await clock.advance(60)  # the first move's timer was cancelled: no second Stop
    assert client.ops().count("Stop") == 1
    await ptz.close({})


async def test_disconnect_stops_only_that_connections_moves() -> None:
    ptz, client, clock, events = make()
    cam = FakeCamera()
    await ptz.continuous_move(cam, 0.5, None, None, timeout_s=30, connection_id=7)  # type: ignore[arg-type]

    @dataclass
    class Conn:
        id: int

    await ptz.on_disconnect(Conn(8), {"cam": cam})  # type: ignore[arg-type,dict-item]
    assert ptz.moving("cam") and "Stop" not in client.ops()
    await ptz.on_disconnect(Conn(7), {"cam": cam})  # type: ignore[arg-type,dict-item]
    assert not ptz.moving("cam") and client.ops()[-1] == "Stop"
    assert events[-1].data["reason"] == "disconnected"
    await clock.advance(60)
    assert client.ops().count("Stop") == 1
    await ptz.close({})


async def test_patrol_dwells_on_the_clock() -> None:
    ptz, client, clock, events = make()
    cam = FakeCamera()
    client_ops = lambda: [op for op in client.ops() if op != "GetPresets"]  # noqa: E731
    await ptz.start_patrol(cam, ["p1", "p2"], dwell_s=10, loops=1)  # type: ignore[arg-type]
    await settle()
    assert client_ops().count("GotoPreset") == 1
    await clock.advance(9.9)
    assert client_ops().count("GotoPreset") == 1
    await clock.advance(0.2)
    await settle()
    assert client_ops().count("GotoPreset") == 2
    await clock.advance(10)
    await settle()
    assert not ptz.patrolling("cam")
    assert [e.type for e in events][-1] == "ptz.patrol_finished"
    await ptz.close({})

"""camera_status_update fan-out with per-connection stream tokens never holds the event loop for a whole
status wave (MediaMTX down or back flips every camera at once): the soak run saw get_status wait seconds."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from camera_service.auth.identity import Identity
from camera_service.auth.roles import Role
from camera_service.cameras.config import CamerasConfig
from camera_service.cameras.live import PUSH_CHUNK, LivePush
from camera_service.cameras.metrics import CameraMetrics
from camera_service.cameras.models import Camera, CameraStatus, CameraStatusInfo
from camera_service.cameras.streams import build_stream_urls, with_stream_token
from camera_service.config.sections import MediaMTXConfig, ServerConfig
from camera_service.events.bus import EventBus
from camera_service.observability.metrics import Metrics
from camera_service.rpc.context import ConnectionContext
from camera_service.server.connections import ConnectionRegistry

CONNECTIONS = 200
CAMERAS = 20
ONLINE = CameraStatusInfo(status=CameraStatus.ONLINE, streaming=True, width=320, height=240, fps=25)
OFFLINE = CameraStatusInfo(status=CameraStatus.OFFLINE)


def build() -> tuple[LivePush, list[list[dict[str, Any]]]]:
    import orjson

    server, mtx = ServerConfig(), MediaMTXConfig()
    received: list[list[dict[str, Any]]] = []
    registry = ConnectionRegistry()
    for i in range(CONNECTIONS):
        inbox: list[dict[str, Any]] = []
        received.append(inbox)

        def take(payload: bytes, inbox: list[dict[str, Any]] = inbox) -> bool:
            inbox.append(orjson.loads(payload)["params"])
            return True

        ident = Identity(subject=f"user{i}", role=Role.VIEWER)
        registry.add(ConnectionContext(remote="10.0.0.1", identity=ident, _send_encoded=take))

    def urls(camera_id: str, identity: Identity | None) -> Any:
        return with_stream_token(build_stream_urls(camera_id, server, mtx), "tok", time.time() + 300)

    push = LivePush(
        CamerasConfig(),
        EventBus(),
        registry,
        CameraMetrics(Metrics().registry),
        None,  # type: ignore[arg-type]  # the status tracker is not used by a push
        stream_urls=urls,
        tokens_on=lambda: True,
        reader_url=lambda c: c,
        lookup=lambda c: None,
    )
    return push, received


async def test_status_wave_hands_the_loop_back_and_keeps_order() -> None:
    push, received = build()
    cams = [Camera(id=f"cam{i:02d}", name=f"c{i}", source="publisher") for i in range(CAMERAS)]

    def sent() -> int:
        return sum(len(inbox) for inbox in received)

    # The probe stands for ping/get_status: it gets a turn between chunks of the wave.
    steps: list[int] = []
    done = asyncio.Event()

    async def probe() -> None:
        last = sent()
        while not done.is_set():
            await asyncio.sleep(0)
            now = sent()
            steps.append(now - last)
            last = now

    prober = asyncio.create_task(probe())
    await asyncio.sleep(0)
    for cam in cams:  # MediaMTX down, then back: two changes per camera in one synchronous run each
        push.on_status_change(cam, ONLINE, OFFLINE)
    assert sent() < CAMERAS * CONNECTIONS  # the wave is not pushed inside the tracker's callback
    for cam in cams:
        push.on_status_change(cam, OFFLINE, ONLINE)
    await asyncio.wait_for(push.wait_pushed(), 60)
    done.set()
    await prober

    assert sent() == 2 * CAMERAS * CONNECTIONS
    # Between two turns of the probe at most one chunk went out: no callback holds the whole wave.
    assert max(steps) <= PUSH_CHUNK, max(steps)
    for inbox in received:  # every connection sees each camera go offline, then online
        for cam in cams:
            states = [m["state"] for m in inbox if m["device"] == cam.id]
            assert states == ["OFFLINE", "ONLINE"], (cam.id, states)
            assert all("token=tok" in m["streams"]["rtsp"] for m in inbox if m["device"] == cam.id)


async def test_pending_pushes_end_with_stop() -> None:
    push, received = build()
    cam = Camera(id="cam00", name="c", source="publisher")
    for _ in range(5):
        push.on_status_change(cam, ONLINE, OFFLINE)
    await push.stop_sampling()  # the component stops: nothing keeps pushing afterwards
    after = sum(len(inbox) for inbox in received)
    await asyncio.sleep(0.05)
    assert sum(len(inbox) for inbox in received) == after < 5 * CONNECTIONS
    push.on_status_change(cam, OFFLINE, ONLINE)  # started again: pushes flow
    await push.wait_pushed()
    assert all(inbox[-1]["state"] == "ONLINE" for inbox in received)

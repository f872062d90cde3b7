"""The Python client against the real service: typed calls, downloads, events, auth, reconnect."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import av
import pytest

from camera_service.cameras.schemas import CameraPage
from camera_service.client import AuthenticationError, CameraServiceClient, RpcError, SyncClient
from tests.harness.ports import free_port
from tests.harness.procs import wait_for
from tests.harness.service import RunningService, run_service, service_config

pytestmark = pytest.mark.integration


@pytest.fixture
async def demo(service_factory: Any) -> AsyncIterator[RunningService]:
    """The service with its demo camera (an ffmpeg test pattern published into MediaMTX)."""
    async with service_factory(demo=True) as svc:
        yield svc


async def _online(cs: CameraServiceClient, camera: str) -> None:
    async def online() -> bool:
        return (await cs.cameras.get(camera)).status == "ONLINE"

    await wait_for(online, 30, 0.2, message=f"{camera} never came online")


def assert_jpeg(path: Path) -> None:
    data = path.read_bytes()
    assert data[:3] == b"\xff\xd8\xff", data[:8]
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        assert frame.width > 0 and frame.height > 0


async def test_typed_calls_return_the_registered_models(demo: RunningService) -> None:
    async with CameraServiceClient(demo.ws_url, token=demo.token("viewer")) as cs:
        assert cs.identity is not None and cs.identity["role"] == "viewer"
        page = await cs.cameras.list()
        assert isinstance(page, CameraPage)
        assert "demo" in [c.id for c in page.cameras]
        assert await cs.system.ping() == "pong"
        with pytest.raises(RpcError) as err:
            await cs.cameras.get("no-such-camera")
        assert err.value.code == -32004
        assert err.value.data == {"resource": "camera", "id": "no-such-camera"}
        assert "no-such-camera" in err.value.message


async def test_snapshot_is_taken_and_downloaded_as_a_jpeg(demo: RunningService, tmp_path: Path) -> None:
    async with CameraServiceClient(demo.ws_url, token=demo.token("operator")) as cs:
        await _online(cs, "demo")
        snap = await cs.snapshots.take(camera="demo")
        seen: list[tuple[int, int | None]] = []
        out = await cs.download(
            snap.download_url, tmp_path / "x.jpg", progress=lambda d, t: seen.append((d, t))
        )
    assert_jpeg(out)
    assert seen and seen[-1][0] == out.stat().st_size == snap.file_size


async def test_followed_event_arrives_from_another_connection(service: RunningService) -> None:
    async with (
        CameraServiceClient(service.ws_url, token=service.token("viewer")) as follower,
        CameraServiceClient(service.ws_url, token=service.token("operator")) as producer,
    ):
        async with await follower.events.follow(topics=["alarm.*"]) as events:
            sent = time.monotonic()
            created = await producer.events.create(type="alarm.door_forced", data={"door": 3})
            note = await events.next(timeout=5)
            elapsed = time.monotonic() - sent
        assert note.event.id == created.id and note.event.type == "alarm.door_forced"
        assert note.subscription == events.subscription
        assert elapsed < 1.0, elapsed  # the bar; next(timeout=5) only bounds a failure


async def test_wrong_token_fails_with_the_servers_message(service: RunningService) -> None:
    with pytest.raises(AuthenticationError) as err:
        async with CameraServiceClient(service.ws_url, token="not-a-valid-token"):
            pass
    assert err.value.code == -32001
    assert err.value.message  # the server's own words, not the client's
    assert "token" in err.value.message.lower() or "auth" in err.value.message.lower()


async def test_sync_client_for_scripts(service: RunningService) -> None:
    token = service.token("viewer")

    def script() -> Any:
        with SyncClient(service.ws_url, token=token) as cs:
            return cs.system.get_server_info(), cs.call("ping")

    info, pong = await asyncio.to_thread(script)
    assert info.name == "camera-service" and pong == "pong"


async def test_sync_client_follows_events(service: RunningService) -> None:
    token = service.token("viewer")
    subscribed = asyncio.Event()
    loop = asyncio.get_running_loop()

    def script() -> str:
        with SyncClient(service.ws_url, token=token) as cs, cs.follow_events(topics=["alarm.*"]) as events:
            loop.call_soon_threadsafe(subscribed.set)
            return events.next(timeout=30).event.type

    task = asyncio.create_task(asyncio.to_thread(script))
    await asyncio.wait_for(subscribed.wait(), 30)
    async with CameraServiceClient(service.ws_url, token=service.token("operator")) as producer:
        await producer.events.create(type="alarm.sync")
    assert await asyncio.wait_for(task, 30) == "alarm.sync"


async def test_client_reconnects_after_a_service_restart_and_events_flow_again(tmp_path: Path) -> None:
    config = service_config(tmp_path / "svc", server_port=free_port())
    async with run_service(config) as svc:
        cs = CameraServiceClient(svc.ws_url, token=svc.token("operator"))
        await cs.connect()
        events = await cs.events.follow(topics=["alarm.*"])
        await cs.events.create(type="alarm.before_restart")
        assert (await events.next(timeout=20)).event.type == "alarm.before_restart"
        first_sub = events.subscription
    try:
        await wait_for(lambda: not cs.connected, 10, 0.05, message="client never noticed the stop")
        async with run_service(config) as svc2:  # same port and data: the "restarted" service
            await cs.wait_connected(timeout=30)
            assert cs.reconnects == 1 and events.renewals == 1
            async with CameraServiceClient(svc2.ws_url, token=svc2.token("operator")) as other:
                created = await other.events.create(type="alarm.after_restart")
            note = await events.next(timeout=20)
            assert note.event.id == created.id
            assert events.subscription is not None and note.subscription == events.subscription
            assert first_sub is not None
            await events.aclose()
    finally:
        await cs.close()


async def test_user_name_and_password_sign_in_and_again_after_reconnect(tmp_path: Path) -> None:
    config = service_config(tmp_path / "svc", server_port=free_port())
    async with run_service(config) as svc:
        async with CameraServiceClient(svc.ws_url, token=svc.token("admin")) as admin:
            await admin.users.create(username="olga", password="correct-horse", role="operator")
        with pytest.raises(AuthenticationError) as wrong:
            async with CameraServiceClient(svc.ws_url, username="olga", password="wrong-horse"):
                pass
        assert wrong.value.code == -32001 and wrong.value.message
        cs = CameraServiceClient(svc.ws_url, username="olga", password="correct-horse")
        await cs.connect()
        assert cs.identity is not None and cs.identity["username"] == "olga"
        assert (await cs.auth.whoami()).subject.endswith("olga")
    try:
        await wait_for(lambda: not cs.connected, 10, 0.05, message="client never noticed the stop")
        async with run_service(config):
            await cs.wait_connected(timeout=30)
            who = await cs.auth.whoami()  # signed in again by `login` on the new connection
            assert who.subject.endswith("olga") and who.role == "operator"
    finally:
        await cs.close()


async def test_status_notifications_arrive_as_their_registered_model(
    service: RunningService, test_camera_factory: Any
) -> None:
    from camera_service.cameras.compat_methods import CameraStatusUpdate

    async with CameraServiceClient(service.ws_url, token=service.token("admin")) as cs:
        await cs.cameras.add(id="pub1", name="pub1", source="publisher")
        async with cs.notifications("camera_status_update", where=lambda p: p["device"] == "pub1") as notes:
            await test_camera_factory(await service.publish_url("pub1"), width=320, height=240, fps=15)

            async def online() -> CameraStatusUpdate | None:
                note = await notes.next(timeout=30)
                return note if note.state == "ONLINE" else None

            note = await wait_for(online, 60, 0.01)
        assert isinstance(note, CameraStatusUpdate)
        assert note.device == "pub1" and note.status == "CONNECTED"

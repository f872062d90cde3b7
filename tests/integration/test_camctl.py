"""camctl against the real service, run as a separate process exactly as a person or script would."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import av
import pytest

from camera_service.client import AuthenticationError, CameraServiceClient
from tests.harness.camctl import CAMCTL, camctl
from tests.harness.camctl import camctl_env as _env
from tests.harness.ports import free_port
from tests.harness.procs import wait_for
from tests.harness.service import RunningService, run_service, service_config

pytestmark = pytest.mark.integration


@pytest.fixture
async def demo(service_factory: Any) -> AsyncIterator[RunningService]:
    """The service with its demo camera (ffmpeg's test pattern published into MediaMTX), online."""
    async with service_factory(demo=True) as svc:
        async with CameraServiceClient(svc.ws_url, token=svc.token("viewer")) as cs:

            async def online() -> bool:
                return (await cs.cameras.get("demo")).status == "ONLINE"

            await wait_for(online, 30, 0.2, message="demo camera never came online")
        yield svc


async def test_cameras_list_shows_demo_as_table_and_json(demo: RunningService) -> None:
    # URL and token from the environment, as scripts set them
    env = _env(CAMERA_SERVICE_URL=demo.ws_url, CAMERA_SERVICE_TOKEN=demo.token("viewer"))
    code, out, err = await camctl("cameras", "list", env=env)
    assert code == 0, err
    header, *rows = out.splitlines()
    assert header.split()[0] == "ID"
    assert any(row.split()[0] == "demo" for row in rows), out
    code, out, err = await camctl("cameras", "list", "--json", env=env)
    assert code == 0, err
    assert "demo" in [c["id"] for c in json.loads(out)["cameras"]]


async def test_snapshot_writes_a_jpeg(demo: RunningService, tmp_path: Path) -> None:
    dest = tmp_path / "x.jpg"
    code, out, err = await camctl(
        "snapshot", "demo", "-o", str(dest), "--url", demo.ws_url, "--token", demo.token("operator")
    )
    assert code == 0, err
    data = dest.read_bytes()
    assert data[:3] == b"\xff\xd8\xff"
    with av.open(str(dest)) as container:
        frame = next(container.decode(video=0))
    assert (frame.width, frame.height) == (320, 240)
    assert str(dest) in out


async def test_events_follow_prints_an_event_from_another_connection_within_1s(
    service: RunningService,
) -> None:
    proc = await asyncio.create_subprocess_exec(
        *CAMCTL,
        *("events", "follow", "--json", "--count", "1", "--topic", "alarm.*"),
        *("--url", service.ws_url, "--token", service.token("viewer")),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(),
    )
    try:
        assert proc.stderr is not None and proc.stdout is not None
        ready = await asyncio.wait_for(proc.stderr.readline(), 60)  # subscribed
        assert b"following events" in ready, ready
        async with CameraServiceClient(service.ws_url, token=service.token("operator")) as producer:
            created = await producer.events.create(type="alarm.door_forced", camera=None, data={"door": 7})
            sent = time.monotonic()
            line = await asyncio.wait_for(proc.stdout.readline(), 10)
            elapsed = time.monotonic() - sent
        printed = json.loads(line)
        assert printed["id"] == created.id and printed["type"] == "alarm.door_forced"
        assert elapsed < 1.0, elapsed
        assert await asyncio.wait_for(proc.wait(), 10) == 0  # --count 1
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_wrong_token_exits_4_with_the_servers_message(service: RunningService) -> None:
    with pytest.raises(AuthenticationError) as direct:  # what the server says to this token
        async with CameraServiceClient(service.ws_url, token="wrong-token"):
            pass
    code, out, err = await camctl("cameras", "list", "--url", service.ws_url, "--token", "wrong-token")
    assert code == 4
    assert direct.value.message in err and out == ""


async def test_errors_map_to_documented_exit_codes(service: RunningService) -> None:
    auth = ("--url", service.ws_url, "--token", service.token("viewer"))
    code, _, err = await camctl("cameras", "get", "nope", *auth)
    assert code == 6 and "nope" in err
    code, _, err = await camctl("cameras", "remove", "nope", *auth)  # admin only
    assert code == 5, err
    code, _, err = await camctl("cameras", "get", *auth)  # --camera missing
    assert code == 2 and "--camera" in err
    code, _, err = await camctl("system", "ping", "--url", "ws://127.0.0.1:9/ws", "--token", "x")
    assert code == 3, err


async def test_call_sends_any_method_with_json_params(service: RunningService) -> None:
    auth = ("--url", service.ws_url, "--token", service.token("viewer"))
    code, out, err = await camctl("call", "ping", *auth)
    assert code == 0 and json.loads(out) == "pong", err
    code, out, err = await camctl("call", "list_cameras", '{"limit": 5}', *auth)
    assert code == 0 and json.loads(out)["limit"] == 5, err


async def test_recordings_export_downloads_a_playable_mp4_with_progress(
    demo: RunningService, tmp_path: Path
) -> None:
    async with (
        CameraServiceClient(demo.ws_url, token=demo.token("operator")) as cs,
        await cs.events.follow(topics=["recording.segment"], cameras=["demo"]) as segments,
    ):
        await cs.recordings.start(camera="demo", duration_s=4)
        seg = (await segments.next(timeout=90)).event.data
    start = float(seg["start"])
    dest = tmp_path / "clip.mp4"
    code, out, err = await camctl(
        *("recordings", "export", "demo", "--from", str(start + 0.5), "--to", str(start + 2.5)),
        *("-o", str(dest), "--progress", "--url", demo.ws_url, "--token", demo.token("operator")),
        timeout=120,
    )
    assert code == 0, err
    assert "100%" in err  # the progress bar reached the end
    assert str(dest) in out
    with av.open(str(dest)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
    assert frames >= 25  # about 2 s at 25 fps (the export cuts at key frames)


async def test_events_follow_survives_a_service_restart(tmp_path: Path) -> None:
    config = service_config(tmp_path / "svc", server_port=free_port())
    async with run_service(config) as svc:
        token = svc.token("viewer")
        proc = await asyncio.create_subprocess_exec(
            *CAMCTL,
            *("events", "follow", "--json", "--count", "2", "--topic", "alarm.*"),
            *("--url", svc.ws_url, "--token", token),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=_env(),
        )
        assert proc.stdout is not None and proc.stderr is not None
        assert b"following events" in await asyncio.wait_for(proc.stderr.readline(), 60)
        async with CameraServiceClient(svc.ws_url, token=svc.token("operator")) as cs:
            first = await cs.events.create(type="alarm.before")
        assert json.loads(await asyncio.wait_for(proc.stdout.readline(), 10))["id"] == first.id
    try:
        async with run_service(config) as svc2:  # same port and data: the restarted service
            async with CameraServiceClient(svc2.ws_url, token=svc2.token("operator")) as cs:
                line = b""

                async def printed() -> bool:  # until camctl has reconnected and renewed its subscription
                    nonlocal line
                    await cs.events.create(type="alarm.after")
                    try:
                        line = await asyncio.wait_for(proc.stdout.readline(), 0.5)  # type: ignore[union-attr]
                    except TimeoutError:
                        return False
                    return True

                await wait_for(printed, 60, 0.05, message="camctl printed nothing after the restart")
            assert json.loads(line)["type"] == "alarm.after"
            assert await asyncio.wait_for(proc.wait(), 10) == 0  # --count 2
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()

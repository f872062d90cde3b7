"""Security M7: a local process cannot publish into a camera's MediaMTX path, nor kick its encoder.

Real MediaMTX, real ffmpeg publishers on 127.0.0.1 (the address the old rule trusted). Only a publisher
camera's issued credential publishes; a second publisher never replaces the first; a pull camera's path
takes no publisher; the service's own demo publisher keeps working.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from tests.harness.ffmpeg import TestCamera
from tests.harness.procs import wait_for
from tests.harness.rpc_client import RpcCallError, RpcClient
from tests.harness.service import RunningService, run_service, service_config

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def svc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningService]:
    data = tmp_path_factory.mktemp("publishers")
    async with run_service(service_config(data, demo=True)) as running:
        admin = await running.client()
        await admin.call("add_camera", {"id": "pub1", "name": "encoder", "source": "publisher"})
        # A pull camera: MediaMTX pulls it itself (here from nowhere); its path has no publisher.
        await admin.call("add_camera", {"id": "pull1", "source": "rtsp://127.0.0.1:9/none"})
        yield running


async def _live(admin: RpcClient, camera: str) -> dict[str, Any]:
    cam: dict[str, Any] = await admin.call("get_camera", {"camera": camera})
    return {**cam["live"], "status": cam["status"]}


async def _refused(url: str, log: Path, status: str = "401") -> str:
    """Start ffmpeg publishing to `url`; it must be turned away (`status`) and exit. Returns its output."""
    cam = TestCamera(url, width=160, height=120, fps=10, log_path=log)
    await cam.start()
    try:
        await wait_for(lambda: not cam.running, 30, 0.2, message=f"publisher at {url!r} was admitted")
    finally:
        await cam.stop()
    out = cam.output()
    assert status in out, out
    return out


async def test_m7_only_the_cameras_credential_publishes_and_nobody_kicks_it(
    svc: RunningService, tmp_path: Path
) -> None:
    admin = await svc.client()
    plain = svc.public_rtsp_url("pub1")
    # Without any credential, with a made-up one, with an operator token, with the service's reader
    # credential: all turned away, though they come from 127.0.0.1.
    await _refused(plain, tmp_path / "anon.log")
    await _refused(plain.replace("rtsp://", "rtsp://publisher:csp_guess@"), tmp_path / "guess.log")
    await _refused(svc.public_rtsp_url("pub1", svc.token("operator")), tmp_path / "operator.log")
    await _refused(svc.rtsp_url("pub1"), tmp_path / "reader.log")
    assert (await _live(admin, "pub1"))["status"] != "ONLINE"

    issued = await admin.call("create_publish_url", {"camera": "pub1"})
    assert issued["user"] == "publisher" and issued["password"].startswith("csp_")
    assert issued["rtsp_url"] == plain.replace("rtsp://", f"rtsp://publisher:{issued['password']}@")
    encoder = TestCamera(issued["rtsp_url"], width=320, height=240, fps=10, log_path=tmp_path / "enc.log")
    await encoder.start()
    try:
        await wait_for(
            lambda: _is(admin, "pub1", status="ONLINE", width=320, height=240),
            30,
            0.3,
            message="pub1 offline",
        )
        # A second publisher, even one holding the credential, cannot replace the encoder...
        assert "401" not in await _turned_away(issued["rtsp_url"], tmp_path / "second.log")
        # ...nor can a credential-less local process.
        await _refused(plain, tmp_path / "kick.log")
        assert encoder.running
        assert await _is(admin, "pub1", status="ONLINE", width=320, height=240)

        # Issuing again replaces the credential at once: the old one no longer publishes.
        again = await admin.call("create_publish_url", {"camera": "pub1"})
        assert again["password"] != issued["password"]
        await encoder.stop()
        await wait_for(lambda: _is(admin, "pub1", streaming=False), 30, 0.3, message="pub1 still published")
        await _refused(issued["rtsp_url"], tmp_path / "old.log")
        replacement = TestCamera(
            again["rtsp_url"], width=160, height=120, fps=10, log_path=tmp_path / "r.log"
        )
        async with replacement:
            await wait_for(lambda: _is(admin, "pub1", status="ONLINE", width=160, height=120), 30, 0.3)
    finally:
        await encoder.stop()

    # The credential is never shown again and never in the audit.
    async def audited() -> list[dict[str, Any]]:
        page = await admin.call("list_audit", {"method": "create_publish_url"})
        return list(page["entries"]) if page["total"] >= 2 else []

    entries = await wait_for(audited, 15, 0.2, message="create_publish_url not audited")
    assert again["password"] not in str(entries) and issued["password"] not in str(entries)


async def _is(admin: RpcClient, camera: str, **expect: Any) -> bool:
    live = await _live(admin, camera)
    return all(live.get(k) == v for k, v in expect.items())


async def _turned_away(url: str, log: Path) -> str:
    """ffmpeg with a valid credential while another publisher holds the path: MediaMTX refuses it
    (overridePublisher: false), not with 401 (the credential is fine)."""
    cam = TestCamera(url, width=160, height=120, fps=10, log_path=log)
    await cam.start()
    try:
        await wait_for(lambda: not cam.running, 30, 0.2, message="a second publisher was admitted")
    finally:
        await cam.stop()
    return cam.output()


async def test_m7_a_pull_cameras_path_takes_no_publisher(svc: RunningService, tmp_path: Path) -> None:
    admin = await svc.client()
    with pytest.raises(RpcCallError) as exc:
        await admin.call("create_publish_url", {"camera": "pull1"})
    assert exc.value.code == -32602
    # Another camera's credential does not open it either, nor does anonymity from loopback.
    pub = await admin.call("create_publish_url", {"camera": "pub1"})
    await _refused(pub["rtsp_url"].replace("/pub1", "/pull1"), tmp_path / "cross.log")
    await _refused(svc.public_rtsp_url("pull1"), tmp_path / "anon.log")
    # Nor a path of no camera at all (MediaMTX has no such path: 400 before asking).
    await _refused(svc.public_rtsp_url("nocamera"), tmp_path / "none.log", status="400")


async def test_m7_only_admins_in_scope_get_publish_credentials(svc: RunningService) -> None:
    for role in ("viewer", "operator"):
        async with await svc.client(role) as rpc:
            with pytest.raises(RpcCallError) as exc:
                await rpc.call("create_publish_url", {"camera": "pub1"})
            assert exc.value.code == -32003
    async with await svc.client("admin", scopes={"cameras": ["pull1"]}) as scoped:
        with pytest.raises(RpcCallError) as exc:
            await scoped.call("create_publish_url", {"camera": "pub1"})
        assert exc.value.code == -32004


async def test_m7_the_services_own_demo_publisher_still_publishes(svc: RunningService) -> None:
    admin = await svc.client()
    demo = svc.settings.demo.camera_id
    await wait_for(lambda: _is(admin, demo, status="ONLINE", width=320, height=240), 45, 0.3)


async def test_l11_mediamtx_api_needs_the_internal_credential_and_hooks_hide_the_secret(
    svc: RunningService,
) -> None:
    """A local user can no longer read cameras' pull URLs (with passwords) from MediaMTX's loopback API,
    and no hook's command line (what `ps` shows) carries the callback secret."""
    api = f"http://127.0.0.1:{svc.settings.mediamtx.api_port}/v3/config/paths/list"
    async with aiohttp.ClientSession() as http:
        async with http.get(api) as resp:
            assert resp.status == 401
        guess = {"Authorization": aiohttp.encode_basic_auth("camera-service", "guess")}
        async with http.get(api, headers=guess) as resp:
            assert resp.status == 401
    # The service itself still uses it (with its per-run credential): paths are configured and listed.
    mtx = svc.app.services.mediamtx.client
    conf = await mtx.get_path_config("pub1")
    secret = svc.app.services.internal.secret
    commands = " ".join(str(v) for k, v in conf.items() if k.startswith("runOn"))
    assert "/hooks/camera_online" in commands and secret not in commands and "-H @" in commands
    admin = await svc.client()
    assert {c["id"] for c in (await admin.call("list_cameras"))["cameras"]} >= {"pub1", "pull1"}

"""The established MediaMTX Camera Service protocol (research/camerarecorder.md §1) replayed against the
real service (MediaMTX + ffmpeg), the old shape and the native shape side by side (issue 17).

Each test sends the old protocol's documented requests as its clients send them and checks the
documented response shape; the native call next to it keeps its typed error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import pytest_asyncio

from tests.harness.ffmpeg import TestCamera
from tests.harness.procs import wait_for
from tests.harness.rpc_client import RpcCallError, RpcClient
from tests.harness.service import RunningService, run_service, service_config
from tests.integration.cameras_helpers import read_frame_async
from tests.integration.compat_helpers import SNAPSHOT_TIMEOUT_S, compat_service, old_call

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def svc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningService]:
    async with compat_service(tmp_path_factory.mktemp("compat")) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def admin(svc: RunningService) -> RpcClient:
    return await svc.client()


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


# ---- item 1: failures that were results ---------------------------------------------------------------


async def test_failed_authenticate_is_documented_error(svc: RunningService) -> None:
    client = await svc.client(role=None)
    for params in ({"token": "not-a-jwt", "auth_type": "jwt"}, {"auth_token": svc.token(ttl_s=-60)}):
        reply = await old_call(client, "authenticate", params)
        assert reply["error"]["code"] == -32001
        assert reply["error"]["message"] == "Authentication failed"  # exactly, as documented
        assert reply["error"]["data"]["reason"]
    ok = await old_call(client, "authenticate", {"token": svc.token("viewer"), "auth_type": "jwt"})
    assert ok["result"]["authenticated"] is True and ok["result"]["permissions"] == ["view"]


async def test_failed_authenticate_as_result_when_configured(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    data = tmp_path_factory.mktemp("authres")
    async with run_service(
        service_config(
            data, overrides={"compat": {"failed_authenticate": "result", "status_components": "words"}}
        )
    ) as s:
        client = await s.client(role=None)
        reply = await old_call(client, "authenticate", {"token": "bad", "auth_type": "auto"})
        assert reply["result"] == {
            "authenticated": False,
            "error": "Authentication failed",
            "reason": reply["result"]["reason"],
        }
        assert reply["result"]["reason"]
        # Still not authenticated: a viewer call is refused.
        assert (await old_call(client, "get_camera_list"))["error"]["code"] == -32001
        good = await old_call(client, "authenticate", {"auth_token": s.token("operator")})
        assert good["result"]["authenticated"] is True and good["result"]["role"] == "operator"
        assert "result" in await old_call(client, "get_camera_list")
        # get_status in the old words, the objects beside them.
        admin = await s.client()
        status = (await old_call(admin, "get_status"))["result"]
        assert status["components"]["websocket_server"] == "running"
        assert status["components"]["mediamtx_controller"] == "running"
        assert status["components"]["camera_monitor"] == "running"
        assert status["component_details"]["mediamtx"]["healthy"] is True


async def test_get_status_and_server_info_carry_the_old_fields(admin: RpcClient) -> None:
    status = (await old_call(admin, "get_status"))["result"]
    assert status["status"] == "healthy" and isinstance(status["uptime"], int) and status["version"]
    # Native default: components stay objects (documented shape unchanged).
    assert status["components"]["mediamtx"]["healthy"] is True and status["component_details"] is None
    info = (await old_call(admin, "get_server_info"))["result"]
    assert info["name"] and info["version"] and "max_cameras" in info and isinstance(info["uptime"], int)
    assert {"mp4", "jpg"} <= set(info["supported_formats"]) and info["capabilities"]


async def test_unknown_device_status_is_a_disconnected_result(svc: RunningService, admin: RpcClient) -> None:
    for device in ("/dev/video9", "camera9", "nope"):
        reply = await old_call(admin, "get_camera_status", {"device": device})
        result = reply["result"]
        assert result["device"] == device and result["status"] == "DISCONNECTED" and result["camera"] is None
        assert result["metrics"] == {"bytes_sent": 0, "readers": 0, "uptime": 0} and result["error"]
    # Native: a typed error.
    with pytest.raises(RpcCallError) as err:
        await admin.call("get_camera", {"camera": "nope"})
    assert err.value.code == -32004
    # Outside the caller's scope looks the same as unknown.
    scoped = await svc.client("viewer", scopes={"cameras": ["dark"]})
    hidden = (await old_call(scoped, "get_camera_status", {"device": "cam1"}))["result"]
    assert hidden["status"] == "DISCONNECTED" and hidden["camera"] is None


async def test_status_echoes_the_device_as_given(admin: RpcClient) -> None:
    for device in ("/dev/video0", "camera0", "cam1"):
        result = (await old_call(admin, "get_camera_status", {"device": device}))["result"]
        assert result["device"] == device and result["camera"] == "cam1"
        assert result["status"] == "CONNECTED" and result["resolution"] == "320x240"
        assert result["capabilities"] == {"formats": ["H264"], "resolutions": ["320x240"]}


async def test_failed_snapshot_is_a_failed_result_old_shape_only(admin: RpcClient) -> None:
    reply = await old_call(admin, "take_snapshot", {"device": "camera1", "format": "jpg", "quality": 85})
    failed = reply["result"]
    assert failed["status"] == "FAILED" and failed["device"] == "camera1" and failed["camera"] == "dark"
    assert failed["error"] and failed["error_code"] in (-32009, -32010) and failed["file_size"] == 0
    unknown = (await old_call(admin, "take_snapshot", {"device": "/dev/video7", "filename": "x.jpg"}))[
        "result"
    ]
    assert (
        unknown["status"] == "FAILED" and unknown["error_code"] == -32004 and unknown["filename"] == "x.jpg"
    )
    # Native shape: the typed errors.
    with pytest.raises(RpcCallError) as err:
        await admin.call("take_snapshot", {"camera": "dark"}, timeout=SNAPSHOT_TIMEOUT_S + 10)
    assert err.value.code in (-32009, -32010)
    with pytest.raises(RpcCallError) as err:
        await admin.call("take_snapshot", {"camera": "nope"})
    assert err.value.code == -32004


# ---- item 2: playable stream URLs ---------------------------------------------------------------------


async def test_compat_stream_urls_carry_a_fresh_scoped_token(svc: RunningService) -> None:
    viewer = await svc.client("viewer", scopes={"cameras": ["cam1"]})
    first = (await old_call(viewer, "get_camera_list"))["result"]
    assert [c["device"] for c in first["cameras"]] == ["cam1"] and first["total"] == 1
    rtsp = first["cameras"][0]["streams"]["rtsp"]
    status = (await old_call(viewer, "get_camera_status", {"device": "camera0"}))["result"]
    assert token_of(rtsp) != token_of(status["streams"]["rtsp"])  # renewed on each call
    # MediaMTX plays the URL as given, and refuses it without the token.
    assert await read_frame_async(rtsp) == (320, 240, "h264")
    with pytest.raises(Exception):  # noqa: B017 - PyAV raises its own error types for 401
        await read_frame_async(rtsp.split("?")[0], timeout=5)
    # The token opens this camera only.
    other = rtsp.split("?")[0].replace("/cam1", "/dark") + "?token=" + token_of(rtsp)
    with pytest.raises(Exception):  # noqa: B017
        await read_frame_async(other, timeout=5)


async def test_camera_status_update_push_carries_the_receivers_token(
    svc: RunningService, admin: RpcClient
) -> None:
    await admin.call("add_camera", {"id": "push1", "name": "pushed", "source": "publisher"})
    viewer = await svc.client("viewer", scopes={"cameras": ["push1"]})
    other = await svc.client("viewer", scopes={"cameras": ["cam1"]})
    cam = TestCamera(await svc.publish_url("push1"), width=160, height=120, fps=15, gop=15)
    await cam.start()
    try:
        note = await viewer.next_notification(
            "camera_status_update",
            timeout=30,
            where=lambda p: p["device"] == "push1" and p["state"] == "ONLINE",
        )
        admin_note = await admin.next_notification(
            "camera_status_update",
            timeout=30,
            where=lambda p: p["device"] == "push1" and p["state"] == "ONLINE",
        )
        url = note["params"]["streams"]["rtsp"]
        assert token_of(url) != token_of(admin_note["params"]["streams"]["rtsp"])  # one per receiver
        assert await read_frame_async(url) == (160, 120, "h264")
        with pytest.raises(TimeoutError):  # out of scope: nothing pushed
            await other.next_notification(
                "camera_status_update", timeout=1, where=lambda p: p["device"] == "push1"
            )
        # The next push to this connection reuses its token (first half of its lifetime): still valid.
        await cam.stop()
        offline = await viewer.next_notification(
            "camera_status_update",
            timeout=30,
            where=lambda p: p["device"] == "push1" and p["state"] == "OFFLINE",
        )
        assert token_of(offline["params"]["streams"]["rtsp"]) == token_of(url)
        # An RPC call renews it.
        status = await viewer.call("get_camera_status", {"device": "push1"})
        assert token_of(status["streams"]["rtsp"]) != token_of(url)
    finally:
        await cam.stop()
        await admin.call("remove_camera", {"camera": "push1"})


# ---- item 6: old optional members; snapshot filename honoured ------------------------------------------


async def take(admin: RpcClient, params: dict[str, Any]) -> dict[str, Any]:
    async def attempt() -> dict[str, Any] | None:
        result = (await old_call(admin, "take_snapshot", params))["result"]
        return dict(result) if result["status"] == "completed" else None

    snap: dict[str, Any] = await wait_for(attempt, 30, 0.3, message="no snapshot")
    return snap


async def test_snapshot_filename_is_honoured_and_sanitised(svc: RunningService, admin: RpcClient) -> None:
    root = svc.settings.storage.snapshots_path
    snap = await take(
        admin, {"device": "camera0", "format": "jpg", "quality": 80, "filename": "../../evil name.jpg"}
    )
    assert snap["filename"] == "cam1/evil_name.jpg" and snap["device"] == "camera0"
    assert snap["file_path"] == snap["filename"] and (root / "cam1" / "evil_name.jpg").is_file()
    assert snap["download_url"] == "/files/snapshots/cam1/evil_name.jpg"  # relative: base URL + it
    assert not (root.parent / "evil name.jpg").exists()
    again = await take(admin, {"device": "/dev/video0", "filename": "evil name.jpg"})
    assert again["filename"].startswith("cam1/evil_name-") and again["filename"].endswith(".jpg")
    assert (root / "cam1" / "evil_name.jpg").stat().st_size == snap["file_size"]  # not overwritten
    png = await take(admin, {"device": "cam1", "format": "png", "filename": "shot.jpg"})
    assert png["filename"] == "cam1/shot.jpg.png"  # the format's extension is enforced
    # The returned name, the bare name and the old flat name all resolve.
    for name in ("cam1/evil_name.jpg", "evil_name.jpg", "cam1_evil_name.jpg"):
        info = await admin.call("get_snapshot_info", {"filename": name})
        assert info["id"] == snap["id"]
    # Native shape keeps its signed absolute URL.
    native = await admin.call("take_snapshot", {"camera": "cam1"})
    assert native["download_url"].startswith(svc.http_url + "/downloads/snapshots/")


async def test_reused_token_members_still_work(svc: RunningService) -> None:
    # The old web client puts auth_token on calls; the SDK authenticates with {token, auth_type}.
    client = await svc.client(role=None)
    reply = await old_call(
        client, "get_camera_status", {"device": "camera0", "auth_token": svc.token("viewer")}
    )
    assert reply["result"]["status"] == "CONNECTED"

"""The established protocol's HTTP side (research/camerarecorder.md §1/§4) against the real service:
old health and polling routes next to ours, and /files downloads behind a token (issue 17)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.harness.procs import wait_for
from tests.harness.rpc_client import RpcClient
from tests.harness.service import RunningService
from tests.integration.compat_helpers import compat_service, http, http_json, old_call

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def svc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningService]:
    async with compat_service(tmp_path_factory.mktemp("compathttp")) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def admin(svc: RunningService) -> RpcClient:
    return await svc.client()


async def test_health_routes_old_fields_alongside_ours(svc: RunningService) -> None:
    status, ready = await http_json(svc.http_url + "/health/ready")
    assert status == 200 and ready == {"ready": True, "status": "ready"}
    status, system = await http_json(svc.http_url + "/health/system")
    assert status == 200 and system["status"] == "healthy" and system["uptime"] >= 0
    assert system["components"] == {
        "websocket_server": "running",
        "camera_monitor": "running",
        "mediamtx_controller": "running",
    }
    assert system["component_details"]["mediamtx"]["healthy"] is True
    status, cams = await http_json(svc.http_url + "/health/cameras")
    assert status == 200 and cams["total"] == 2 and cams["connected"] == 1 and cams["by_state"]["ONLINE"] == 1
    assert "cam1" not in str(cams)  # public route: counts only, no camera names
    status, mtx = await http_json(svc.http_url + "/health/mediamtx")
    assert status == 200 and mtx["status"] == "healthy" and mtx["reachable"] is True and mtx["version"]
    # Ours still answer as before.
    status, ours = await http_json(svc.http_url + "/health")
    assert status == 200 and isinstance(ours["components"]["mediamtx"], dict)


async def test_api_cameras_polling_requires_a_token(svc: RunningService) -> None:
    url = svc.http_url + "/api/cameras"
    status, body = await http_json(url)
    assert status == 401 and "authentication required" in body
    status, body = await http_json(url, {"Authorization": "Bearer not-a-token"})
    assert status == 401 and "authentication failed" in body
    status, body = await http_json(url + "?token=" + svc.token("viewer", cameras=["cam1"]))
    assert status == 200 and [c["device"] for c in body["cameras"]] == ["cam1"] and body["connected"] == 1
    assert "?token=" in body["cameras"][0]["streams"]["rtsp"]
    status, body = await http_json(url, {"Authorization": "Bearer " + svc.token("admin")})
    assert status == 200 and body["total"] == 2


async def snap(admin: RpcClient, params: dict[str, Any]) -> dict[str, Any]:
    async def attempt() -> dict[str, Any] | None:
        result = (await old_call(admin, "take_snapshot", params))["result"]
        return dict(result) if result["status"] == "completed" else None

    out: dict[str, Any] = await wait_for(attempt, 30, 0.3, message="no snapshot")
    return out


async def test_files_route_serves_snapshots_only_with_a_token(svc: RunningService, admin: RpcClient) -> None:
    shot = await snap(admin, {"device": "camera0", "filename": "door.jpg"})
    on_disk = (svc.settings.storage.snapshots_path / shot["filename"]).read_bytes()
    url = svc.http_url + shot["download_url"]  # the old clients prefix their base URL
    status, body, headers = await http("GET", url)
    assert status == 401 and body != on_disk and b"authentication required" in body
    assert headers["WWW-Authenticate"].startswith("Bearer")
    for bad in ("garbage", svc.token(ttl_s=-60)):
        status, body, _ = await http("GET", url, {"Authorization": f"Bearer {bad}"})
        assert status == 401 and body != on_disk
    # A stream token opens streams only.
    stream_token = (await admin.call("create_stream_token", {"camera": "cam1"}))["token"]
    status, body, _ = await http("GET", url + "?token=" + stream_token)
    assert status == 401 and body != on_disk
    # Valid token, header or query: the file.
    status, body, headers = await http("GET", url, {"Authorization": "Bearer " + svc.token("viewer")})
    assert status == 200 and body == on_disk and "attachment" in headers["Content-Disposition"]
    status, body, _ = await http("GET", url + "?token=" + svc.token("viewer"))
    assert status == 200 and body == on_disk
    # The old flat name and the bare name resolve too.
    for name in ("cam1_door.jpg", "door.jpg", "camera0_door.jpg"):
        status, body, _ = await http("GET", f"{svc.http_url}/files/snapshots/{name}?token={svc.token()}")
        assert status == 200 and body == on_disk, name
    # Out of the token's scope: not found (as unknown).
    status, body, _ = await http("GET", url + "?token=" + svc.token("viewer", cameras=["dark"]))
    assert status == 404 and body != on_disk


async def test_files_route_never_leaves_its_roots(svc: RunningService) -> None:
    secret = svc.settings.storage.data_dir / "secret.txt"
    secret.write_text("top secret")
    tok = svc.token()
    for path in (
        "/files/snapshots/../secret.txt",
        "/files/snapshots/%2e%2e/secret.txt",
        "/files/snapshots/..%2Fsecret.txt",
        "/files/snapshots/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/files/recordings/..%2F..%2Fsecret.txt",
        "/files/snapshots/cam1%2F..%2F..%2Fsecret.txt",
        "/files/clips/x.mp4",
        "/files/snapshots/nope.jpg",
    ):
        status, body, _ = await http("GET", f"{svc.http_url}{path}?token={tok}")
        assert status in (400, 404) and b"top secret" not in body, path
    # Without a token nothing is even looked up.
    status, _, _ = await http("GET", f"{svc.http_url}/files/snapshots/..%2Fsecret.txt")
    assert status == 401

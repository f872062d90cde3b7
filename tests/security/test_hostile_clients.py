"""Hostile clients against the real service, the remaining items of security issue 18 (M3, M4, M5, L1, L2,
L6, L12, L15, L16, L18): forged claims, absurd numbers, clients that never read, probe floods, audit floods,
DNS-rebinding origins. One service for the module; every test also checks that another client is still
served. L8 (a listening socket whose identity expires) runs on the service's clock in
tests/integration/test_auth_tokens.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import jwt
import pytest
import pytest_asyncio
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.harness.procs import wait_for
from tests.harness.rpc_client import RpcCallError, RpcClient
from tests.harness.service import TEST_JWT_SECRET, RunningService, run_service, service_config

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

SCOPE = {"cameras": ["cam1"]}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def svc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningService]:
    overrides = {
        "server": {"max_pending_reply_bytes": 65_536},
        # The production default (the harness allows loopback for its receivers).
        "events": {"webhooks": {"allowed_networks": []}},
        # A small failed-authentication bucket: test_l7 empties it (tests before it fail at most twice).
        "security": {"auth_attempts": {"per_second": 0.01, "burst": 4}},
    }
    async with run_service(
        service_config(tmp_path_factory.mktemp("hostile"), overrides=overrides)
    ) as running:
        admin = await running.client()
        await admin.call("add_camera", {"id": "cam1", "name": "cam1", "source": "publisher"})
        yield running


async def _served(svc: RunningService) -> None:
    async with await svc.client("viewer") as other:
        assert await other.call("ping") == "pong"


async def _code(rpc: RpcClient, method: str, params: dict[str, Any] | None = None) -> int:
    with pytest.raises(RpcCallError) as exc:
        await rpc.call(method, params)
    return exc.value.code


def _token(**claims: Any) -> str:
    body = {"sub": "forger", "role": "admin", "iat": int(time.time()), **claims}
    return jwt.encode(body, TEST_JWT_SECRET, algorithm="HS256")


async def test_l1_a_token_whose_exp_is_a_string_is_refused(svc: RunningService) -> None:
    forged = _token(exp=str(int(time.time()) + 3600))
    with pytest.raises(InvalidStatus) as exc:
        await connect(svc.ws_url, additional_headers={"Authorization": f"Bearer {forged}"})
    assert exc.value.response.status_code == 401
    anon = await svc.client(None)
    assert await _code(anon, "authenticate", {"token": forged}) == -32001
    await _served(svc)


async def test_l2_an_empty_camera_claim_means_no_camera(svc: RunningService) -> None:
    token = _token(exp=int(time.time()) + 3600, cameras=[])
    async with await RpcClient.connect(
        svc.ws_url, additional_headers={"Authorization": f"Bearer {token}"}
    ) as c:
        assert (await c.call("list_cameras"))["total"] == 0
        assert await _code(c, "get_camera", {"camera": "cam1"}) == -32004
        assert await _code(c, "list_audit") == -32003  # system-wide methods need an unscoped identity
    await _served(svc)


async def test_l6_integers_beyond_64_bits_are_invalid_params(svc: RunningService) -> None:
    admin = await svc.client()
    for method, params in (
        ("list_snapshots", {"offset": 2**63}),
        ("list_rule_runs", {"before_id": 2**63}),
        ("list_audit", {"limit": 10, "offset": 2**64}),
    ):
        assert await _code(admin, method, params) == -32602, method
    await _served(svc)


async def test_l12_scoped_admin_cannot_add_or_move_cameras_outside_its_scope(svc: RunningService) -> None:
    scoped = await svc.client("admin", scopes=SCOPE)
    assert await _code(scoped, "add_camera", {"id": "cam9", "name": "x", "source": "publisher"}) == -32003
    admin = await svc.client()
    assert await _code(admin, "get_camera", {"camera": "cam9"}) == -32004
    ok = await scoped.call("update_camera", {"camera": "cam1", "name": "renamed"})
    assert ok["name"] == "renamed"
    await _served(svc)


async def _compat_camera(rpc: RpcClient, device: str) -> str | None:
    """The camera the established name `device` resolves to for this caller (None: none)."""
    result = await rpc.call("get_camera_status", {"device": device})
    return result.get("camera") if isinstance(result, dict) else None


async def test_l14_compat_camera_numbers_count_only_visible_cameras(svc: RunningService) -> None:
    admin = await svc.client()
    for cid in ("l14hidden", "l14seen"):  # created in this order, after cam1
        await admin.call("add_camera", {"id": cid, "name": cid, "source": "publisher"})
    everything: list[str] = []
    while (cid := await _compat_camera(admin, f"camera{len(everything)}")) is not None:
        everything.append(cid)
    assert everything.index("l14hidden") < everything.index("l14seen")
    viewer = await svc.client("viewer", scopes={"cameras": ["cam1", "l14seen"]})
    mine = [cid for cid in everything if cid in ("cam1", "l14seen")]
    # cameraN is the N-th of the viewer's own cameras: no gap where the hidden one sits.
    assert [await _compat_camera(viewer, f"camera{n}") for n in range(len(mine))] == mine
    assert await _compat_camera(viewer, f"camera{len(mine)}") is None
    assert await _compat_camera(viewer, f"/dev/video{len(mine) - 1}") == "l14seen"
    await _served(svc)


async def test_l16_rebound_host_names_are_not_same_origin(svc: RunningService) -> None:
    port = svc.port
    async with aiohttp.ClientSession() as session:
        evil = {"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"}
        with pytest.raises(aiohttp.WSServerHandshakeError) as exc:
            await session.ws_connect(svc.ws_url, headers=evil)
        assert exc.value.status == 403
        https = {"Origin": f"https://127.0.0.1:{port}"}  # the scheme counts too (this server is http)
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await session.ws_connect(svc.ws_url, headers=https)
        ws = await session.ws_connect(svc.ws_url, headers={"Origin": f"http://127.0.0.1:{port}"})
        await ws.send_str('{"jsonrpc":"2.0","method":"ping","id":1}')
        assert json.loads((await ws.receive()).data)["result"] == "pong"
        await ws.close()
    await _served(svc)


async def test_m3_l18_audit_folds_floods_and_keeps_denied_params(svc: RunningService) -> None:
    anon = await svc.client(None)
    replies = await asyncio.gather(*(anon.request("get_status") for _ in range(60)))
    assert all(r["error"]["code"] == -32001 for r in replies)
    admin = await svc.client()
    page = await admin.call("list_audit", {"method": "get_status", "actor": "anonymous", "limit": 1000})
    assert 1 <= page["total"] <= 20  # the rest of the window is counted, not written
    scoped = await svc.client("admin", scopes=SCOPE)
    assert await _code(scoped, "set_retention_settings", {"settings": {"max_age_days": 1}}) == -32003
    await admin.call("add_camera", {"id": "cam2", "name": "cam2", "source": "publisher"})
    denied = await admin.call("list_audit", {"method": "set_retention_settings", "limit": 10})
    assert denied["entries"][0]["outcome"] == "denied"
    assert denied["entries"][0]["params"] == {"settings": {"max_age_days": 1}}
    added = await admin.call("list_audit", {"method": "add_camera", "limit": 100})
    assert any(e["outcome"] == "ok" and e["params"]["id"] == "cam2" for e in added["entries"])
    await _served(svc)


async def test_m5_a_client_that_never_reads_is_closed(svc: RunningService) -> None:
    token = svc.token("viewer")
    ws = await connect(
        svc.ws_url, additional_headers={"Authorization": f"Bearer {token}"}, max_size=None, ping_interval=None
    )
    ws.transport.pause_reading()  # never reads: the server's replies pile up
    before = _rejected(svc, "slow_consumer")
    with contextlib.suppress(ConnectionClosed, TimeoutError):
        for i in range(200):
            await asyncio.wait_for(
                ws.send(json.dumps({"jsonrpc": "2.0", "method": "rpc.discover", "id": i})), 5
            )
    await wait_for(lambda: _rejected(svc, "slow_consumer") > before, timeout=60)
    ws.transport.abort()
    await _served(svc)


def _rejected(svc: RunningService, reason: str) -> float:
    value = svc.app.services.metrics.registry.get_sample_value(
        "camera_service_ws_connections_rejected_total", {"reason": reason}
    )
    return value or 0.0


@contextlib.contextmanager
def _silent_listener() -> Iterator[int]:
    """A TCP listener that accepts and never answers (a probe target that hangs until its timeout)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


async def test_m4_l15_probes_are_bounded_per_identity(svc: RunningService) -> None:
    op = await svc.client("operator")
    with _silent_listener() as port:
        params = {"source": f"rtsp://127.0.0.1:{port}/x", "username": "secretuser", "timeout_s": 2}
        calls = [asyncio.create_task(op.request("probe_camera", params)) for _ in range(3)]
        replies = await asyncio.gather(*calls)
    codes = sorted(r["error"]["code"] for r in replies)
    assert codes.count(-32002) >= 1, codes  # the third concurrent probe of one identity is refused
    assert all("secretuser" not in json.dumps(r) for r in replies)
    admin = await svc.client()  # others (and the shared thread pool) are unaffected
    assert (await admin.call("get_server_info"))["name"] == "camera-service"
    await _served(svc)


async def test_l3_component_details_only_for_unscoped_admins(svc: RunningService) -> None:
    status, body = await svc.http_get("/health")
    assert status == 200 and body["components"]
    assert all(set(c) == {"healthy", "status"} for c in body["components"].values())  # no ids, pids, ports
    viewer = await svc.client("viewer")
    scoped_admin = await svc.client("admin", scopes=SCOPE)
    for who in (viewer, scoped_admin):
        components = (await who.call("get_status"))["components"]
        assert components and all(c["details"] == {} for c in components.values())
    admin = await svc.client()
    assert (await admin.call("get_status"))["components"]["mediamtx"]["details"]["managed"] is True


async def test_l7_a_throttled_address_still_admits_valid_credentials(svc: RunningService) -> None:
    anon = await svc.client(None)
    codes = []
    for _ in range(6):
        reply = await anon.request("authenticate", {"token": "not-a-token-" + "x" * 20})
        codes.append(reply["error"]["code"])
    assert codes[-1] == -32002  # the address is throttled: bad tokens are answered -32002 ...
    with pytest.raises(InvalidStatus) as exc:
        await connect(svc.ws_url, additional_headers={"Authorization": "Bearer bad-token-" + "y" * 20})
    assert exc.value.response.status_code == 429
    me = await anon.call("authenticate", {"token": svc.token("operator")})  # ... a valid one still works
    assert me["role"] == "operator"
    await _served(svc)  # and a bearer token at the handshake from the same address


async def test_l9_webhooks_never_post_to_loopback_or_metadata(svc: RunningService) -> None:
    admin = await svc.client()
    port = svc.port  # something listens there: a refusal is the policy, not a closed port
    for url in (
        f"http://127.0.0.1:{port}/health",
        f"http://localhost:{port}/health",  # a name resolving to loopback
        "http://169.254.169.254/latest/meta-data/",
        f"http://[::ffff:127.0.0.1]:{port}/health",
    ):
        hook = await admin.call("add_webhook", {"url": url})
        result = await admin.call("test_webhook", {"id": hook["id"]})
        assert result["delivered"] is False and "not allowed" in (result["error"] or ""), (url, result)
        await admin.call("remove_webhook", {"id": hook["id"]})
    await _served(svc)

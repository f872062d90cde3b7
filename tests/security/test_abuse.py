"""Hostile clients against the real service (real MediaMTX, real WebSocket): denial of service and poison
data (security issue 18: H1, H2, H5, M2). One service for the module; every test also checks that an
authenticated bystander is still served.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from camera_service.core.bus import Event
from tests.harness.rpc_client import RpcCallError, RpcClient
from tests.harness.service import RunningService, run_service, service_config

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

ANON_BATCH = 10
MAX_UNAUTHENTICATED = 20


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def svc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningService]:
    overrides = {
        "security": {
            "anonymous_max_batch_size": ANON_BATCH,
            "max_unauthenticated_connections": MAX_UNAUTHENTICATED,
        },
        "server": {"max_connections": MAX_UNAUTHENTICATED + 30},
    }
    async with run_service(service_config(tmp_path_factory.mktemp("abuse"), overrides=overrides)) as running:
        admin = await running.client()
        await admin.call("add_camera", {"id": "cam1", "name": "cam1", "source": "publisher"})
        yield running


async def _bystander_served(svc: RunningService) -> None:
    """A fresh authenticated client gets answers (the protection did not cost everyone else)."""
    async with await svc.client("viewer") as other:
        assert await other.call("ping") == "pong"
        assert (await other.call("get_server_info"))["name"] == "camera-service"


def _batch(n: int, method: str = "rpc.discover") -> str:
    return json.dumps([{"jsonrpc": "2.0", "method": method, "id": i} for i in range(n)])


async def test_h1_anonymous_discover_batches_are_bounded(svc: RunningService) -> None:
    anon = await svc.client(None)
    big = await anon.send_raw(_batch(100), timeout=30)
    assert big["error"]["code"] == -32600
    assert big["error"]["data"] == {"max_batch_size": ANON_BATCH, "size": 100}
    # Within the bound: answered, with the same document the registry describes (pre-encoded bytes).
    replies = await anon.send_raw(_batch(ANON_BATCH), timeout=60)
    assert len(replies) == ANON_BATCH
    names = {m["name"] for m in replies[0]["result"]["methods"]}
    assert {"ping", "rpc.discover", "list_events"} <= names
    assert all(r["result"] == replies[0]["result"] for r in replies)
    # An authenticated client keeps the full batch size.
    admin = await svc.client()
    full = await admin.send_raw(_batch(50, "ping"), timeout=30)
    assert [r["result"] for r in full] == ["pong"] * 50
    # Hammering from several anonymous sockets (paced by their byte budget) never blocks a bystander.
    hammers = [await svc.client(None) for _ in range(3)]
    flood = [
        asyncio.create_task(h.send_raw(_batch(ANON_BATCH), timeout=120)) for h in hammers for _ in range(2)
    ]
    await _bystander_served(svc)
    for reply in await asyncio.gather(*flood):
        assert len(reply) == ANON_BATCH


async def test_h2_free_form_data_is_bounded_and_redaction_is_linear(svc: RunningService) -> None:
    admin = await svc.client()
    # The payload that froze every client for 6 s: one long alphanumeric run with a scheme-like start.
    long_run = "a" * 65_400
    before = await admin.call("list_audit", {"method": "create_event", "limit": 1})
    event = await admin.call(
        "create_event", {"type": "alarm.long", "camera": "cam1", "data": {"x": "rtsp://" + long_run}}
    )
    assert event["data"]["x"].endswith(long_run)
    after = await admin.call("list_audit", {"method": "create_event", "limit": 1})
    assert after["total"] == before["total"] + 1
    await _bystander_served(svc)
    # Beyond the bounds: refused at the edge, nothing stored.
    too_big = {"type": "alarm.big", "camera": "cam1", "data": {"x": "b" * 70_000}}
    with pytest.raises(RpcCallError) as exc:
        await admin.call("create_event", too_big)
    assert exc.value.code == -32602 and "64 KiB" in exc.value.message
    rule = {
        "name": "huge",
        "trigger": {"topics": ["alarm.*"], "conditions": {"data": {"k": "c" * 150_000}}},
        "actions": [{"type": "notify", "params": {}}],
    }
    with pytest.raises(RpcCallError) as exc:
        await admin.call("add_rule", rule)
    assert exc.value.code == -32602 and "16 KiB" in exc.value.message
    for bad in ({"notes": "n" * 10_001}, {"tags": ["t" * 65]}, {"tags": [f"t{i}" for i in range(51)]}):
        with pytest.raises(RpcCallError) as exc:
            await admin.call("update_event", {"id": event["id"], **bad})
        assert exc.value.code == -32602
    assert (await admin.call("list_events", {"type": "alarm.big"}))["events"] == []
    assert not [r for r in await admin.call("list_rules") if r["name"] == "huge"]
    await _bystander_served(svc)


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": True}
    for _ in range(depth):
        value = {"n": value}
    return value


async def test_h5_poison_events_never_break_listing_or_a_batch(svc: RunningService) -> None:
    admin = await svc.client()
    with pytest.raises(RpcCallError) as exc:
        await admin.call("create_event", {"type": "alarm.deep", "camera": "cam1", "data": _nested(300)})
    assert exc.value.code == -32602 and "deeper than 32" in exc.value.message
    assert (await admin.call("list_events", {"type": "alarm.deep"}))["events"] == []
    # Internal sources bypass the edge: a batch holding one event too deep to list and one too deep to
    # store at all still stores its good event, and every listing keeps answering.
    events = svc.app.services.events
    good = Event(type="alarm.good", camera="cam1", data={"ok": 1})
    listed_deep = Event(type="alarm.deep", camera="cam1", data=_nested(300))
    unstorable = Event(type="alarm.deep", camera="cam1", data=_nested(5_000))
    await asyncio.gather(
        events.publish(listed_deep, "test"), events.publish(unstorable, "test"), events.publish(good, "test")
    )
    page = await admin.call("list_events", {"type": "alarm.*", "limit": 1000})
    ids = {e["id"]: e for e in page["events"]}
    assert good.id in ids and unstorable.id not in ids
    assert "_unreadable" in ids[listed_deep.id]["data"]
    assert (await admin.call("list_audit", {"limit": 1000}))["total"] >= 1
    await _bystander_served(svc)


async def test_m2_unauthenticated_sockets_cannot_lock_out_authenticated_clients(svc: RunningService) -> None:
    idle = []
    refused: InvalidStatus | None = None
    try:
        for _ in range(MAX_UNAUTHENTICATED + 1):  # other tests' anonymous clients count too
            try:
                idle.append(await connect(svc.ws_url))
            except InvalidStatus as exc:  # the unauthenticated share is full: refused before the upgrade
                refused = exc
                break
        assert refused is not None and refused.response.status_code == 503
        assert 0 < len(idle) <= MAX_UNAUTHENTICATED
        # Authenticated at the handshake: still admitted, and served.
        await _bystander_served(svc)
        admin: RpcClient = await svc.client()
        assert await admin.call("ping") == "pong"
    finally:
        await asyncio.gather(*(ws.close() for ws in idle), return_exceptions=True)

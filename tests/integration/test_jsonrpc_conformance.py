"""JSON-RPC 2.0 conformance of the real server over a real WebSocket (spec: jsonrpc.org/specification)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.harness.rpc_client import RpcClient
from tests.harness.service import RunningService, run_service, service_config

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def service(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningService]:
    """One service for the module: these tests check message parsing and envelopes and change no state
    (one boot instead of 38)."""
    async with run_service(service_config(tmp_path_factory.mktemp("conformance"))) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def client(service: RunningService) -> AsyncIterator[RpcClient]:
    c = await service.client()
    yield c
    await c.close()


async def raw(client: RpcClient, payload: Any) -> Any:
    text = payload if isinstance(payload, (str, bytes)) else json.dumps(payload)
    return await client.send_raw(text)


async def test_ping_returns_pong(client: RpcClient) -> None:
    assert await raw(client, {"jsonrpc": "2.0", "method": "ping", "id": 1}) == {
        "jsonrpc": "2.0",
        "result": "pong",
        "id": 1,
    }


@pytest.mark.parametrize("req_id", [0, -7, 2**53 + 1, 2**70, 1.5, "abc", "", "ünïcödé", None])
async def test_ids_of_every_legal_type_are_echoed_exactly(client: RpcClient, req_id: Any) -> None:
    reply = await raw(client, {"jsonrpc": "2.0", "method": "ping", "id": req_id})
    assert reply["id"] == req_id and type(reply["id"]) is type(req_id)
    assert reply["result"] == "pong"


async def test_parse_error(client: RpcClient) -> None:
    reply = await raw(client, '{"jsonrpc": "2.0", "method": "ping", "id": 1')
    assert reply == {
        "jsonrpc": "2.0",
        "error": {"code": -32700, "message": reply["error"]["message"]},
        "id": None,
    }


@pytest.mark.parametrize(
    "payload, reason",
    [
        ({"jsonrpc": "1.0", "method": "ping", "id": 1}, "jsonrpc"),
        ({"jsonrpc": 2.0, "method": "ping", "id": 1}, "jsonrpc"),
        ({"method": "ping", "id": 1}, "jsonrpc"),
        ({"jsonrpc": "2.0", "method": 5, "id": 1}, "method"),
        ({"jsonrpc": "2.0", "id": 1}, "method"),
        ({"jsonrpc": "2.0", "method": "ping", "params": "x", "id": 1}, "params"),
        ({"jsonrpc": "2.0", "method": "ping", "params": 3, "id": 1}, "params"),
        ({"jsonrpc": "2.0", "method": "ping", "id": {"a": 1}}, "id"),
        ({"jsonrpc": "2.0", "method": "ping", "id": [1]}, "id"),
        ({"jsonrpc": "2.0", "method": "ping", "id": True}, "id"),
        ({"jsonrpc": "2.0", "method": "ping", "id": 1, "extra": 1}, "unknown member"),
    ],
)
async def test_invalid_requests(client: RpcClient, payload: dict[str, Any], reason: str) -> None:
    reply = await raw(client, payload)
    assert reply["error"]["code"] == -32600
    assert reason in reply["error"]["data"]["reason"]
    legal_id = (
        payload.get("id")
        if isinstance(payload.get("id"), (int, str)) and not isinstance(payload.get("id"), bool)
        else None
    )
    assert reply["id"] == legal_id


@pytest.mark.parametrize("payload", ["1", '"text"', "null", "true"])
async def test_non_object_request_is_invalid(client: RpcClient, payload: str) -> None:
    reply = await raw(client, payload)
    assert reply["jsonrpc"] == "2.0" and reply["id"] is None
    assert reply["error"]["code"] == -32600 and "not a JSON object" in reply["error"]["message"]


async def test_unknown_method(client: RpcClient) -> None:
    reply = await raw(client, {"jsonrpc": "2.0", "method": "no_such_method", "id": "x"})
    assert reply["error"]["code"] == -32601
    assert reply["error"]["data"] == {"method": "no_such_method"}
    assert reply["id"] == "x"


async def test_params_of_the_wrong_type_and_unknown_fields(client: RpcClient) -> None:
    reply = await raw(client, {"jsonrpc": "2.0", "method": "ping", "params": {"bogus": 1}, "id": 2})
    assert reply["error"]["code"] == -32602
    errors = reply["error"]["data"]["errors"]
    assert errors[0]["field"] == "bogus" and errors[0]["type"] == "extra_forbidden"
    reply = await raw(client, {"jsonrpc": "2.0", "method": "ping", "params": [1, 2], "id": 3})
    assert reply["error"]["code"] == -32602


async def test_positional_and_named_params_both_accepted(client: RpcClient) -> None:
    for params in ([], {}):
        reply = await raw(client, {"jsonrpc": "2.0", "method": "ping", "params": params, "id": 4})
        assert reply["result"] == "pong"


async def test_notifications_get_no_reply(client: RpcClient) -> None:
    await client.ws.send(json.dumps({"jsonrpc": "2.0", "method": "ping"}))
    await client.ws.send(json.dumps({"jsonrpc": "2.0", "method": "no_such_method"}))
    await client.ws.send(json.dumps({"jsonrpc": "2.0", "method": "ping", "params": {"bad": 1}}))
    await client.expect_no_reply(0.5)
    # The connection still works afterwards.
    assert await client.call("ping") == "pong"


async def test_empty_batch_is_one_invalid_request(client: RpcClient) -> None:
    reply = await raw(client, [])
    assert isinstance(reply, dict) and reply["error"]["code"] == -32600 and reply["id"] is None


async def test_mixed_batch_is_answered_per_member(client: RpcClient) -> None:
    batch = [
        {"jsonrpc": "2.0", "method": "ping", "id": 1},
        {"jsonrpc": "2.0", "method": "ping"},  # notification: no entry
        {"foo": "boo"},
        1,
        {"jsonrpc": "2.0", "method": "no_such_method", "id": "5"},
        {"jsonrpc": "2.0", "method": "ping", "params": {"x": 1}, "id": 6},
        {"jsonrpc": "2.0", "method": "get_server_info", "id": 7},
    ]
    reply = await raw(client, batch)
    assert isinstance(reply, list) and len(reply) == 6
    assert reply[0] == {"jsonrpc": "2.0", "result": "pong", "id": 1}
    assert reply[1]["error"]["code"] == -32600 and reply[1]["id"] is None
    assert reply[2]["error"]["code"] == -32600 and reply[2]["id"] is None
    assert reply[3]["error"]["code"] == -32601 and reply[3]["id"] == "5"
    assert reply[4]["error"]["code"] == -32602 and reply[4]["id"] == 6
    assert reply[5]["result"]["name"] == "camera-service" and reply[5]["id"] == 7


async def test_batch_of_only_notifications_gets_nothing(client: RpcClient) -> None:
    await client.ws.send(json.dumps([{"jsonrpc": "2.0", "method": "ping"}] * 3))
    await client.expect_no_reply(0.5)


async def test_batch_size_cap(client: RpcClient, service: RunningService) -> None:
    cap = service.settings.server.max_batch_size
    reply = await raw(client, [{"jsonrpc": "2.0", "method": "ping", "id": i} for i in range(cap + 1)])
    assert reply["error"]["code"] == -32600
    assert reply["error"]["data"] == {"max_batch_size": cap, "size": cap + 1}
    ok = await raw(client, [{"jsonrpc": "2.0", "method": "ping", "id": i} for i in range(cap)])
    assert len(ok) == cap and {r["id"] for r in ok} == set(range(cap))


async def test_internal_error_hides_exception_text(
    service: RunningService,
    client: RpcClient,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Make a real handler fail unexpectedly: component health raising inside get_status.
    def boom() -> Any:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(service.app.services.cameras, "health", boom)  # undone after this test
    reply = await raw(client, {"jsonrpc": "2.0", "method": "get_status", "id": 9})
    assert reply["error"]["code"] == -32603
    assert "secret internal detail" not in json.dumps(reply)
    request_id = reply["error"]["data"]["request_id"]
    logged = [r for r in caplog.records if getattr(r, "request_id", None) == request_id]
    assert logged and logged[0].exc_info is not None
    assert "secret internal detail" in str(logged[0].exc_info[1])


async def test_rpc_discover_lists_every_method(client: RpcClient, service: RunningService) -> None:
    doc = await client.call("rpc.discover")
    assert doc["openrpc"].startswith("1.")
    names = {m["name"] for m in doc["methods"]}
    assert names == {spec.name for spec in service.app.services.api}
    assert all("x-role" in m for m in doc["methods"])


async def test_message_size_limit_closes_1009(service: RunningService) -> None:
    limit = service.settings.server.max_message_bytes
    async with connect(service.ws_url, max_size=None) as ws:
        await ws.send(json.dumps({"jsonrpc": "2.0", "method": "ping", "id": 1, "pad": "x" * (limit + 10)}))
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 1009


async def test_one_clients_garbage_does_not_affect_another(service: RunningService) -> None:
    good = await service.client()
    bad = await service.client()
    for junk in ["{", "[[[[", "\x00\x01", json.dumps({"jsonrpc": "2.0"})]:
        await bad.ws.send(junk)
    assert await good.call("ping") == "pong"
    assert await bad.call("ping") == "pong"

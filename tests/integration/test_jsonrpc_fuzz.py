"""Fuzzing the real server: whatever arrives, the server answers sanely and other clients are unaffected."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import ClientConnection, connect

from tests.harness.service import RunningService, run_service, service_config

pytestmark = pytest.mark.integration

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)
request_like = st.fixed_dictionaries(
    {},
    optional={
        "jsonrpc": st.sampled_from(["2.0", "1.0", 2.0, None]),
        "method": st.sampled_from(["ping", "get_status", "rpc.discover", "nope", ""]) | st.text(max_size=20),
        "params": json_values,
        "id": json_values,
    },
)
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))


def check_reply(reply: Any) -> None:
    """A reply is a JSON-RPC response object or an array of them."""
    for item in reply if isinstance(reply, list) else [reply]:
        assert item["jsonrpc"] == "2.0"
        assert ("result" in item) != ("error" in item)
        if "error" in item:
            assert isinstance(item["error"]["code"], int) and isinstance(item["error"]["message"], str)
            assert item["error"]["code"] != -32603, item  # malformed input is never an internal error


@pytest.fixture(scope="module")
def threaded_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real service on its own event loop in a thread, so synchronous hypothesis tests can drive it."""
    loop = asyncio.new_event_loop()
    ready: concurrent.futures.Future[str] = concurrent.futures.Future()
    stop = asyncio.Event()

    async def main() -> None:
        try:
            async with run_service(service_config(tmp_path_factory.mktemp("fuzz"))) as svc:
                ready.set_result(svc.ws_url)
                await stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            raise

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    try:
        yield ready.result(timeout=60)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)


def exchange(ws: ClientConnection, text: str | bytes, timeout: float = 5.0) -> Any:
    ws.send(text)
    return json.loads(ws.recv(timeout=timeout))


def no_reply(ws: ClientConnection, within: float = 0.2) -> None:
    with pytest.raises(TimeoutError):
        ws.recv(timeout=within)


def _looks_valid_notification(m: dict[str, Any]) -> bool:
    return (
        m.get("jsonrpc") == "2.0"
        and isinstance(m.get("method"), str)
        and ("params" not in m or isinstance(m["params"], (dict, list)))
        and set(m) <= {"jsonrpc", "method", "params"}
    )


@FUZZ
@given(msg=request_like | st.lists(request_like, min_size=1, max_size=5))
def test_fuzz_request_objects(threaded_service: str, msg: Any) -> None:
    members = msg if isinstance(msg, list) else [msg]
    with connect(threaded_service) as ws, connect(threaded_service) as witness:
        if any("id" in m or not _looks_valid_notification(m) for m in members):
            check_reply(exchange(ws, json.dumps(msg)))
        else:
            ws.send(json.dumps(msg))
            no_reply(ws)
        assert exchange(witness, '{"jsonrpc":"2.0","method":"ping","id":1}')["result"] == "pong"


@FUZZ
@given(data=st.text(max_size=200) | st.binary(max_size=200))
def test_fuzz_random_text_and_bytes(threaded_service: str, data: str | bytes) -> None:
    try:
        json.loads(data)
        return  # valid JSON is covered by test_fuzz_request_objects
    except (ValueError, UnicodeDecodeError):
        pass
    with connect(threaded_service) as ws:
        reply = exchange(ws, data)
        assert reply["error"]["code"] == -32700 and reply["id"] is None
        assert exchange(ws, '{"jsonrpc":"2.0","method":"ping","id":1}')["result"] == "pong"


@pytest.mark.parametrize("depth", [100, 10_000, 200_000])
async def test_deep_nesting_is_refused_cleanly(service: RunningService, depth: int) -> None:
    client = await service.client()
    text = "[" * depth + "]" * depth
    if len(text) > service.settings.server.max_message_bytes:
        pytest.fail("depth too large for the message limit; adjust the test")
    reply = await client.send_raw(text)
    check_reply(reply)
    assert await client.call("ping") == "pong"


async def test_huge_strings_within_the_limit(service: RunningService) -> None:
    client = await service.client()
    big = "x" * (service.settings.server.max_message_bytes - 200)
    reply = await client.send_raw(json.dumps({"jsonrpc": "2.0", "method": big, "id": 1}))
    assert reply["error"]["code"] == -32601
    assert len(json.dumps(reply)) < 2 * len(big) + 500  # echoed once in data, never amplified
    reply = await client.send_raw(
        json.dumps({"jsonrpc": "2.0", "method": "ping", "params": {"p": big}, "id": 2})
    )
    assert reply["error"]["code"] == -32602
    assert big not in json.dumps(reply)  # input values are never echoed in validation errors

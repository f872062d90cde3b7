"""Timeouts, cancellation and connection loss against a tiny real WebSocket peer (no camera-service)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve

from camera_service.client import CallTimeout, CameraServiceClient, ConnectionLost, NotConnected


async def _peer(ws: ServerConnection) -> None:
    """Answers `echo` at once, never answers `slow`, drops the connection on `drop`."""
    async for raw in ws:
        msg = json.loads(raw)
        if msg["method"] == "echo":
            await ws.send(json.dumps({"jsonrpc": "2.0", "result": msg.get("params"), "id": msg["id"]}))
        elif msg["method"] == "drop":
            await ws.close()


@pytest.fixture(autouse=True)
def _no_env_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAMERA_SERVICE_TOKEN", raising=False)


@pytest.fixture
async def peer() -> AsyncIterator[Server]:
    async with serve(_peer, "127.0.0.1", 0) as server:
        yield server


def _url(server: Server) -> str:
    port = next(iter(server.sockets)).getsockname()[1]
    return f"ws://127.0.0.1:{port}/ws"


async def test_per_call_timeout_and_the_connection_stays_usable(peer: Server) -> None:
    async with CameraServiceClient(_url(peer), token="", reconnect=False) as cs:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(CallTimeout):
            await cs.call("slow", timeout=0.2)
        assert loop.time() - started < 2.0
        assert await cs.call("echo", {"a": 1}) == {"a": 1}
        assert cs.in_flight == 0  # the timed-out call left nothing behind


async def test_cancelled_call_leaves_nothing_pending(peer: Server) -> None:
    async with CameraServiceClient(_url(peer), token="", reconnect=False) as cs:
        task = asyncio.create_task(cs.call("slow"))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert cs.in_flight == 0
        assert await cs.call("echo", [1]) == [1]


async def test_call_in_flight_fails_when_the_connection_drops(peer: Server) -> None:
    async with CameraServiceClient(_url(peer), token="", reconnect=False) as cs:
        slow = asyncio.create_task(cs.call("slow", timeout=10))
        await asyncio.sleep(0.05)
        await cs.notify("drop")
        with pytest.raises(ConnectionLost):
            await slow
        with pytest.raises(NotConnected):
            await cs.call("echo", timeout=5)


async def test_unreachable_server_is_a_clear_error() -> None:
    from tests.harness.ports import free_port

    with pytest.raises(NotConnected, match="cannot connect"):
        async with CameraServiceClient(f"ws://127.0.0.1:{free_port()}/ws", token="", connect_timeout=2):
            pass

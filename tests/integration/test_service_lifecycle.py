"""The service supervises MediaMTX: notices its death, restarts it, reports it; limits on connections."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import time

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.harness.procs import wait_for
from tests.harness.rpc_client import RpcClient
from tests.harness.service import RunningService

pytestmark = pytest.mark.integration


async def ready_status(svc: RunningService) -> int:
    async with aiohttp.ClientSession() as s, s.get(svc.http_url + "/health/ready") as r:
        return r.status


async def test_get_status_reports_mediamtx_and_components(rpc: RpcClient) -> None:
    status = await rpc.call("get_status")
    mtx = status["components"]["mediamtx"]
    assert mtx["healthy"] is True and mtx["details"]["managed"] is True
    assert mtx["details"]["version"] == "v1.20.1" and mtx["details"]["restarts"] == 0
    assert status["components"]["database"]["healthy"] is True
    assert status["components"]["websocket_server"]["details"]["connections"] >= 1
    info = await rpc.call("get_server_info")
    assert info["mediamtx_version"] == "v1.20.1" and info["api_version"]


async def test_killed_mediamtx_is_noticed_restarted_and_reported(service: RunningService) -> None:
    rpc = await service.client()
    assert await ready_status(service) == 200
    pid = service.app.services.mediamtx.pid
    assert pid is not None
    killed_at = time.monotonic()
    os.kill(pid, signal.SIGKILL)

    # Noticed within 2 s: readiness goes false (or MediaMTX is already back with a new pid).
    async def noticed() -> bool:
        return service.app.services.mediamtx.restarts >= 1 or await ready_status(service) == 503

    await wait_for(noticed, timeout=2.0, interval=0.05)
    assert time.monotonic() - killed_at <= 2.5

    async def back() -> bool:
        status = await rpc.call("get_status")
        mtx = status["components"]["mediamtx"]["details"]
        return mtx["state"] == "up" and mtx["restarts"] >= 1 and mtx["pid"] != pid

    await wait_for(back, timeout=20.0, interval=0.2)
    assert await ready_status(service) == 200


async def test_readiness_false_while_mediamtx_down(service: RunningService) -> None:
    supervisor = service.app.services.mediamtx
    seen: list[int] = []

    async def watch() -> None:
        while True:
            seen.append(await ready_status(service))
            await asyncio.sleep(0.02)

    watcher = asyncio.create_task(watch())
    try:
        pid = supervisor.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        await wait_for(lambda: 503 in seen, timeout=3.0, interval=0.02)
        await wait_for(lambda: supervisor.is_up and supervisor.pid != pid and seen[-1] == 200, 20.0)
    finally:
        watcher.cancel()
    assert 503 in seen and seen[-1] == 200


async def test_health_endpoints_and_metrics(service: RunningService) -> None:
    rpc = await service.client()
    await rpc.call("ping")
    async with aiohttp.ClientSession() as s:
        async with s.get(service.http_url + "/health/live") as r:
            assert r.status == 200
        async with s.get(service.http_url + "/health") as r:
            body = await r.json()
            assert body["components"]["mediamtx"]["healthy"] is True
        async with s.get(service.http_url + "/metrics") as r:
            text = await r.text()
    assert 'camera_service_rpc_requests_total{method="ping",outcome="ok"}' in text
    assert "camera_service_rpc_latency_seconds_bucket" in text
    assert "camera_service_ws_connections 1.0" in text
    assert "camera_service_mediamtx_up 1.0" in text


async def test_excess_connections_are_closed_1013(service_factory: object) -> None:
    async with service_factory(overrides={"server": {"max_connections": 2}}) as svc:  # type: ignore[operator]
        a = await svc.client()
        b = await svc.client()
        async with connect(svc.ws_url) as third:
            with pytest.raises(ConnectionClosed):
                await third.recv()
            assert third.close_code == 1013
        assert await a.call("ping") == "pong" and await b.call("ping") == "pong"


async def test_slow_consumer_is_told_how_many_notifications_it_missed(service_factory: object) -> None:
    overrides = {"server": {"send_queue_size": 8, "slow_consumer_close_after": 1000}}
    async with service_factory(overrides=overrides) as svc:  # type: ignore[operator]
        client = await svc.client()
        await client.call("ping")
        conn = next(iter(svc.app.services.connections))
        outbox = conn.state["outbox"]
        # Stop reading, with autotuning off (setting SO_RCVBUF does that) so the kernel absorbs little.
        transport = client.ws.transport
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65_536)
        transport.pause_reading()
        blob = "x" * 262_144
        sent = 0
        for i in range(60):  # 15 MiB: far beyond the socket buffers, the transport and the 8-slot queue
            sent += conn.notify("test_event", {"n": i, "blob": blob})
            await asyncio.sleep(0.005)
        dropped = outbox.dropped_total
        assert dropped > 0 and sent + dropped == 60
        transport.resume_reading()
        # Every accepted notification arrives in order, and before the first one queued after the drops
        # the client is told how many it missed.
        received = [await client.next_notification(timeout=10) for _ in range(sent + 1)]
        told = [m for m in received if m["method"] == "notifications_dropped"]
        assert told == [{"jsonrpc": "2.0", "method": "notifications_dropped", "params": {"dropped": dropped}}]
        numbers = [m["params"]["n"] for m in received if m["method"] == "test_event"]
        assert numbers == sorted(numbers) and len(numbers) == sent
        assert await client.call("ping") == "pong"


async def test_stalled_consumer_is_closed_4008_past_the_limit(service_factory: object) -> None:
    overrides = {"server": {"send_queue_size": 4, "slow_consumer_close_after": 10}}
    async with service_factory(overrides=overrides) as svc:  # type: ignore[operator]
        stalled, other = await svc.client(), await svc.client()
        await stalled.call("ping")
        conn = next(iter(svc.app.services.connections))
        transport = stalled.ws.transport
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65_536)
        transport.pause_reading()
        for i in range(80):
            conn.notify("test_event", {"n": i, "blob": "x" * 262_144})
            await asyncio.sleep(0.005)
        rejected = svc.app.services.metrics.connections_rejected.labels("slow_consumer")
        await wait_for(lambda: rejected._value.get() >= 1, timeout=10)
        transport.resume_reading()
        await asyncio.wait_for(stalled.ws.wait_closed(), 20)
        assert stalled.ws.close_code == 4008
        assert await other.call("ping") == "pong"


async def test_ws_rejects_non_ws_path(service: RunningService) -> None:
    async with aiohttp.ClientSession() as s, s.get(service.http_url + "/nope") as r:
        assert r.status == 404
    # JSON error shape from the HTTP side stays JSON where it is ours
    async with aiohttp.ClientSession() as s, s.get(service.http_url + "/health/ready") as r:
        assert json.loads(await r.text())["ready"] is True

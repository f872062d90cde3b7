"""Fan-out at scale over real WebSockets: 1000 subscribed connections all get one event; a stalled client
(its transport paused, so it stops reading) is told (notifications_dropped) or closed (4008) while the
others are unaffected."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import pytest

from camera_service.core.bus import Event
from tests.harness.rpc_client import RpcClient

pytestmark = pytest.mark.integration

N = int(__import__("os").environ.get("EVENTS_FANOUT_N", "1000"))
OVERRIDES = {
    "server": {"send_queue_size": 32, "slow_consumer_close_after": 200},
    "security": {"max_connections_per_address": 5000},
    "events": {"persist_topics": ["broadcast.*"]},  # the flood below is not worth storing
}
BLOB = "x" * 262_144
# What buffering can absorb before the server's queue (32) fills: the client's receive buffer (pinned below),
# the server's send buffer (autotuned, at most 4 MiB here) and 64 KiB in the transport: <= ~18 frames of
# 256 KiB. So TOLD_FLOOD frames give between ~50 and ~68 drops (< the close limit of 200: told), and
# DROPPED_FLOOD frames give >= ~250 drops (closed with 4008), whatever the kernel does.
TOLD_FLOOD, DROPPED_FLOOD = 100, 300


def _stall(client: RpcClient) -> None:
    """Stop reading. SO_RCVBUF is pinned first: setting it turns off receive-buffer autotuning (which may
    grow to 32 MiB on loopback), so the amount the kernel absorbs is bounded and the test deterministic."""
    transport: Any = client.ws.transport
    transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65_536)
    transport.pause_reading()


def _resume(client: RpcClient) -> None:
    transport: Any = client.ws.transport
    transport.resume_reading()


async def test_thousand_subscribers_and_stalled_clients(service_factory: Any) -> None:
    async with service_factory(overrides=OVERRIDES) as svc:
        app = svc.app
        sem = asyncio.Semaphore(50)

        async def connect() -> RpcClient:
            async with sem:
                c = await svc.client("viewer")
                await c.call("subscribe_events", {"topics": ["broadcast.*"]})
                return c

        clients = await asyncio.gather(*(connect() for _ in range(N)))
        told, dropped = await svc.client("viewer"), await svc.client("viewer")
        for c, topic in ((told, "flood.told"), (dropped, "flood.dropped")):
            await c.call("subscribe_events", {"topics": [topic, "broadcast.*"]})
        assert len(app.services.events.subscriptions) == N + 2

        _stall(told)
        _stall(dropped)
        for topic, count in (("flood.told", TOLD_FLOOD), ("flood.dropped", DROPPED_FLOOD)):
            for i in range(count):
                # publish: test topics are not in the service's catalog (emit() checks that)
                app.services.bus.publish(Event(type=topic, data={"seq": i, "blob": BLOB}))
                if i % 10 == 0:
                    await asyncio.sleep(0.01)  # let the pipeline and writers run

        operator = await svc.client("operator")
        event = await operator.call("create_event", {"type": "broadcast.alert", "severity": "high"})

        async def got_it(c: RpcClient) -> bool:
            note = await c.next_notification(
                "event", timeout=20, where=lambda p: p["event"]["type"] == "broadcast.alert"
            )
            return bool(note["params"]["event"]["id"] == event["id"])

        results = await asyncio.gather(*(got_it(c) for c in clients))
        assert all(results) and len(results) == N

        # The never-reading client is closed with 4008 once it passed the slow-consumer limit ...
        deadline = time.monotonic() + 20
        rejected = app.services.metrics.connections_rejected.labels("slow_consumer")
        while rejected._value.get() < 1:
            assert time.monotonic() < deadline, "the stalled client was never closed"
            await asyncio.sleep(0.1)
        _resume(dropped)
        await asyncio.wait_for(dropped.ws.wait_closed(), 20)
        assert dropped.ws.close_code == 4008
        # ... and one that reads again is told how much it missed, before the next message.
        _resume(told)
        note = await told.next_notification("notifications_dropped", timeout=20)
        assert note["params"]["dropped"] > 0
        assert app.services.events.metrics.event_notifications.labels("dropped")._value.get() > 0
        # Everyone else is still connected and served.
        assert await clients[0].call("ping") == "pong"
        assert await clients[-1].call("ping") == "pong"
        for c in clients:
            await c.close()

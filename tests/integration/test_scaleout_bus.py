"""Shared events across real instances: three services share one private redis-server (and, where the
test says so, one private PostgreSQL); a client on any instance hears what was raised on another, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.fernet import Fernet

from tests.harness.cluster import run_cluster
from tests.harness.procs import wait_for
from tests.harness.redis import RedisServer
from tests.harness.rpc_client import RpcClient
from tests.harness.service import RunningService, run_service, service_config
from tests.harness.webhook_receiver import webhook_receiver

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def instances(
    tmp_path: Path, n: int, redis_url: str, database_url: str | None = None
) -> AsyncIterator[list[RunningService]]:
    key = Fernet.generate_key().decode()  # one deployment, one at-rest key (webhook secrets, credentials)
    async with contextlib.AsyncExitStack() as stack:
        out = []
        for i in range(n):
            storage: dict[str, Any] = {"redis_url": redis_url}
            if database_url is not None:
                storage["database_url"] = database_url
            overrides = {"storage": storage, "cameras": {"secret_key": key}}
            cfg = service_config(tmp_path / f"svc{i}", overrides=overrides)
            out.append(await stack.enter_async_context(run_service(cfg)))
        yield out


async def _events(client: RpcClient, deadline: float) -> AsyncIterator[dict[str, Any]]:
    """The `event` notifications that arrive before `deadline` (time.monotonic())."""
    while (left := deadline - time.monotonic()) > 0:
        try:
            msg = await asyncio.wait_for(client.notifications.get(), left)
        except TimeoutError:
            return
        if msg.get("method") == "event":
            yield msg["params"]["event"]


async def events_within(client: RpcClient, within: float) -> list[dict[str, Any]]:
    """The `event` notifications that arrive within `within` seconds."""
    return [event async for event in _events(client, time.monotonic() + within)]


async def events_until(client: RpcClient, event_id: str, timeout: float) -> list[dict[str, Any]]:
    """The `event` notifications up to and including the one of `event_id` (AssertionError after
    `timeout` seconds without it)."""
    got: list[dict[str, Any]] = []
    async for event in _events(client, time.monotonic() + timeout):
        got.append(event)
        if event["id"] == event_id:
            return got
    raise AssertionError(f"event {event_id} not pushed within {timeout} s; got {got}")


async def test_event_raised_on_c_reaches_clients_of_every_instance_once(
    tmp_path: Path, redis_url: str
) -> None:
    async with instances(tmp_path, 3, redis_url) as (a, b, c):
        watchers = [await svc.client("viewer") for svc in (a, b, c)]
        for w in watchers:
            await w.call("subscribe_events", {"topics": ["alarm.*"]})
        operator = await c.client("operator")

        raised = time.monotonic()
        alarm = {"type": "alarm.door", "severity": "high", "data": {"d": 1}}
        made = await operator.call("create_event", alarm)
        note = await watchers[0].next_notification(
            "event", timeout=10.0, where=lambda p: p["event"]["id"] == made["id"]
        )
        print(f"raised on C, heard on A after {1000 * (time.monotonic() - raised):.1f} ms")
        assert note["params"]["event"]["type"] == "alarm.door" and note["params"]["event"]["data"] == {"d": 1}

        # Every instance pushes it exactly once (C, where it was raised, too), however long we listen:
        # B and C within a generous deadline (the stream hop is not what is timed here), then 1.5 s more.
        others = [[], *[await events_until(w, made["id"], 20.0) for w in watchers[1:]]]
        others = [o + await events_within(w, 1.5) for o, w in zip(others, watchers, strict=True)]
        assert [len(o) for o in others] == [0, 1, 1]
        assert all(o[0]["id"] == made["id"] for o in others[1:])
        health = a.app.services.events.health().details["shared"]
        assert health["connected"] and health["received"] >= 1


async def test_scopes_apply_to_events_from_other_instances(tmp_path: Path, redis_url: str) -> None:
    async with instances(tmp_path, 2, redis_url) as (a, b):
        scoped = await a.client("viewer", scopes={"cameras": ["cam1"]})
        await scoped.call("subscribe_events", {"topics": ["alarm.*"]})
        admin = await b.client("admin")
        for cid in ("cam1", "cam2"):
            await admin.call("add_camera", {"id": cid, "name": cid, "source": "publisher"})
        operator = await b.client("operator")
        hidden = await operator.call("create_event", {"type": "alarm.x", "camera": "cam2"})
        seen = await operator.call("create_event", {"type": "alarm.x", "camera": "cam1"})
        note = await scoped.next_notification("event", timeout=10.0)
        assert note["params"]["event"]["id"] == seen["id"]  # cam2's (raised first) never came
        assert [e["id"] for e in await events_within(scoped, 1.0)] == []
        assert hidden["id"] != seen["id"]


async def test_status_pushes_of_another_instance_reach_this_instances_clients(
    tmp_path: Path, redis_url: str, test_camera_factory: Any
) -> None:
    """camera_status_update and recording_status_update travel the same stream. Each instance here has
    its own database, so the camera is registered on both; only B's MediaMTX gets its stream (B is the
    one that sees it come online and records it)."""
    async with instances(tmp_path, 2, redis_url) as (a, b):
        for svc in (a, b):
            admin = await svc.client()
            await admin.call("add_camera", {"id": "cam1", "name": "cam1", "source": "publisher"})
        on_a = await a.client("viewer", scopes={"cameras": ["cam1"]})
        hidden = await a.client("viewer", scopes={"cameras": ["other"]})
        await test_camera_factory(await b.publish_url("cam1"))
        note = await on_a.next_notification(
            "camera_status_update", timeout=20.0, where=lambda p: p["status"] == "CONNECTED"
        )
        assert note["params"]["device"] == "cam1"
        assert a.app.services.cameras.status("cam1").status.value != "ONLINE"  # it came from B

        operator = await b.client("operator")
        started = await operator.call("start_recording", {"camera": "cam1", "duration_s": 60})
        rec = await on_a.next_notification(
            "recording_status_update", timeout=10.0, where=lambda p: p["status"] == "STARTED"
        )
        assert rec["params"]["session_id"] == started["session_id"] and rec["params"]["camera"] == "cam1"
        await operator.call("stop_recording", {"camera": "cam1"})
        await on_a.next_notification(
            "recording_status_update", timeout=10.0, where=lambda p: p["status"] == "STOPPED"
        )
        # A viewer whose scope lacks cam1 heard none of it (same filters as local pushes).
        pushed = [
            m["method"]
            for m in await drain(hidden, 0.5)
            if m["method"] in ("camera_status_update", "recording_status_update")
        ]
        assert pushed == []


async def drain(client: RpcClient, within: float) -> list[dict[str, Any]]:
    got = []
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        try:
            got.append(await asyncio.wait_for(client.notifications.get(), left))
        except TimeoutError:
            break
    return got


async def test_webhooks_from_three_instances_on_one_postgresql_are_delivered_exactly_once(
    tmp_path: Path, redis_url: str, pg_url: str
) -> None:
    """Every instance runs an outbox worker on the shared database; each delivery reaches the receiver
    once. The webhook is added on A; B and C hear of it over the stream and queue deliveries too."""
    async with (
        webhook_receiver(delay_s=0.02) as receiver,
        instances(tmp_path, 3, redis_url, database_url=pg_url) as svcs,
    ):
        admin = await svcs[0].client()
        await admin.call("add_webhook", {"url": receiver.url, "topics": ["alarm.*"], "secret": "s" * 16})
        operators = [await svc.client("operator") for svc in svcs]

        async def known_everywhere() -> bool:
            return all(len(svc.app.services.events.webhooks.all()) == 1 for svc in svcs)

        await wait_for(known_everywhere, timeout=10)
        n = 60
        for i in range(n):
            await operators[i % 3].call("create_event", {"type": "alarm.tick", "data": {"i": i}})
        await receiver.wait_for(n, timeout=60)
        await asyncio.sleep(1.5)  # a second attempt by another worker would arrive now
        keys = Counter(r.headers["Idempotency-Key"] for r in receiver.requests)
        assert len(keys) == n and set(keys.values()) == {1}, "a delivery was sent twice"
        ticks = sorted(orjson.loads(r.body)["event"]["data"]["i"] for r in receiver.requests)
        assert ticks == list(range(n))


async def test_webhooks_raised_around_a_kill_are_all_delivered_once_per_delivery_id(
    tmp_path: Path, redis_url: str, pg_url: str
) -> None:
    """Three instances as processes (tests/harness/cluster.py); events are raised on all three while B
    is SIGKILLed. Every event whose create_event answered is delivered; each gets one delivery id; a
    delivery B was sending when it died may be sent again after its claim lease (at least once, same
    Idempotency-Key), never more often than B had deliveries in flight."""
    hooks = {"events": {"webhooks": {"timeout_s": 1.0, "poll_interval_s": 0.2, "concurrency": 4}}}
    async with (
        webhook_receiver(delay_s=0.05) as receiver,
        run_cluster(3, pg_url, tmp_path, hooks, redis_url=redis_url) as (a, b, c),
    ):
        admin = await a.client()
        await admin.call("add_webhook", {"url": receiver.url, "topics": ["alarm.*"], "secret": "s" * 16})
        clients = {n.instance_id: await n.client("operator") for n in (a, b, c)}
        raised: list[str] = []

        async def raise_on(node_id: str, i: int) -> None:
            made = await clients[node_id].call("create_event", {"type": "alarm.tick", "data": {"i": i}})
            raised.append(made["id"])

        for i in range(30):  # before the kill: all three raise
            await raise_on((a, b, c)[i % 3].instance_id, i)
        b.kill()
        await b.process.wait_exit()
        for i in range(30, 60):  # after: the survivors
            await raise_on((a, c)[i % 2].instance_id, i)

        def delivered_events() -> set[str]:
            return {orjson.loads(r.body)["event"]["id"] for r in receiver.accepted}

        await wait_for(lambda: delivered_events() >= set(raised), 60, 0.2, message="events not delivered")
        await asyncio.sleep(1.0)
        by_event: dict[str, set[str]] = {}
        for r in receiver.accepted:
            by_event.setdefault(orjson.loads(r.body)["event"]["id"], set()).add(r.headers["Idempotency-Key"])
        assert all(len(keys) == 1 for keys in by_event.values()), "an event was queued twice"
        repeats = Counter(r.headers["Idempotency-Key"] for r in receiver.accepted)
        again = sum(n - 1 for n in repeats.values())
        posts = len(receiver.accepted)
        print(f"\n{len(raised)} events, {posts} accepted POSTs, {again} repeated after the kill")
        assert again <= 4  # at most B's in-flight deliveries (concurrency 4) are sent a second time


async def test_rules_run_once_per_event_on_the_instance_that_raised_it(
    tmp_path: Path, redis_url: str, pg_url: str
) -> None:
    async with instances(tmp_path, 3, redis_url, database_url=pg_url) as svcs:
        admin = await svcs[0].client()
        rule = {"name": "door", "trigger": {"topics": ["alarm.door"]}, "actions": [{"type": "notify"}]}
        made_rule = await admin.call("add_rule", rule)

        def known_everywhere() -> bool:
            return all(svc.app.services.events.rules.get(made_rule["id"]) is not None for svc in svcs)

        await wait_for(known_everywhere, timeout=10)  # added on A, heard of on B and C over the stream
        watchers = [await svc.client("viewer") for svc in svcs]
        for w in watchers:
            await w.call("subscribe_events", {"topics": ["rule.*"]})
        alarm = await (await svcs[2].client("operator")).call("create_event", {"type": "alarm.door"})
        for w in watchers:  # every client hears the rule's one notification
            note = await w.next_notification("event", timeout=10.0)
            assert note["params"]["event"]["type"] == "rule.notification"
        assert [len(await events_within(w, 1.5)) for w in watchers] == [0, 0, 0]  # and no second one
        page = await admin.call("list_events", {"type": "rule.notification"})
        assert len(page["events"]) == 1
        runs = await admin.call("list_rule_runs", {"rule": made_rule["id"]})
        assert [r["event_id"] for r in runs] == [alarm["id"]]


async def test_dropped_redis_connections_lose_no_event_and_repeat_none(
    tmp_path: Path, redis_server: RedisServer, redis_url: str
) -> None:
    """Redis drops every client connection again and again while A raises events: A's appends are
    retried, B's reader resumes from the last id it read; B's client gets each event once, in order."""
    async with instances(tmp_path, 2, redis_url) as (a, b):
        watcher = await b.client("viewer")
        await watcher.call("subscribe_events", {"topics": ["alarm.*"]})
        operator = await a.client("operator")
        n, killed = 40, 0
        for i in range(n):
            await operator.call("create_event", {"type": "alarm.tick", "data": {"i": i}})
            if i % 5 == 4:
                killed += int(redis_server.command("CLIENT", "KILL", "TYPE", "normal")[1:])
        assert killed > 0
        got: list[int] = []
        while len(got) < n:
            note = await watcher.next_notification("event", timeout=20.0)
            got.append(note["params"]["event"]["data"]["i"])
        assert got == list(range(n))
        assert await events_within(watcher, 1.0) == []
        shared = b.app.services.events.health().details["shared"]
        print("\nB:", shared, "connections killed:", killed)  # redis-py retries some reads by itself

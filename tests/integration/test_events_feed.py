"""Event feed against the real service: subscriptions with filters, the event store, injected events."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.harness.rpc_client import RpcCallError, RpcClient
from tests.harness.service import RunningService

pytestmark = pytest.mark.integration


async def _drain(client: RpcClient, within: float) -> list[dict[str, Any]]:
    """Every notification that arrives within `within` seconds."""
    got = []
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        try:
            got.append(await asyncio.wait_for(client.notifications.get(), left))
        except TimeoutError:
            break
    return got


def _events(notes: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(subscription, event id) of every `event` notification."""
    return {
        (n["params"]["subscription"], n["params"]["event"]["id"]) for n in notes if n["method"] == "event"
    }


async def _until(
    client: RpcClient, expected: set[tuple[str, str]], timeout: float = 20.0
) -> list[dict[str, Any]]:
    """Every notification until all `expected` (subscription, event id) pairs arrived (a loaded machine
    may take longer than any fixed window), then whatever else arrives within 0.5 s."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while not expected <= _events(got):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"missing {expected - _events(got)} after {timeout} s; got {got}")
        try:
            got.append(await asyncio.wait_for(client.notifications.get(), left))
        except TimeoutError:
            continue
    return got + await _drain(client, 0.5)


async def test_subscribed_client_gets_only_its_cameras_offline_event(
    service: RunningService, test_camera_factory: Any
) -> None:
    admin = await service.client()
    for cid in ("cam1", "cam2"):
        await admin.call("add_camera", {"id": cid, "name": cid, "source": "publisher"})
    cam1 = await test_camera_factory(await service.publish_url("cam1"))
    cam2 = await test_camera_factory(await service.publish_url("cam2"))
    for cid in ("cam1", "cam2"):
        await _wait_status(admin, cid, "ONLINE")

    viewer = await service.client("viewer")
    sub = await viewer.call("subscribe_events", {"topics": ["camera.*"], "cameras": ["cam1"]})
    assert sub["subscription"].startswith("sub_")

    await cam2.stop()  # another camera going offline: nothing for this subscription
    await _wait_status(admin, "cam2", "OFFLINE")
    # SIGKILL: the publisher's connection closes at this instant, so what is timed is the service's
    # latency alone (a graceful stop would add ffmpeg's own shutdown, slow on a loaded machine).
    stopped = time.monotonic()
    cam1.kill()
    note = await viewer.next_notification(
        "event", timeout=20.0, where=lambda p: p["event"]["type"] == "camera.offline"
    )
    elapsed = time.monotonic() - stopped
    print(f"camera.offline event {elapsed:.3f} s after the publisher was killed")
    assert elapsed < 2.0, elapsed  # the bar; the timeout above only bounds a failure
    assert note["params"]["subscription"] == sub["subscription"]
    assert note["params"]["event"]["camera"] == "cam1"
    rest = await _drain(viewer, 0.5)
    assert all(n["params"]["event"]["camera"] == "cam1" for n in rest if n["method"] == "event")

    # The same event is in the store.
    page = await viewer.call("list_events", {"type": "camera.offline", "camera": "cam1"})
    assert page["events"] and page["events"][0]["id"] == note["params"]["event"]["id"]


async def _wait_status(client: RpcClient, cid: str, status: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cam = await client.call("get_camera", {"camera": cid})
        if cam["status"] == status:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{cid} never became {status}")


async def test_filters_store_and_operator_updates(service: RunningService) -> None:
    operator = await service.client("operator")
    viewer = await service.client("viewer")
    s_high = await viewer.call("subscribe_events", {"topics": ["alarm.*"], "min_severity": "high"})
    s_all = await viewer.call("subscribe_events", {"topics": ["*"]})

    low = await operator.call("create_event", {"type": "alarm.door", "severity": "low", "data": {"door": 3}})
    high = await operator.call("create_event", {"type": "alarm.glass", "severity": "critical"})
    other = await operator.call("create_event", {"type": "access.denied", "severity": "high"})
    expected = {(s_high["subscription"], high["id"])} | {
        (s_all["subscription"], e["id"]) for e in (low, high, other)
    }
    seen = _events(await _until(viewer, expected))
    assert (s_high["subscription"], high["id"]) in seen
    assert (s_high["subscription"], low["id"]) not in seen
    assert (s_high["subscription"], other["id"]) not in seen
    assert {(s_all["subscription"], e["id"]) for e in (low, high, other)} <= seen

    # Store: filters, cursor paging, status changes.
    page = await viewer.call("list_events", {"type": "alarm.*", "limit": 1})
    assert [e["id"] for e in page["events"]] == [high["id"]]
    page2 = await viewer.call("list_events", {"type": "alarm.*", "limit": 1, "cursor": page["next_cursor"]})
    assert [e["id"] for e in page2["events"]] == [low["id"]]
    assert page2["next_cursor"] is None

    acked = await operator.call("acknowledge_event", {"id": high["id"], "notes": "guard sent"})
    assert acked["status"] == "acknowledged" and acked["acknowledged_by"] == "test-operator"
    assert acked["notes"] == "guard sent"
    fp = await operator.call(
        "update_event", {"id": low["id"], "status": "false_positive", "tags": ["wind", "door"]}
    )
    assert fp["status"] == "false_positive" and fp["tags"] == ["door", "wind"]
    listed = await viewer.call("list_events", {"status": "false_positive"})
    assert [e["id"] for e in listed["events"]] == [low["id"]]
    got = await viewer.call("get_event", {"id": low["id"]})
    assert got["data"] == {"door": 3}

    # Bad input changes nothing and says what is wrong.
    with pytest.raises(RpcCallError) as err:
        await operator.call("update_event", {"id": low["id"], "status": "bogus"})
    assert err.value.code == -32602
    with pytest.raises(RpcCallError) as err:
        await operator.call("get_event", {"id": "nope"})
    assert err.value.code == -32004 and err.value.data["id"] == "nope"
    with pytest.raises(RpcCallError) as err:
        await viewer.call("create_event", {"type": "alarm.door"})
    assert err.value.code == -32003  # viewers cannot inject events
    with pytest.raises(RpcCallError) as err:
        await operator.call("list_events", {"cursor": "garbage!"})
    assert err.value.code == -32602

    # Unsubscribe: nothing more arrives for that subscription; unknown ids are NOT_FOUND.
    await viewer.call("unsubscribe_events", {"subscription": s_all["subscription"]})
    await _drain(viewer, 0.3)  # whatever was queued before unsubscribing
    smoke = await operator.call("create_event", {"type": "alarm.smoke", "severity": "critical"})
    notes = await _until(viewer, {(s_high["subscription"], smoke["id"])})
    assert {n["params"]["subscription"] for n in notes if n["method"] == "event"} == {s_high["subscription"]}
    with pytest.raises(RpcCallError) as err:
        await viewer.call("unsubscribe_events", {"subscription": s_all["subscription"]})
    assert err.value.code == -32004


async def test_subscriptions_end_with_the_connection(service: RunningService) -> None:
    events = service.app.services.events
    client = await service.client("viewer")
    await client.call("subscribe_events", {"topics": ["*"]})
    await client.call("subscribe_events", {"topics": ["camera.*"]})
    assert len(events.subscriptions) == 2
    await client.close()
    deadline = time.monotonic() + 5
    while len(events.subscriptions) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert len(events.subscriptions) == 0


async def test_camera_scoped_identity_sees_only_its_cameras(service: RunningService) -> None:
    admin = await service.client()
    for cid in ("cam1", "cam2"):
        await admin.call("add_camera", {"id": cid, "name": cid, "source": "publisher"})
    scoped = await service.client("viewer", scopes={"cameras": ["cam1"]})
    sub = await scoped.call("subscribe_events", {"topics": ["alarm.*"]})
    e1 = await admin.call("create_event", {"type": "alarm.one", "camera": "cam1"})
    e2 = await admin.call("create_event", {"type": "alarm.two", "camera": "cam2"})
    # e2 is published after e1: once e1 is here, e2 would follow within the extra 0.5 s if it leaked.
    notes = await _until(scoped, {(sub["subscription"], e1["id"])})
    assert [n["params"]["event"]["id"] for n in notes if n["method"] == "event"] == [e1["id"]]
    listed = await scoped.call("list_events", {"type": "alarm.*"})
    assert [e["id"] for e in listed["events"]] == [e1["id"]]
    with pytest.raises(RpcCallError) as err:
        await scoped.call("get_event", {"id": e2["id"]})
    assert err.value.code == -32004
    with pytest.raises(RpcCallError) as err:
        await admin.call("create_event", {"type": "alarm.x", "camera": "nope"})
    assert err.value.code == -32004

"""Rules against the real service: "on camera.offline for cam1 -> webhook + snapshot of cam2", once per
cooldown, every run recorded; config-file rules are read-only; bad rules are refused."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from tests.harness.clock import JumpClock
from tests.harness.rpc_client import RpcCallError, RpcClient
from tests.harness.webhook_receiver import webhook_receiver

pytestmark = pytest.mark.integration

# The cooldown's end is a jump of the service's clock (never waited for), so it can be long: the
# "second offline within the cooldown" step (restart a publisher, wait ONLINE, stop it, wait OFFLINE)
# takes several real seconds on a loaded machine, and it must finish inside the cooldown.
COOLDOWN_S = 60.0
CONFIG_RULE = {
    "id": "cfg-alarm",
    "name": "from config",
    "trigger": {"topics": ["alarm.*"]},
    "actions": [{"type": "notify", "params": {"severity": "critical", "message": "alarm!"}}],
}
OVERRIDES = {"events": {"webhooks": {"poll_interval_s": 0.05}, "rules": [CONFIG_RULE]}}


async def _status(client: RpcClient, cid: str, status: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while (await client.call("get_camera", {"camera": cid}))["status"] != status:
        assert time.monotonic() < deadline, f"{cid} never became {status}"
        await asyncio.sleep(0.1)


async def _runs(client: RpcClient, rule: str) -> list[dict[str, Any]]:
    return await client.call("list_rule_runs", {"rule": rule})  # type: ignore[no-any-return]


async def _wait_runs(client: RpcClient, rule: str, n: int, timeout: float = 30.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while len(runs := await _runs(client, rule)) < n:
        assert time.monotonic() < deadline, f"rule {rule}: {len(runs)} of {n} runs"
        await asyncio.sleep(0.1)
    return runs


async def test_offline_rule_webhook_and_snapshot_once_per_cooldown(
    service_factory: Any, test_camera_factory: Any
) -> None:
    clock = JumpClock()  # the cooldown's end is a jump of the service's clock, not a real wait
    async with webhook_receiver() as rx, service_factory(overrides=OVERRIDES, clock=clock) as svc:
        admin = await svc.client()
        for cid in ("cam1", "cam2"):
            await admin.call("add_camera", {"id": cid, "name": cid, "source": "publisher"})
        cam1 = await test_camera_factory(await svc.publish_url("cam1"))
        await test_camera_factory(await svc.publish_url("cam2"))
        await _status(admin, "cam1", "ONLINE")
        await _status(admin, "cam2", "ONLINE")
        # The webhook's own filter matches nothing: deliveries come from the rule action only.
        hook = await admin.call("add_webhook", {"url": rx.url, "topics": ["never.sent"]})
        operator = await svc.client("operator")
        rule = await operator.call(
            "add_rule",
            {
                "name": "cam1 down",
                "trigger": {"topics": ["camera.offline"], "cameras": ["cam1"], "cooldown_s": COOLDOWN_S},
                "actions": [
                    {"type": "webhook", "params": {"id": hook["id"]}},
                    {"type": "snapshot", "params": {"camera": "cam2"}},
                ],
            },
        )
        assert rule["source"] == "api" and rule["id"].startswith("rule_")

        await cam1.stop()
        first_at = clock.monotonic()
        runs = await _wait_runs(admin, rule["id"], 1)
        fired_by = clock.monotonic()  # the engine's cooldown started before this
        run = runs[0]
        assert run["outcome"] == "ok", run
        assert run["camera"] == "cam1" and run["event_type"] == "camera.offline"
        by_type = {a["type"]: a for a in run["actions"]}
        assert by_type["snapshot"]["ok"] and by_type["snapshot"]["result"]["camera"] == "cam2"
        snap_id = by_type["snapshot"]["result"]["snapshot"]
        await rx.wait_for(1)
        body = json.loads(rx.requests[0].body)
        assert body["event"]["id"] == run["event_id"] and body["event"]["camera"] == "cam1"

        # A second offline within the cooldown: no run, no delivery.
        await cam1.start()
        await _status(admin, "cam1", "ONLINE")
        await cam1.stop()
        await _status(admin, "cam1", "OFFLINE")
        second_seen = clock.monotonic()
        assert second_seen - first_at < COOLDOWN_S  # otherwise this step proves nothing
        await asyncio.sleep(1.0)
        assert len(await _runs(admin, rule["id"])) == 1
        assert len(rx.requests) == 1
        offline_events = await admin.call("list_events", {"type": "camera.offline", "camera": "cam1"})
        assert len(offline_events["events"]) == 2  # both events happened; the rule ran once

        # After the cooldown it fires again.
        clock.jump(max(0.0, COOLDOWN_S - (clock.monotonic() - fired_by)) + 0.2)
        await cam1.start()
        await _status(admin, "cam1", "ONLINE")
        await cam1.stop()
        runs = await _wait_runs(admin, rule["id"], 2)
        assert runs[0]["outcome"] == "ok" and runs[0]["id"] > runs[1]["id"]
        await rx.wait_for(2)
        assert snap_id != {a["type"]: a for a in runs[0]["actions"]}["snapshot"]["result"]["snapshot"]


async def test_rule_management_and_config_rules(service_factory: Any) -> None:
    async with service_factory(overrides=OVERRIDES) as svc:
        admin = await svc.client()
        rules = await admin.call("list_rules")
        assert [(r["id"], r["source"]) for r in rules] == [("cfg-alarm", "config")]
        with pytest.raises(RpcCallError) as err:
            await admin.call("update_rule", {"id": "cfg-alarm", "enabled": False})
        assert err.value.code == -32013
        with pytest.raises(RpcCallError) as err:
            await admin.call("remove_rule", {"id": "cfg-alarm"})
        assert err.value.code == -32013

        # The config rule runs: notify emits rule.notification to subscribers.
        viewer = await svc.client("viewer")
        await viewer.call("subscribe_events", {"topics": ["rule.*"]})
        ev = await admin.call("create_event", {"type": "alarm.panel", "severity": "low"})
        note = await viewer.next_notification("event", timeout=20)
        assert note["params"]["event"]["type"] == "rule.notification"
        assert note["params"]["event"]["data"]["event_id"] == ev["id"]
        assert note["params"]["event"]["severity"] == "critical"
        runs = await _wait_runs(admin, "cfg-alarm", 1)
        assert runs[0]["outcome"] == "ok"

        # Bad rules are refused with the field named, and nothing is stored.
        bad = [
            (
                {"name": "x", "trigger": {"topics": ["a.b"]}, "actions": [{"type": "teleport"}]},
                "actions.0.type",
            ),
            (
                {"name": "x", "trigger": {"topics": ["a.b"]}, "actions": [{"type": "record", "params": {}}]},
                "actions.0.params",
            ),
            (
                {
                    "name": "x",
                    "trigger": {"topics": ["a.b"], "schedule": {"start": "25:00"}},
                    "actions": [{"type": "notify"}],
                },
                "trigger.schedule.start",
            ),
        ]
        for params, field in bad:
            with pytest.raises(RpcCallError) as err:
                await admin.call("add_rule", params)
            assert err.value.code == -32602
            assert any(e["field"] == field for e in err.value.data["errors"]), err.value.data
        assert len(await admin.call("list_rules")) == 1

        # Data conditions: label and minimum confidence; update and remove.
        rule = await admin.call(
            "add_rule",
            {
                "name": "person",
                "trigger": {
                    "topics": ["detection.*"],
                    "conditions": {"labels": ["person"], "min_confidence": 0.6},
                },
                "actions": [{"type": "notify", "params": {"severity": "high"}}],
            },
        )
        await admin.call(
            "create_event", {"type": "detection.object", "data": {"label": "car", "confidence": 0.9}}
        )
        await admin.call(
            "create_event", {"type": "detection.object", "data": {"label": "person", "confidence": 0.5}}
        )
        hit = await admin.call(
            "create_event", {"type": "detection.object", "data": {"label": "person", "confidence": 0.8}}
        )
        runs = await _wait_runs(admin, rule["id"], 1)
        await asyncio.sleep(0.3)
        runs = await _runs(admin, rule["id"])
        assert [r["event_id"] for r in runs] == [hit["id"]]
        updated = await admin.call("update_rule", {"id": rule["id"], "enabled": False})
        assert updated["enabled"] is False and updated["trigger"]["conditions"]["labels"] == ["person"]
        await admin.call(
            "create_event", {"type": "detection.object", "data": {"label": "person", "confidence": 1}}
        )
        await asyncio.sleep(0.3)
        assert len(await _runs(admin, rule["id"])) == 1
        assert (await admin.call("remove_rule", {"id": rule["id"]}))["removed"] is True
        types = {t["type"] for t in await admin.call("list_rule_action_types")}
        assert {"clip", "snapshot", "webhook", "record", "notify"} <= types

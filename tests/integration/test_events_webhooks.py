"""Webhooks against the real service and a real local HTTP receiver: retries with growing gaps, valid
signatures (checked with the snippet from docs/webhooks.md), no retry on 4xx, dead letters and redrive,
Retry-After, and delivery across a service restart while the receiver is down."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.harness.ports import free_ports
from tests.harness.rpc_client import RpcCallError, RpcClient
from tests.harness.webhook_receiver import WebhookReceiver, webhook_receiver

pytestmark = pytest.mark.integration

DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
SECRET = "s3cret-for-tests-0123456789"
FAST = {
    "events": {"webhooks": {"backoff_base_s": 0.2, "jitter": 0.25, "poll_interval_s": 0.05, "timeout_s": 2.0}}
}
# Growing gaps, measured at the receiver: a 0.5 s base keeps consecutive backoffs (0.375-0.5, 0.75-1, 1.5-2 s)
# at least 0.25 s apart, more than the loop stalls and poll steps of a loaded machine add to one gap.
RETRIES = {
    "events": {"webhooks": {"backoff_base_s": 0.5, "jitter": 0.25, "poll_interval_s": 0.05, "timeout_s": 2.0}}
}


def doc_verifier() -> Callable[..., bool]:
    """The verification snippet exactly as docs/webhooks.md shows it."""
    m = re.search(r"### Verifying \(Python\)\s+```python\n(.*?)```", DOCS.read_text(), re.S)
    assert m, "docs/webhooks.md lost its Python verification snippet"
    namespace: dict[str, Any] = {}
    exec(m.group(1), namespace)  # our own documentation
    return namespace["verify_camera_service_webhook"]  # type: ignore[no-any-return]


async def _deliveries(client: RpcClient, webhook: str) -> list[dict[str, Any]]:
    return await client.call("list_webhook_deliveries", {"webhook": webhook})  # type: ignore[no-any-return]


async def _wait_delivery(
    client: RpcClient, webhook: str, status: str, timeout: float = 10.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = await _deliveries(client, webhook)
        if rows and rows[0]["status"] == status:
            return rows[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"delivery of {webhook} never became {status}: {await _deliveries(client, webhook)}")


async def test_retries_with_growing_gaps_then_one_signed_delivery(service_factory: Any) -> None:
    verify = doc_verifier()
    async with webhook_receiver(script=[500, 500, 503, 200]) as rx, service_factory(overrides=RETRIES) as svc:
        admin = await svc.client()
        hook = await admin.call("add_webhook", {"url": rx.url, "topics": ["alarm.*"], "secret": SECRET})
        assert hook["has_secret"] is True and "secret" not in hook
        listed = await admin.call("list_webhooks")
        assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]
        assert SECRET not in json.dumps(listed)

        event = await admin.call(
            "create_event", {"type": "alarm.intrusion", "severity": "high", "data": {"zone": 4}}
        )
        await admin.call("create_event", {"type": "other.thing"})  # not a matching topic: never sent
        requests = await rx.wait_for(4, timeout=30)
        row = await _wait_delivery(admin, hook["id"], "delivered")
        await asyncio.sleep(0.8)  # anything more would arrive within this
        assert [r.answered for r in rx.requests] == [500, 500, 503, 200]
        assert len(rx.accepted) == 1
        assert row["attempts"] == 4 and row["last_status"] == 200

        gaps = [b.at - a.at for a, b in itertools.pairwise(requests)]
        assert gaps[0] < gaps[1] < gaps[2], gaps
        assert gaps[0] >= 0.37  # base 0.5 s with 25 % jitter

        keys = {r.headers["Idempotency-Key"] for r in requests}
        assert keys == {row["id"]}  # one key across all retries
        for r in requests:
            assert verify(SECRET, r.headers, r.body)
            assert not verify("wrong-secret", r.headers, r.body)
            assert not verify(SECRET, r.headers, r.body + b" ")
            body = json.loads(r.body)
            assert body["event"]["id"] == event["id"] == r.headers["X-Camera-Service-Event-Id"]
            assert body["event"]["data"] == {"zone": 4}
            assert r.headers["X-Camera-Service-Event"] == "alarm.intrusion"

        metrics = (await svc.http_get("/metrics"))[1]
        text = metrics if isinstance(metrics, str) else str(metrics)
        assert "camera_service_webhook_deliveries" in text


async def test_no_retry_on_4xx_dead_letter_redrive_and_retry_after(service_factory: Any) -> None:
    async with webhook_receiver(script=[404]) as rx, service_factory(overrides=FAST) as svc:
        admin = await svc.client()
        hook = await admin.call("add_webhook", {"url": rx.url, "topics": ["*"], "cameras": None})
        await admin.call("create_event", {"type": "alarm.door"})
        await rx.wait_for(1)
        dead = await _wait_delivery(admin, hook["id"], "dead")
        await asyncio.sleep(0.6)
        assert len(rx.requests) == 1  # 404: never retried
        assert dead["attempts"] == 1 and dead["last_status"] == 404 and "not retried" in dead["last_error"]
        assert [d["id"] for d in await admin.call("list_webhook_deliveries", {"status": "dead"})] == [
            dead["id"]
        ]

        redriven = await admin.call("redrive_webhook_delivery", {"id": dead["id"]})
        assert redriven["status"] in ("pending", "delivered")
        await rx.wait_for(2)
        again = await _wait_delivery(admin, hook["id"], "delivered")
        assert again["id"] == dead["id"] and rx.requests[1].headers["Idempotency-Key"] == dead["id"]
        with pytest.raises(RpcCallError) as err:
            await admin.call("redrive_webhook_delivery", {"id": dead["id"]})
        assert err.value.code == -32013  # delivered: nothing to redrive

        # 429 with Retry-After: 1 -> the next attempt waits at least a second (backoff alone: 0.2 s).
        rx.script[:] = [(429, {"Retry-After": "1"}), 200]
        await admin.call("create_event", {"type": "alarm.window"})
        reqs = await rx.wait_for(4)
        assert reqs[3].at - reqs[2].at >= 0.95

        # test_webhook: one direct attempt, reported.
        result = await admin.call("test_webhook", {"id": hook["id"]})
        assert result["delivered"] is True and result["status"] == 200
        assert rx.requests[-1].headers["X-Camera-Service-Event"] == "webhook.test"

        # Validation: bad schemes and credentials in URLs are refused; nothing is stored.
        for url in ("ftp://127.0.0.1/x", "http://user:pw@127.0.0.1/hook", "not a url", "http:///nohost"):
            with pytest.raises(RpcCallError) as err:
                await admin.call("add_webhook", {"url": url})
            assert err.value.code == -32602
            assert "pw" not in json.dumps(err.value.data)
        assert len(await admin.call("list_webhooks")) == 1
        viewer = await svc.client("viewer")
        with pytest.raises(RpcCallError) as err:
            await viewer.call("list_webhooks")
        assert err.value.code == -32003

        updated = await admin.call("update_webhook", {"id": hook["id"], "secret": SECRET, "enabled": False})
        assert updated["has_secret"] is True and updated["enabled"] is False
        removed = await admin.call("remove_webhook", {"id": hook["id"]})
        assert removed["removed"] is True
        assert await admin.call("list_webhooks") == []


async def test_receiver_down_across_a_service_restart_is_delivered_after(
    service_factory: Any, tmp_path: Path
) -> None:
    verify = doc_verifier()
    port = free_ports(1)[0]
    rx = WebhookReceiver(port=port)  # not started: connection refused
    data_dir = tmp_path / "durable"
    async with service_factory(overrides=FAST, data_dir=data_dir) as svc:
        admin = await svc.client()
        hook = await admin.call("add_webhook", {"url": rx.url, "topics": ["alarm.*"], "secret": SECRET})
        event = await admin.call("create_event", {"type": "alarm.fire", "severity": "critical"})
        deadline = time.monotonic() + 10
        while True:
            rows = await _deliveries(admin, hook["id"])
            if rows and rows[0]["attempts"] >= 2:
                break
            assert time.monotonic() < deadline, rows
            await asyncio.sleep(0.05)
        assert rows[0]["status"] == "pending" and rows[0]["last_status"] is None
        assert "connection" in rows[0]["last_error"]
        delivery_id = rows[0]["id"]
    await rx.start()
    try:
        async with service_factory(overrides=FAST, data_dir=data_dir) as svc2:
            admin = await svc2.client()
            await rx.wait_for(1, timeout=15)
            row = await _wait_delivery(admin, hook["id"], "delivered", timeout=15)
            assert row["id"] == delivery_id
            assert len(rx.accepted) == 1
            got = rx.requests[0]
            assert got.headers["Idempotency-Key"] == delivery_id
            assert json.loads(got.body)["event"]["id"] == event["id"]
            assert verify(SECRET, got.headers, got.body)
    finally:
        await rx.stop()

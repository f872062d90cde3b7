"""Unit tests of the security limits (issue 18): linear-time redaction, JSON bounds, anonymous budgets."""

from __future__ import annotations

import asyncio
import json

import pytest

from camera_service.auth.abuse import AnonymousLimits
from camera_service.auth.audit import REDACTED, redact_text
from camera_service.auth.config import SecurityConfig
from camera_service.auth.identity import Identity
from camera_service.auth.roles import Role
from camera_service.core.jsonlimits import UNREADABLE, check_json, load_stored
from camera_service.rpc.context import ConnectionContext


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rtsp://admin:hunter2@10.0.0.5/stream", f"rtsp://admin:{REDACTED}@10.0.0.5/stream"),
        ("see x-rtsp+tls://u:p@h/", f"see x-rtsp+tls://u:{REDACTED}@h/"),
        ("GET /a?token=abc&x=1", f"GET /a?token={REDACTED}&x=1"),
        ("Bearer eyJhbGciOi.eyJzdWIi.sig", f"Bearer {REDACTED}"),
        ("key csk_0123456789ab_" + "k" * 24, f"key {REDACTED}"),
        ("nothing secret here", "nothing secret here"),
    ],
)
def test_redaction_still_redacts(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "hostile",
    [
        "a" * 100_000,  # the run that made the scheme pattern backtrack at every position
        "rtsp://" + "a" * 100_000,
        "eyJ-" * 25_000,
        "csk_" * 25_000,
        "a://" * 25_000,
    ],
)
def test_redaction_of_hostile_runs_leaves_them_intact(hostile: str) -> None:
    # Correctness on the inputs that were quadratic; their speed is measured in bench/abuse.py.
    assert redact_text(hostile) == hostile


def _nested(depth: int) -> dict[str, object]:
    value: dict[str, object] = {}
    for _ in range(depth):
        value = {"n": value}
    return value


def test_check_json_bounds_depth_and_size() -> None:
    assert check_json(_nested(31)) == _nested(31)
    with pytest.raises(ValueError, match="deeper than 32"):
        check_json(_nested(33))
    with pytest.raises(ValueError, match="deeper than 32"):
        check_json(_nested(100_000))  # no recursion: a huge depth is refused, not a RecursionError
    with pytest.raises(ValueError, match="64 KiB"):
        check_json({"x": "a" * 70_000})
    with pytest.raises(ValueError, match="16 KiB"):
        check_json({"x": ["a" * 100] * 200}, max_bytes=16_384)


def test_load_stored_marks_what_cannot_be_answered() -> None:
    assert load_stored('{"a": 1}') == {"a": 1}
    assert UNREADABLE in load_stored(json.dumps(_nested(300)))
    assert UNREADABLE in load_stored("{not json")


def test_anonymous_limits_apply_only_before_authentication() -> None:
    cfg = SecurityConfig(anonymous_max_batch_size=5, anonymous_send_bytes_per_s=2000)
    now = [0.0]
    limits = AnonymousLimits(cfg, max_batch_size=100, clock=lambda: now[0])
    anon = ConnectionContext(remote="1.2.3.4")
    admin = ConnectionContext(remote="1.2.3.4", identity=Identity("a", Role.ADMIN))
    assert limits.batch_limit(anon) == 5
    assert limits.batch_limit(admin) == 100
    assert limits.send_delay(admin, 10**9) == 0.0
    assert limits.send_delay(anon, 4000) == 0.0  # the burst (2 s worth)
    assert limits.send_delay(anon, 2000) == pytest.approx(1.0)  # then paid at 2000 B/s
    now[0] += 10.0
    assert limits.send_delay(anon, 1000) == 0.0  # refilled


def test_large_anonymous_replies_share_one_budget_whatever_the_number_of_sockets() -> None:
    cfg = SecurityConfig(anonymous_send_bytes_per_s=1 << 20, anonymous_large_reply_bytes_per_s=1 << 17)
    now = [0.0]
    limits = AnonymousLimits(cfg, max_batch_size=100, clock=lambda: now[0])
    sockets = [ConnectionContext(remote=f"10.0.0.{i}") for i in range(4)]
    big = 1 << 17  # 128 KiB: each socket's own budget (1 MiB/s) would send it at once
    waits = [limits.send_delay(conn, big) for conn in sockets]
    assert waits[:2] == [0.0, 0.0]  # the shared burst: 2 x 128 KiB
    assert waits[2] == pytest.approx(1.0) and waits[3] == pytest.approx(2.0)  # then 128 KiB/s for all
    assert limits.send_delay(sockets[0], 2000) == 0.0  # small replies (authenticate, errors) never wait
    # Sockets 2 and 3 went away before their replies were sent: their bytes go back to the shared budget.
    limits.refund(sockets[2], big)
    limits.refund(sockets[3], big)
    assert limits.send_delay(sockets[1], big) == pytest.approx(1.0)  # as if they never asked (not 3 s)
    admin = ConnectionContext(remote="1.2.3.4", identity=Identity("a", Role.ADMIN))
    assert limits.send_delay(admin, 10**9) == 0.0


async def test_probe_pool_bounds_each_identity_and_keeps_others_served() -> None:
    import threading

    from camera_service.cameras.probe_pool import ProbePool
    from camera_service.core.errors import RateLimited

    pool = ProbePool(workers=2, per_identity=1)
    release = threading.Event()
    try:
        hung = asyncio.ensure_future(pool.run("mallory", lambda: release.wait(30), timeout_s=0.2))
        with pytest.raises(TimeoutError):
            await hung  # the call gives up; the thread is still held ...
        with pytest.raises(RateLimited):
            await pool.run("mallory", lambda: 1, timeout_s=5)  # ... and still counts for its identity
        assert await pool.run("alice", lambda: 42, timeout_s=5) == 42
        release.set()

        async def freed() -> int:
            return await pool.run("mallory", lambda: 7, timeout_s=5)

        for _ in range(100):  # the hung thread ends: mallory may probe again
            try:
                assert await freed() == 7
                break
            except RateLimited:
                await asyncio.sleep(0.05)
        else:
            raise AssertionError("the identity's slot was never released")
    finally:
        release.set()
        pool.close()


def test_audit_keeps_successes_when_full_and_folds_repeated_failures() -> None:
    from camera_service.auth.audit import REPEAT_WRITTEN, AuditLog
    from camera_service.auth.store import AuditEntry

    log = AuditLog(store=None, retention_days=1, queue_size=5)  # type: ignore[arg-type]

    def entry(outcome: str, method: str = "get_status") -> AuditEntry:
        return AuditEntry(
            ts=1000.0,
            actor="anonymous",
            actor_kind="none",
            method=method,
            params={},
            outcome=outcome,
            error_code=None,
            remote="10.0.0.1",
        )

    for _ in range(REPEAT_WRITTEN + 30):
        log.record(entry("auth_failed"))
    assert log.folded == 30 and log.dropped == REPEAT_WRITTEN - 5
    for _ in range(10):
        log.record(entry("ok", "add_camera"))  # the queue is full of failures: successes still go in
    assert log.pending == 5 + 10


def test_config_doc_shows_the_real_nested_defaults() -> None:
    from camera_service.config.docs import render

    text = render()
    identity = text.split("## `security.rate_limit_identity`")[1].split("## ")[0]
    assert "| `per_second` | float | `200.0` |" in identity and "| `burst` | int | `400` |" in identity
    attempts = text.split("## `security.auth_attempts`")[1].split("## ")[0]
    assert "`0.5`" in attempts and "`10`" in attempts


def test_event_type_labels_are_bounded() -> None:
    from prometheus_client import CollectorRegistry

    from camera_service.events.metrics import MAX_TYPE_LABELS, EventMetrics

    registry = CollectorRegistry()
    metrics = EventMetrics(registry)
    for i in range(MAX_TYPE_LABELS + 50):
        metrics.count_event(f"alarm.t{i}")
    metrics.count_event("alarm.t0")  # a known type keeps its own series
    labels = {
        s.labels["type"] for m in registry.collect() if m.name == "camera_service_events" for s in m.samples
    }
    assert len(labels) == MAX_TYPE_LABELS + 1 and "other" in labels
    assert registry.get_sample_value("camera_service_events_total", {"type": "other"}) == 50
    assert registry.get_sample_value("camera_service_events_total", {"type": "alarm.t0"}) == 2


async def test_one_identity_cannot_fill_an_agency_quota_with_unconfirmed_leases() -> None:
    from camera_service.auth.quota import LiveViewQuotas, pending_cap

    now = [0.0]
    quotas = LiveViewQuotas({"POLICE": 20}, clock=lambda: now[0])
    cap = pending_cap(20)
    for i in range(cap):
        assert await quotas.acquire(f"m{i}", "cam1", "POLICE", f"fp{i}", holder="mallory")
    assert not await quotas.acquire("m-extra", "cam1", "POLICE", "fp-extra", holder="mallory")
    assert await quotas.acquire("a1", "cam1", "POLICE", "fa1", holder="alice")  # others still get streams
    await quotas.confirm("m0")  # a real viewer confirms: its slot no longer counts as pending
    assert await quotas.acquire("m-next", "cam1", "POLICE", "fp-next", holder="mallory")
    assert quotas.in_use("POLICE") == cap + 2


async def test_in_memory_lease_whose_reader_vanished_is_released() -> None:
    """MediaMTX crashed: no runOnUnread comes; the reader list MediaMTX gives after its restart decides."""
    from camera_service.auth.quota import LiveViewQuotas

    now = [0.0]
    readers: set[str] | None = None

    async def active() -> set[str] | None:
        return readers

    quotas = LiveViewQuotas({"POLICE": 2}, clock=lambda: now[0], active_readers=active)
    for sid in ("s1", "s2"):
        assert await quotas.acquire(sid, "cam", "POLICE", f"fp-{sid}", holder=sid)
        await quotas.confirm(sid)
    now[0] = 1000.0  # confirmed leases do not time out
    assert await quotas.reconcile() == 0 and quotas.in_use("POLICE") == 2  # MediaMTX not answering
    assert not await quotas.acquire("s3", "cam", "POLICE", "fp-s3", holder="s3")
    readers = {"s2", "other"}
    assert await quotas.reconcile() == 1 and quotas.in_use("POLICE") == 1
    assert await quotas.acquire("s3", "cam", "POLICE", "fp-s3", holder="s3")
    # a lease confirmed after MediaMTX was asked is not judged on that answer
    readers = set()
    await quotas.confirm("s3")
    assert await quotas.reconcile() == 1  # s2 only: s3 was confirmed at the same instant it was asked
    assert quotas.in_use("POLICE") == 1

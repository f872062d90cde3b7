"""Unit tests of the events domain's pure logic with fakes and an injectable clock: backoff, Retry-After,
circuit breaker, rule cooldown and schedules, signatures, URL checks, subscription fan-out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry

from camera_service.core.bus import Event, EventBus, Severity, topic_matches
from camera_service.events.metrics import EventMetrics
from camera_service.events.models import SubscriptionFilter
from camera_service.events.rules.engine import RuleEngine, RuleValidationError, check_actions
from camera_service.events.rules.models import ConfigRule, RuleAction, Schedule, Trigger
from camera_service.events.subscriptions import SubscriptionLimitError, SubscriptionManager
from camera_service.events.webhooks.models import UrlError, safe_url, validate_webhook_url
from camera_service.events.webhooks.policy import (
    AttemptResult,
    BreakerState,
    CircuitBreaker,
    Verdict,
    backoff_delay,
    next_delay,
    parse_retry_after,
)
from camera_service.events.webhooks.signing import delivery_headers, sign, verify
from camera_service.rpc.context import ConnectionContext


class FakeClock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t
        self.mono = 0.0

    def monotonic(self) -> float:
        return self.mono

    def time(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, s: float) -> None:
        self.t += s
        self.mono += s


def metrics() -> EventMetrics:
    return EventMetrics(CollectorRegistry())


# --- retry policy ---
def test_backoff_doubles_caps_and_jitter_keeps_gaps_growing() -> None:
    assert [backoff_delay(n, 1.0, 100.0, 0.0, lambda: 0.5) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff_delay(20, 1.0, 30.0, 0.0, lambda: 0.0) == 30.0
    # jitter 0.5: worst case of attempt n+1 (rand=1 -> d/2) never below best case of attempt n (rand=0 -> d)
    for n in range(1, 10):
        assert backoff_delay(n + 1, 0.2, 1e9, 0.5, lambda: 1.0) >= backoff_delay(
            n, 0.2, 1e9, 0.5, lambda: 0.0
        )
    assert backoff_delay(3, 1.0, 100.0, 0.5, lambda: 1.0) == 2.0


def test_verdicts() -> None:
    assert AttemptResult(200).verdict is Verdict.DELIVERED
    assert AttemptResult(204).verdict is Verdict.DELIVERED
    for status in (500, 502, 503, 429, 408, None):
        assert AttemptResult(status).verdict is Verdict.RETRY
    for status in (400, 401, 403, 404, 410, 301):
        assert AttemptResult(status).verdict is Verdict.FAIL
    assert AttemptResult(None).endpoint_failure and AttemptResult(503).endpoint_failure
    assert not AttemptResult(429).endpoint_failure and not AttemptResult(404).endpoint_failure


def test_retry_after_is_honoured_and_capped() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("7", now) == 7.0
    assert parse_retry_after(None, now) is None and parse_retry_after("soon", now) is None
    date = datetime.fromtimestamp(now + 30, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert parse_retry_after(date, now) == pytest.approx(30.0, abs=1.0)
    res = AttemptResult(429, retry_after_s=60.0)
    kwargs: dict[str, Any] = {"base_s": 1.0, "max_s": 100.0, "jitter": 0.0, "rand": lambda: 0.0}
    assert next_delay(res, 1, max_retry_after_s=3600.0, **kwargs) == 60.0
    assert next_delay(res, 1, max_retry_after_s=10.0, **kwargs) == 10.0
    # shorter Retry-After than the backoff: the backoff wins
    assert next_delay(AttemptResult(503, retry_after_s=0.5), 3, max_retry_after_s=3600.0, **kwargs) == 4.0


def test_circuit_breaker_opens_half_opens_and_closes() -> None:
    clock = FakeClock()
    b = CircuitBreaker(threshold=3, reset_s=10.0, clock=clock)
    fail, ok = AttemptResult(503), AttemptResult(200)
    for _ in range(2):
        assert b.allow()
        b.record(fail)
    assert b.state is BreakerState.CLOSED
    b.record(AttemptResult(404))  # the endpoint answered: resets the count
    assert b.failures == 0
    for _ in range(3):
        b.record(fail)
    assert b.state is BreakerState.OPEN and not b.allow()
    assert b.retry_in() == 10.0
    clock.advance(9.9)
    assert not b.allow()
    clock.advance(0.2)
    assert b.state is BreakerState.HALF_OPEN
    assert b.allow()  # one trial ...
    assert not b.allow()  # ... only one
    b.record(fail)  # the trial failed: open for another reset period
    assert b.state is BreakerState.OPEN and not b.allow()
    clock.advance(10.0)
    assert b.allow()
    b.record(ok)
    assert b.state is BreakerState.CLOSED and b.allow() and b.allow()


# --- signing and URLs ---
def test_signature_roundtrip_and_tamper() -> None:
    body = b'{"a":1}'
    sig = sign("k", 1700000000, body)
    assert sig.startswith("v1=") and len(sig) == 3 + 64
    assert verify("k", "1700000000", body, sig, now=1700000010)
    assert not verify("k", "1700000000", body + b"x", sig, now=1700000010)
    assert not verify("other", "1700000000", body, sig, now=1700000010)
    assert not verify("k", "1700000000", body, sig, now=1700000000 + 301)  # too old: replay
    assert verify("k", "1700000000", body, f"v1=00ff, {sig}", now=1700000000)  # rotation list
    headers = delivery_headers(
        delivery_id="d1", event_id="e1", event_type="a.b", timestamp=5, body=body, secret=None
    )
    assert "X-Camera-Service-Signature" not in headers and headers["Idempotency-Key"] == "d1"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://h/x",
        "http://u:p@h/x",
        "http://u@h/",
        "http:///x",
        "http://h:99999/",
        "javascript:alert(1)",
        "http://h/a b",
    ],
)
def test_bad_webhook_urls(url: str) -> None:
    with pytest.raises(UrlError):
        validate_webhook_url(url)


def test_safe_url_hides_query_and_credentials() -> None:
    validate_webhook_url("https://hooks.example.com:8443/x?token=abc")
    assert safe_url("https://hooks.example.com:8443/x?token=abc") == "https://hooks.example.com:8443/x"
    assert safe_url("https://user:pw@h/x") == "https://h/x"


# --- rules ---
def _rule(**trigger: Any) -> ConfigRule:
    return ConfigRule(
        id="r1",
        name="r",
        trigger=Trigger(topics=["camera.offline"], **trigger),
        actions=[RuleAction(type="notify", params={"severity": "high"})],
    )


class _NoStore:
    async def all(self) -> list[Any]:
        return []


async def _engine(rule: ConfigRule, clock: FakeClock) -> RuleEngine:
    engine = RuleEngine(_NoStore(), clock, metrics(), [rule])  # type: ignore[arg-type]
    await engine.load()
    return engine


async def test_rule_cooldown_per_camera_with_fake_clock() -> None:
    clock = FakeClock()
    engine = await _engine(_rule(cooldown_s=30.0), clock)
    off1 = Event(type="camera.offline", camera="cam1")
    assert [r.id for r in engine.matching(off1)] == ["r1"]
    clock.advance(29.0)
    assert engine.matching(off1) == []  # inside the cooldown
    assert [r.id for r in engine.matching(Event(type="camera.offline", camera="cam2"))] == [
        "r1"
    ]  # per camera
    clock.advance(1.5)
    assert [r.id for r in engine.matching(off1)] == ["r1"]
    assert engine.matching(Event(type="camera.online", camera="cam1")) == []


async def test_rule_conditions_and_loop_guard() -> None:
    clock = FakeClock()
    rule = ConfigRule(
        id="r2",
        name="p",
        trigger=Trigger(
            topics=["*"], cameras=["c1"], conditions={"labels": ["person"], "min_confidence": 0.5}
        ),
        actions=[RuleAction(type="notify")],
    )
    engine = await _engine(rule, clock)
    assert engine.matching(
        Event(type="detection.x", camera="c1", data={"label": "person", "confidence": 0.7})
    )
    assert not engine.matching(
        Event(type="detection.x", camera="c1", data={"label": "person", "confidence": 0.4})
    )
    assert not engine.matching(
        Event(type="detection.x", camera="c1", data={"label": "person", "confidence": "hi"})
    )
    assert not engine.matching(
        Event(type="detection.x", camera="c2", data={"label": "person", "confidence": 0.9})
    )
    assert not engine.matching(
        Event(type="detection.x", camera="c1", data={"label": "dog", "confidence": 0.9})
    )
    # a wildcard rule never picks up rule notifications (no loops)
    assert not engine.matching(
        Event(
            type="rule.notification",
            camera="c1",
            data={"label": "person", "confidence": 0.9, "rule_id": "other"},
        )
    )


def test_schedule_windows() -> None:
    tz = "Europe/Berlin"

    # 2026-01-05 is a Monday.
    def at(day: int, hh: int, mm: int) -> float:
        from zoneinfo import ZoneInfo

        return datetime(2026, 1, 5 + day, hh, mm, tzinfo=ZoneInfo(tz)).timestamp()

    office = Schedule(days=[0, 1, 2, 3, 4], start="08:00", end="18:00", timezone=tz)
    assert office.active(at(0, 8, 0)) and office.active(at(4, 18, 0))
    assert not office.active(at(0, 7, 59)) and not office.active(at(5, 12, 0))
    night = Schedule(days=[4], start="22:00", end="06:00", timezone=tz)  # Friday night into Saturday
    assert night.active(at(4, 23, 0)) and night.active(at(5, 5, 59))
    assert not night.active(at(5, 23, 0)) and not night.active(at(4, 5, 0)) and not night.active(at(4, 12, 0))
    with pytest.raises(ValueError):
        Schedule(start="24:00")
    with pytest.raises(ValueError):
        Schedule(timezone="Mars/Base")


def test_action_validation_names_the_field() -> None:
    check_actions([RuleAction(type="clip", params={"pre_s": 4, "post_s": 4})])
    with pytest.raises(RuleValidationError) as err:
        check_actions([RuleAction(type="notify"), RuleAction(type="clip", params={"pre_s": -1})])
    assert err.value.field == "actions.1.params"
    with pytest.raises(RuleValidationError) as err:
        check_actions([RuleAction(type="ptz_warp")])
    assert err.value.field == "actions.0.type"


# --- bus and subscriptions ---
def test_topics_and_bus_isolation() -> None:
    assert topic_matches("camera.*", "camera.offline") and topic_matches("*", "x.y")
    assert not topic_matches("camera.*", "cameras.offline") and not topic_matches(
        "camera.offline", "camera.on"
    )
    bus = EventBus()
    got: list[str] = []

    def broken(_e: Event) -> None:
        raise RuntimeError("boom")

    bus.subscribe(broken)
    bus.subscribe(lambda e: got.append(e.type), topics=["a.*"])
    bus.publish(Event(type="a.b"))  # publish: topics outside the catalog (emit refuses them)
    bus.publish(Event(type="c.d"))
    assert got == ["a.b"]


def _conn(sink: list[bytes], accept: bool = True) -> ConnectionContext:
    conn = ConnectionContext(remote="test")

    def send(payload: bytes) -> bool:
        if accept:
            sink.append(payload)
        return accept

    conn._send_encoded = send
    return conn


async def test_fanout_filters_and_counts_drops() -> None:
    m = metrics()
    mgr = SubscriptionManager(m, max_per_connection=2)
    a_out: list[bytes] = []
    b_out: list[bytes] = []
    a, b, full = _conn(a_out), _conn(b_out), _conn([], accept=False)
    sa = mgr.subscribe(a, SubscriptionFilter(topics=["camera.*"], cameras=frozenset({"cam1"})))
    mgr.subscribe(b, SubscriptionFilter(topics=["*"], min_severity=Severity.HIGH))
    mgr.subscribe(full, SubscriptionFilter(topics=["*"]))
    assert mgr.dispatch(Event(type="camera.offline", camera="cam1", severity=Severity.HIGH)) == (2, 1)
    assert mgr.dispatch(Event(type="camera.offline", camera="cam2", severity=Severity.LOW)) == (0, 1)
    msg = orjson.loads(a_out[0])
    assert msg["method"] == "event" and msg["params"]["subscription"] == sa
    assert msg["params"]["event"]["camera"] == "cam1" and "id" not in msg
    mgr.subscribe(a, SubscriptionFilter(topics=["x.*"]))
    with pytest.raises(SubscriptionLimitError):
        mgr.subscribe(a, SubscriptionFilter(topics=["y.*"]))
    assert not mgr.unsubscribe(b, sa)  # another connection's subscription
    await mgr.drop_connection(a)
    assert len(mgr) == 2
    assert m.event_notifications.labels("dropped")._value.get() == 2
    await asyncio.sleep(0)

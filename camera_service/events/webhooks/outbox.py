"""The outbox worker: sends due deliveries, retries with backoff + jitter (honouring Retry-After), dead-
letters what cannot be delivered, and keeps one circuit breaker per endpoint.

Rows are only ever updated after an attempt, never marked "in flight" in the database, so a crash
mid-attempt leaves the row pending and it is sent again after restart: at-least-once, de-duplicated by
the receiver through the Idempotency-Key header.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

from camera_service.core.clock import Clock, wait_event
from camera_service.core.tasks import TaskSet
from camera_service.events.config import WebhookDeliveryConfig
from camera_service.events.metrics import EventMetrics
from camera_service.events.webhooks.delivery import HttpSender
from camera_service.events.webhooks.manager import WebhookManager
from camera_service.events.webhooks.models import DeliveryStatus, safe_url
from camera_service.events.webhooks.policy import AttemptResult, CircuitBreaker, Verdict, next_delay
from camera_service.events.webhooks.signing import delivery_headers
from camera_service.events.webhooks.store import OutboxRow, WebhookStore

log = logging.getLogger("camera_service.events.webhooks")


def unsigned_refused() -> AttemptResult:
    """A failed attempt (retried like a network error) instead of sending a delivery unsigned."""
    return AttemptResult(
        status=None,
        error="signing secret cannot be decrypted (key changed?); set it again with update_webhook",
    )


class OutboxWorker:
    def __init__(
        self,
        store: WebhookStore,
        manager: WebhookManager,
        sender: HttpSender,
        *,
        cfg: WebhookDeliveryConfig,
        metrics: EventMetrics,
        clock: Clock,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.store = store
        self.manager = manager
        self.sender = sender
        self.cfg = cfg
        self.metrics = metrics
        self.clock = clock
        self.rand = rand
        self._breakers: dict[str, CircuitBreaker] = {}
        self._inflight: set[str] = set()
        self._tasks = TaskSet("webhook-outbox")
        self._slots = asyncio.Semaphore(cfg.concurrency)
        self._wake = asyncio.Event()
        self._stopping = False

    def breaker(self, webhook_id: str) -> CircuitBreaker:
        b = self._breakers.get(webhook_id)
        if b is None:
            b = self._breakers[webhook_id] = CircuitBreaker(
                self.cfg.breaker_failures, self.cfg.breaker_reset_s, self.clock
            )
        return b

    def enqueued(self, n: int) -> None:
        """New rows were committed: count them and look for work now."""
        if n:  # an event no webhook wants wakes nobody (a pass costs two queries)
            self.metrics.outbox_depth.inc(n)
            self._wake.set()

    def redriven(self) -> None:
        self.metrics.outbox_depth.inc()
        self.metrics.dead_letters.dec()
        self._wake.set()

    async def start(self) -> None:
        await self.refresh_gauges()
        self._stopping = False
        self._tasks.reopen()
        self._tasks.spawn(self._run(), name="webhook-outbox")

    async def stop(self) -> None:
        # The flag and the wake end the loop even if a cancel were lost (one was once suspected mid
        # PostgreSQL query; not reproduced since: tests/unit/test_postgres_cancel.py).
        self._stopping = True
        self._wake.set()
        await self._tasks.close()

    async def refresh_gauges(self) -> None:
        counts = await self.store.counts()
        self.metrics.outbox_depth.set(counts.get("pending", 0))
        self.metrics.dead_letters.set(counts.get("dead", 0))

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self._pass()
                wait = self.cfg.poll_interval_s
                due_at = await self.store.next_due_at()
                if due_at is not None:
                    wait = min(wait, max(0.0, due_at - self.clock.time()))
                if wait > 0:
                    await wait_event(self.clock, self._wake, wait)
                self._wake.clear()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox pass failed")
                await self.clock.sleep(self.cfg.poll_interval_s)

    async def _pass(self) -> None:
        free = self.cfg.concurrency - len(self._inflight)
        if free <= 0:
            return
        # Leased past the attempt's timeout (PostgreSQL claims): no other instance sends it meanwhile.
        lease_s = self.cfg.timeout_s * 2 + 5
        rows = await self.store.due(self.clock.time(), free, sorted(self._inflight), lease_s=lease_s)
        for row in rows:
            b = self.breaker(row.webhook_id)
            if not b.allow():
                # Circuit open: push the row to the next trial time without spending an attempt.
                await self.store.defer(row.id, self.clock.time() + max(b.retry_in(), 0.01))
                self.metrics.webhook_deliveries.labels("circuit_open").inc()
                continue
            self._inflight.add(row.id)
            self._tasks.spawn(self._deliver(row, b), name=f"webhook-{row.id}")

    async def _deliver(self, row: OutboxRow, breaker: CircuitBreaker) -> None:
        try:
            async with self._slots:
                await self._attempt(row, breaker)
        except asyncio.CancelledError:
            breaker.release_trial()
            raise
        except Exception:
            breaker.release_trial()
            log.exception("webhook delivery failed unexpectedly", extra={"delivery": row.id})
        finally:
            self._inflight.discard(row.id)
            self._wake.set()

    async def _attempt(self, row: OutboxRow, breaker: CircuitBreaker) -> None:
        hook = self.manager.get(row.webhook_id)
        if hook is None:
            await self.manager.load()  # scale-out: added on another instance a moment ago
            hook = self.manager.get(row.webhook_id)
        if hook is None:
            breaker.release_trial()
            return  # removed meanwhile; its rows were deleted with it
        if hook.secret_error is not None:
            result = unsigned_refused()
            breaker.record(result)
            await self._settle(row, result, safe_url(hook.webhook.url))
            return
        ts = int(self.clock.time())
        headers = delivery_headers(
            delivery_id=row.id,
            event_id=row.event_id,
            event_type=row.event_type,
            timestamp=ts,
            body=row.body,
            secret=hook.secret,
        )
        result = await self.sender.post(hook.webhook.url, row.body, headers, self.cfg.timeout_s)
        breaker.record(result)
        await self._settle(row, result, safe_url(hook.webhook.url))

    async def _settle(self, row: OutboxRow, result: AttemptResult, where: str) -> None:
        now = self.clock.time()
        attempts = row.attempts + 1
        verdict = result.verdict
        self.metrics.delivery_latency.observe(result.latency_s)
        next_at: float | None = None
        if verdict is Verdict.DELIVERED:
            status, outcome = DeliveryStatus.DELIVERED, "delivered"
            self.metrics.delivery_age.observe(max(0.0, now - row.created_at))
        elif verdict is Verdict.RETRY and attempts < self.cfg.max_attempts:
            status, outcome = DeliveryStatus.PENDING, "retry"
            next_at = now + next_delay(
                result,
                attempts,
                base_s=self.cfg.backoff_base_s,
                max_s=self.cfg.backoff_max_s,
                jitter=self.cfg.jitter,
                max_retry_after_s=self.cfg.max_retry_after_s,
                rand=self.rand,
            )
        else:
            status, outcome = DeliveryStatus.DEAD, "dead"
        await self.store.record_attempt(
            row.id,
            status=status,
            attempts=attempts,
            now=now,
            next_attempt_at=next_at,
            http_status=result.status,
            error=result.error if verdict is not Verdict.FAIL else f"{result.error} (not retried)",
            latency_ms=round(result.latency_s * 1000, 3),
        )
        self.metrics.webhook_deliveries.labels(outcome).inc()
        log.log(
            logging.INFO if outcome != "retry" else logging.DEBUG,
            "webhook delivery %s",
            outcome,
            extra={
                "delivery": row.id,
                "webhook": row.webhook_id,
                "url": where,
                "attempt": attempts,
                "http_status": result.status,
                "error": result.error,
            },
        )
        if status is not DeliveryStatus.PENDING:
            self.metrics.outbox_depth.dec()
        if status is DeliveryStatus.DEAD:
            self.metrics.dead_letters.inc()

    async def send_now(
        self, webhook_id: str, body: bytes, event_id: str, event_type: str, delivery_id: str
    ) -> AttemptResult | None:
        """One direct attempt outside the outbox (test_webhook): no retries, no breaker."""
        hook = self.manager.get(webhook_id)
        if hook is None:
            return None
        if hook.secret_error is not None:
            return unsigned_refused()
        headers = delivery_headers(
            delivery_id=delivery_id,
            event_id=event_id,
            event_type=event_type,
            timestamp=int(self.clock.time()),
            body=body,
            secret=hook.secret,
        )
        return await self.sender.post(hook.webhook.url, body, headers, self.cfg.timeout_s)

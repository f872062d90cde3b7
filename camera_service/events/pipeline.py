"""The events pipeline (EventService's intake): every bus event and create_event call is queued, stored
in batches (each event with its webhook deliveries, one transaction per batch) and then fanned out to
subscribers and rules.

Bus listeners must not block, so the listener only queues; one task (`run`) drains the queue in
batches (one SQLite transaction per batch keeps up with bursts).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from camera_service.core.bus import Event, topic_matches
from camera_service.events.config import EventsConfig
from camera_service.events.metrics import EventMetrics
from camera_service.events.rules.engine import RuleEngine
from camera_service.events.shared import SharedEvents
from camera_service.events.store import insert_statement
from camera_service.events.subscriptions import SubscriptionManager
from camera_service.events.webhooks.manager import WebhookManager
from camera_service.events.webhooks.outbox import OutboxWorker
from camera_service.storage.database import Database

log = logging.getLogger("camera_service.events")

MAX_QUEUE = 100_000
MAX_BATCH = 256

_QueueItem = tuple[Event, str, "asyncio.Future[None] | None"]
# One event ready to store: its statements and how many webhook deliveries they queue.
_Prepared = tuple[Event, list[tuple[str, Sequence[Any]]], int]


class EventPipeline:
    def __init__(
        self,
        cfg: EventsConfig,
        db: Database,
        metrics: EventMetrics,
        *,
        webhooks: WebhookManager,
        outbox: OutboxWorker,
        subscriptions: SubscriptionManager,
        rules: RuleEngine,
        shared: SharedEvents | None,
    ) -> None:
        """`shared` (scale-out): a committed batch is published there for the other instances' clients."""
        self.cfg = cfg
        self.db = db
        self.metrics = metrics
        self.webhooks = webhooks
        self.outbox = outbox
        self.subscriptions = subscriptions
        self.rules = rules
        self.shared = shared
        self._queue: asyncio.Queue[_QueueItem] = asyncio.Queue()
        self.queue_overflows = 0

    def queued(self) -> int:
        return self._queue.qsize()

    # --- intake ---
    def on_bus(self, event: Event) -> None:
        """The bus listener: queues only (listeners must not block)."""
        if self._queue.qsize() >= MAX_QUEUE:
            self.queue_overflows += 1
            log.error("event queue full; event dropped", extra={"event_type": event.type})
            return
        self.metrics.count_event(event.type)
        self._queue.put_nowait((event, "service", None))

    async def publish(self, event: Event, source: str = "api") -> Event:
        """Inject an event (create_event) and wait until it is stored and fanned out."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.metrics.count_event(event.type)
        self._queue.put_nowait((event, source, fut))
        await fut
        return event

    # --- the pipeline task ---
    async def run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._process(batch)
            except Exception:
                log.exception("event batch failed", extra={"events": len(batch)})
            for _event, _source, fut in batch:
                if fut is not None and not fut.done():
                    fut.set_result(None)

    def _persisted(self, event: Event) -> bool:
        return any(topic_matches(t, event.type) for t in self.cfg.persist_topics)

    def _statements(self, event: Event, source: str) -> tuple[list[tuple[str, Sequence[Any]]], int]:
        statements: list[tuple[str, Sequence[Any]]] = []
        if self._persisted(event):
            statements.append(insert_statement(event, source))
        hooks = self.webhooks.enqueue_statements(event)
        statements.extend(hooks)
        return statements, len(hooks)

    async def _process(self, batch: Sequence[_QueueItem]) -> None:
        """Store a batch in one transaction; one event that cannot be encoded or stored is logged and
        skipped, and never takes the rest of its batch with it (security H5)."""
        per_event: list[_Prepared] = []
        for event, source, _fut in batch:
            try:
                statements, hooks = self._statements(event, source)
            except Exception:
                log.exception("event dropped: cannot be stored", extra={"event_id": event.id})
                continue
            per_event.append((event, statements, hooks))
        kept = await self._store(per_event)
        if self.shared is not None and kept:
            self.shared.publish_events(kept)  # committed: now the other instances may push them
        for i, event in enumerate(kept):
            if i:  # a batch x hundreds of subscribers is long: let calls (ping, get_status) in between
                await asyncio.sleep(0)
            try:
                self.subscriptions.dispatch(event)
                self.rules.on_event(event)
            except Exception:
                log.exception("event dispatch failed", extra={"event_id": event.id})

    async def _store(self, per_event: list[_Prepared]) -> list[Event]:
        everything = [st for _e, sts, _h in per_event for st in sts]
        try:
            if everything:
                await self.db.transaction(everything)  # each event + its outbox rows: both or neither
            self.outbox.enqueued(sum(h for _e, _s, h in per_event))
            return [e for e, _s, _h in per_event]
        except Exception:
            if len(per_event) == 1:
                log.exception("event dropped: store failed", extra={"event_id": per_event[0][0].id})
                return []
        kept: list[Event] = []  # the batch failed: store one by one so only the bad event is lost
        for item in per_event:
            kept.extend(await self._store([item]))
        return kept

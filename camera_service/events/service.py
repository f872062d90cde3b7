"""The events component (façade): takes every bus event, stores it (with its webhook deliveries, in one
transaction), then fans it out to subscribers and rules; owns retention.

Its parts: pipeline.py (intake queue, batched store, fan-out), subscriptions.py, webhooks/ (manager,
outbox worker), rules/, clips.py (event clips), shared.py (several instances).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from camera_service.auth.scopes import in_scope
from camera_service.core.bus import Event, EventBus
from camera_service.core.clock import Clock, SystemClock
from camera_service.core.component import ComponentHealth
from camera_service.core.tasks import TaskSet
from camera_service.events.clips import EventClipper
from camera_service.events.config import EventsConfig
from camera_service.events.metrics import EventMetrics
from camera_service.events.models import EventStatus, StoredEvent
from camera_service.events.pipeline import EventPipeline
from camera_service.events.rules.actions import ActionContext, RuleDeps
from camera_service.events.rules.engine import RuleEngine
from camera_service.events.rules.models import RuleRun
from camera_service.events.rules.store import RULES_DDL, RuleStore
from camera_service.events.shared import SharedEvents
from camera_service.events.store import (
    CLIP_OWNER_DDL,
    CLIP_OWNER_VERSION,
    EventQuery,
    EventStore,
    migrations,
)
from camera_service.events.subscriptions import SubscriptionManager
from camera_service.events.webhooks.delivery import HttpSender
from camera_service.events.webhooks.manager import WebhookManager
from camera_service.events.webhooks.models import Delivery, DeliveryStatus
from camera_service.events.webhooks.outbox import OutboxWorker
from camera_service.events.webhooks.store import (
    SECRETS_AT_REST_DDL,
    WEBHOOKS_DDL,
    WebhookStore,
    encrypt_plain_secrets,
)
from camera_service.observability.metrics import Metrics
from camera_service.rpc.context import ConnectionContext
from camera_service.storage.crypto import SecretBox
from camera_service.storage.database import Database, Migration, Tx

if TYPE_CHECKING:
    from camera_service.cameras.ports import CameraDirectory
    from camera_service.recordings.ports import RecordingActions

log = logging.getLogger("camera_service.events")

KEEP_RULE_RUNS = 100_000


class EventService:
    name = "events"

    def __init__(
        self,
        cfg: EventsConfig,
        db: Database,
        bus: EventBus,
        metrics: Metrics,
        *,
        secret_box: Callable[[], SecretBox],
        cameras: CameraDirectory,
        recordings: RecordingActions,
        rule_deps: RuleDeps,
        clock: Clock | None = None,
        shared: SharedEvents | None = None,
        owns: Callable[[str], bool] | None = None,
        instance_id: str | None = None,
    ) -> None:
        """`secret_box` gives the at-rest cipher of webhook secrets (loaded lazily: the key may be
        needed by the v4 migration, which runs when the database starts). `cameras` decides who may
        see an event (scopes); `recordings` cuts event clips; `rule_deps` is what rule actions use.
        `shared` (scale-out): the stream that carries events between instances; None = one instance.
        `owns`/`instance_id` (scale-out): event clips are cut by the camera's owner only (events/clips.py)."""
        self.cfg = cfg
        self.db = db
        self.bus = bus
        self.clock: Clock = clock or SystemClock()
        self.metrics = EventMetrics(metrics.registry)
        self._app_metrics = metrics
        self._secret_box = secret_box
        self._plain_secrets_encrypted = 0
        db.register(
            "events",
            migrations(
                [
                    Migration(2, WEBHOOKS_DDL),
                    Migration(3, RULES_DDL),
                    Migration(4, SECRETS_AT_REST_DDL, run=self._encrypt_plain_secrets),
                    Migration(CLIP_OWNER_VERSION, CLIP_OWNER_DDL),
                ]
            ),
        )
        self.store = EventStore(db)
        self.subscriptions = SubscriptionManager(
            self.metrics, cfg.max_subscriptions_per_connection, visible=self._visible
        )
        self.shared = shared
        self.webhooks = WebhookManager(
            WebhookStore(db, secret_box), self.clock, changed=lambda: self._announce("webhooks")
        )
        self.sender = HttpSender(cfg.webhooks.allowed_networks)
        self.outbox = OutboxWorker(
            self.webhooks.store,
            self.webhooks,
            self.sender,
            cfg=cfg.webhooks,
            metrics=self.metrics,
            clock=self.clock,
        )
        self._cameras = cameras
        self.rules = RuleEngine(
            RuleStore(db),
            self.clock,
            self.metrics,
            cfg.rules,
            context=lambda rule, event, scope: ActionContext(rule_deps, self, rule, event, scope),
            cameras=cameras.cameras,
            changed=lambda: self._announce("rules"),
        )
        self.clips = EventClipper(
            self.store,
            bus,
            self.metrics,
            clock=self.clock,
            cfg=cfg,
            recordings=recordings,
            owns=owns,
            instance_id=instance_id,
        )
        self.pipeline = EventPipeline(
            cfg,
            db,
            self.metrics,
            webhooks=self.webhooks,
            outbox=self.outbox,
            subscriptions=self.subscriptions,
            rules=self.rules,
            shared=shared,
        )
        self._tasks = TaskSet("events")
        self._running = False
        # Subscribed from construction on: events of components that start before us are queued.
        self._unsubscribe = bus.subscribe(self.pipeline.on_bus, topics=("*",))

    async def _encrypt_plain_secrets(self, tx: Tx) -> None:
        self._plain_secrets_encrypted = await encrypt_plain_secrets(tx, self._secret_box())

    # --- component ---
    async def start(self) -> None:
        if self._plain_secrets_encrypted and self.db.dialect == "sqlite":
            # The plain secrets' old pages may still sit in WAL frames: checkpoint and empty the WAL.
            await self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._plain_secrets_encrypted = 0
        await self.webhooks.load()
        await self.rules.load()
        await self.sender.start()
        await self.outbox.start()
        if self.shared is not None:
            await self.shared.start(on_event=self._on_remote, on_reload=self._reload)
        self._running = True
        self._tasks.reopen()
        self._tasks.spawn(self.pipeline.run(), name="events-pipeline")
        self._tasks.spawn(self._retention_loop(), name="events-retention")
        await self.clips.resume()

    async def stop(self) -> None:
        self._running = False
        self._unsubscribe()
        await self._tasks.close()
        if self.shared is not None:
            await self.shared.stop()
        await self.clips.stop()
        await self.rules.stop()
        await self.outbox.stop()
        await self.sender.close()

    def health(self) -> ComponentHealth:
        return ComponentHealth(
            name=self.name,
            healthy=self._running,
            status="running" if self._running else "stopped",
            details={
                "queue": self.pipeline.queued(),
                "subscriptions": len(self.subscriptions),
                "webhooks": len(self.webhooks.all()),
                "rules": len(self.rules.all()),
                **({"shared": self._shared_health()} if self.shared is not None else {}),
            },
        )

    def _shared_health(self) -> dict[str, Any]:
        assert self.shared is not None
        st = self.shared.stats
        return {
            "instance": self.shared.instance_id,
            "connected": self.shared.connected,
            "published": st.published,
            "received": st.received,
            "read_errors": st.read_errors,
            "publish_errors": st.publish_errors,
            "dropped": st.dropped,
        }

    # --- scale-out: the shared stream ---
    def _on_remote(self, event: Event) -> None:
        """Another instance raised, stored and ran rules on `event`: only push it to our clients."""
        self.subscriptions.dispatch(event)

    async def _reload(self, what: str) -> None:
        if what == "webhooks":
            await self.webhooks.load()
        elif what == "rules":
            await self.rules.load()

    def _announce(self, what: str) -> None:
        if self.shared is not None:
            self.shared.announce_reload(what)

    async def publish(self, event: Event, source: str = "api") -> Event:
        """Inject an event (create_event) and wait until it is stored and fanned out."""
        return await self.pipeline.publish(event, source)

    async def deliver_to_webhook(self, event: Event, webhook_id: str) -> str:
        """Queue `event` for one webhook regardless of its filters (the rule action `webhook`)."""
        row = self.webhooks.get(webhook_id)
        if row is None:
            raise LookupError(f"webhook '{webhook_id}' not found")
        statements = self.webhooks.enqueue_statements(event, [row])
        await self.db.transaction(statements)
        self.outbox.enqueued(len(statements))
        return str(next(iter(statements[0][1])))

    # --- scopes ---
    def _visible(self, conn: ConnectionContext, event: Event) -> bool:
        identity = conn.identity
        if identity is None or identity.unrestricted:
            return True
        if event.camera is None:
            return False  # security L4: camera-less events only for unscoped identities (as in list_events)
        if event.camera in identity.cameras:
            return True
        camera = self._cameras.find(event.camera)
        # A removed camera's events: only identities scoped by its id see them.
        return camera is not None and in_scope(camera, identity)

    # --- queries and operator changes (handlers never reach the stores) ---
    async def query(self, q: EventQuery) -> tuple[list[StoredEvent], str | None]:
        """Stored events, newest first: the page and the next page's cursor (None at the end)."""
        return await self.store.query(q)

    async def get_event(self, event_id: str) -> StoredEvent | None:
        return await self.store.get(event_id)

    async def annotate(
        self,
        event_id: str,
        *,
        status: EventStatus | None = None,
        tags: list[str] | None = None,
        notes: str | None = None,
        by: str | None = None,
    ) -> None:
        """Change an event's status, tags or notes (acknowledging records `by` and the time)."""
        await self.store.update(
            event_id, now=self.clock.time(), status=status, tags=tags, notes=notes, acknowledged_by=by
        )

    async def counts_by_type(
        self, start: float, end: float, cameras: list[str]
    ) -> list[tuple[str, str, str, int]]:
        """(camera, type, severity, count) of the stored events in [start, end) of these cameras."""
        return await self.store.counts_by_type(start, end, cameras)

    async def status_changes(self, start: float, end: float, camera: str) -> list[tuple[float, str]]:
        """(time, camera.online|offline|error) in [start, end), preceded by the last one before start."""
        return await self.store.status_changes(start, end, camera)

    async def rule_runs(
        self,
        rule_id: str | None,
        limit: int,
        before_id: int | None,
        *,
        rule_ids: Collection[str] | None = None,
        cameras: Collection[str] | None = None,
    ) -> list[RuleRun]:
        """Rule runs, newest first; limited to `rule_ids` and runs on `cameras` when given (scopes)."""
        return await self.rules.store.runs(rule_id, limit, before_id, rule_ids=rule_ids, cameras=cameras)

    async def deliveries(
        self, webhook: str | None, status: DeliveryStatus | None, limit: int, before: float | None
    ) -> list[Delivery]:
        return await self.webhooks.store.list(webhook, status, limit, before)

    async def delivery(self, delivery_id: str) -> Delivery | None:
        return await self.webhooks.store.get(delivery_id)

    async def redrive(self, delivery_id: str) -> bool:
        """A dead letter back to pending with a fresh attempt budget; False when it is not dead."""
        if not await self.webhooks.store.redrive(delivery_id, self.clock.time()):
            return False
        self.outbox.redriven()
        return True

    # --- retention ---
    async def run_retention(self) -> dict[str, int]:
        now = self.clock.time()
        older = now - self.cfg.retention_days * 86400 if self.cfg.retention_days > 0 else None
        events = await self.store.apply_retention(older, self.cfg.max_events)
        delivered = await self.webhooks.store.prune_delivered(
            now - self.cfg.webhooks.keep_delivered_days * 86400
        )
        runs = await self.rules.store.prune_runs(KEEP_RULE_RUNS)
        if events or delivered or runs:
            log.info("events retention", extra={"events": events, "deliveries": delivered, "rule_runs": runs})
        return {"events": events, "deliveries": delivered, "rule_runs": runs}

    async def _retention_loop(self) -> None:
        while True:
            try:
                await self.run_retention()
            except Exception:
                log.exception("events retention failed")
            await self.clock.sleep(self.cfg.retention_interval_s)

"""Prometheus metrics of the events domain, registered on the application's registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

DELIVERY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


# Distinct `type` label values kept; later new types count as "other" (security L5: create_event lets
# operators pick any type, and every new label value is a new time series forever).
MAX_TYPE_LABELS = 200


class EventMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self._types: set[str] = set()
        self.events = Counter("camera_service_events", "Events published, by type", ["type"], registry=r)
        self.subscriptions = Gauge(
            "camera_service_event_subscriptions", "Open event subscriptions", registry=r
        )
        self.event_notifications = Counter(
            "camera_service_event_notifications",
            "Event notifications to subscribers, by outcome (sent/dropped)",
            ["outcome"],
            registry=r,
        )
        self.webhook_deliveries = Counter(
            "camera_service_webhook_deliveries",
            "Webhook delivery attempts by outcome (delivered, retry, dead, circuit_open)",
            ["outcome"],
            registry=r,
        )
        self.outbox_depth = Gauge(
            "camera_service_webhook_outbox_depth", "Webhook deliveries waiting to be sent", registry=r
        )
        self.dead_letters = Gauge(
            "camera_service_webhook_dead_letters", "Webhook deliveries given up on", registry=r
        )
        self.delivery_latency = Histogram(
            "camera_service_webhook_delivery_latency_seconds",
            "Duration of one webhook HTTP attempt",
            buckets=DELIVERY_BUCKETS,
            registry=r,
        )
        self.delivery_age = Histogram(
            "camera_service_webhook_delivery_age_seconds",
            "From event enqueued to accepted delivery (retries included)",
            buckets=DELIVERY_BUCKETS,
            registry=r,
        )
        self.rule_runs = Counter(
            "camera_service_rule_runs", "Rule executions by outcome", ["outcome"], registry=r
        )
        self.event_clips = Counter(
            "camera_service_event_clips", "Event clips by outcome (ready/failed)", ["outcome"], registry=r
        )

    def count_event(self, event_type: str) -> None:
        if event_type not in self._types:
            if len(self._types) >= MAX_TYPE_LABELS:
                event_type = "other"
            else:
                self._types.add(event_type)
        self.events.labels(event_type).inc()

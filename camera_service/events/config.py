"""Config of the events domain: event store retention, event clips, webhook delivery, config-file rules."""

from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator

from camera_service.config.base import ConfigModel
from camera_service.events.rules.models import ConfigRule


class WebhookDeliveryConfig(ConfigModel):
    allowed_networks: list[str] = Field(
        default_factory=list,
        title="Allowed special destinations",
        description=(
            "Networks (CIDR) webhooks may post to although they are loopback, link-local (cloud metadata) "
            "or otherwise special; by default such destinations are refused at delivery time, also when a "
            "DNS name resolves to them (e.g. [127.0.0.0/8] for a receiver on this host)."
        ),
    )

    @field_validator("allowed_networks")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        for net in v:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError as exc:
                raise ValueError(f"{net!r} is not a network (CIDR)") from exc
        return v

    timeout_s: float = Field(
        10.0,
        ge=0.1,
        le=120.0,
        title="Request timeout",
        description="Seconds one delivery attempt may take before it counts as a timeout.",
    )
    max_attempts: int = Field(
        10,
        ge=1,
        le=100,
        title="Max attempts",
        description="Attempts before a delivery becomes a dead letter.",
    )
    backoff_base_s: float = Field(
        2.0,
        ge=0.01,
        le=3600.0,
        title="Backoff base",
        description="Delay before the 2nd attempt; doubles for every further attempt.",
    )
    backoff_max_s: float = Field(
        600.0, ge=0.01, le=86_400.0, title="Backoff max", description="Largest delay between two attempts."
    )
    jitter: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        title="Jitter",
        description=(
            "Fraction of each delay that is randomised (0.5: delay in [d/2, d], so gaps still grow)."
        ),
    )
    max_retry_after_s: float = Field(
        3600.0,
        ge=0.0,
        le=86_400.0,
        title="Retry-After cap",
        description="Longest Retry-After from a receiver that is honoured.",
    )
    concurrency: int = Field(
        8,
        ge=1,
        le=256,
        title="Concurrency",
        description="Deliveries in flight at once (all endpoints together).",
    )
    breaker_failures: int = Field(
        5,
        ge=1,
        le=1000,
        title="Circuit breaker threshold",
        description="Consecutive failures of one endpoint that open its circuit.",
    )
    breaker_reset_s: float = Field(
        30.0,
        ge=0.01,
        le=3600.0,
        title="Circuit breaker reset",
        description="Seconds an open circuit waits before one trial delivery.",
    )
    poll_interval_s: float = Field(
        1.0,
        ge=0.01,
        le=60.0,
        title="Outbox poll interval",
        description="How often the outbox is scanned for due deliveries when idle.",
    )
    keep_delivered_days: float = Field(
        7.0,
        ge=0.0,
        le=3650.0,
        title="Keep delivered",
        description="Days delivered rows stay in the outbox for inspection.",
    )


class SharedEventsConfig(ConfigModel):
    stream: str = Field(
        "camera-service:events",
        min_length=1,
        max_length=200,
        title="Stream key",
        description=(
            "Redis Stream that carries events between instances when `storage.redis_url` is set "
            "(docs/scale-out.md); every instance of one deployment uses the same key."
        ),
    )
    max_length: int = Field(
        100_000,
        ge=1000,
        le=100_000_000,
        title="Stream length",
        description=(
            "Entries the stream keeps (trimmed approximately on every append): how far back an instance "
            "that lost its Redis connection can replay."
        ),
    )
    read_block_ms: int = Field(
        1000,
        ge=10,
        le=4000,
        title="Read wait",
        description="Longest wait of one blocking stream read (below the Redis client's socket timeout).",
    )


class EventsConfig(ConfigModel):
    retention_days: float = Field(
        30.0,
        ge=0.0,
        le=3650.0,
        title="Event retention",
        description="Events older than this are deleted (0 keeps them forever).",
    )
    max_events: int = Field(
        1_000_000,
        ge=1000,
        le=1_000_000_000,
        title="Max stored events",
        description="Oldest events beyond this count are deleted.",
    )
    retention_interval_s: float = Field(
        3600.0, ge=1.0, le=86_400.0, title="Retention interval", description="How often retention runs."
    )
    persist_topics: list[str] = Field(
        ["*"],
        max_length=100,
        title="Persisted topics",
        description="Topic patterns written to the event store.",
    )
    clip_pre_s: float = Field(
        10.0,
        ge=0.0,
        le=3600.0,
        title="Clip pre-roll",
        description="Default seconds of an event clip before the event.",
    )
    clip_post_s: float = Field(
        10.0,
        ge=0.0,
        le=3600.0,
        title="Clip post-roll",
        description="Default seconds of an event clip after the event.",
    )
    clip_settle_s: float = Field(
        2.0,
        ge=0.0,
        le=600.0,
        title="Clip settle time",
        description=(
            "Extra seconds waited after the post-roll before cutting, so the last segment is on disk."
        ),
    )
    clip_lock: bool = Field(
        True,
        title="Lock event clips",
        description="Event clips are locked evidence (never deleted by retention).",
    )
    max_subscriptions_per_connection: int = Field(
        32,
        ge=1,
        le=1000,
        title="Subscriptions per connection",
        description="Event subscriptions one connection may hold.",
    )
    webhooks: WebhookDeliveryConfig = Field(
        default_factory=WebhookDeliveryConfig, title="Webhook delivery", description="Outbox worker tuning."
    )
    shared: SharedEventsConfig = Field(
        default_factory=SharedEventsConfig,
        title="Shared events",
        description="Events between instances (scale-out); unused by a single instance.",
    )
    rules: list[ConfigRule] = Field(
        [],
        max_length=1000,
        title="Config-file rules",
        description=(
            "Rules defined in the config file (same shape as add_rule params, plus a unique `id`); read-only "
            "over the API."
        ),
    )

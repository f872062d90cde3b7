"""Webhook endpoints: CRUD over the store, an in-memory copy for matching, and outbox rows for events."""

from __future__ import annotations

import logging
import secrets as pysecrets
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from camera_service.core.bus import Event, Severity, topic_matches
from camera_service.core.clock import Clock
from camera_service.events.webhooks.models import Webhook, safe_url, validate_webhook_url
from camera_service.events.webhooks.store import WebhookRow, WebhookStore

log = logging.getLogger("camera_service.events.webhooks")

_UNSET: Any = object()


def delivery_body(delivery_id: str, webhook_id: str, event: Event) -> bytes:
    """The JSON body POSTed to the receiver (fixed at enqueue time, so every retry sends the same bytes)."""
    return orjson.dumps(
        {"delivery": delivery_id, "webhook": webhook_id, "event": event.model_dump(mode="json")}
    )


class WebhookManager:
    def __init__(
        self, store: WebhookStore, clock: Clock, *, changed: Callable[[], None] | None = None
    ) -> None:
        """`changed` runs after every add/update/remove (scale-out: the other instances re-read)."""
        self.store = store
        self._clock = clock
        self._changed = changed or (lambda: None)
        self._hooks: dict[str, WebhookRow] = {}

    async def load(self) -> None:
        self._hooks = {row.webhook.id: row for row in await self.store.all()}

    def get(self, webhook_id: str) -> WebhookRow | None:
        return self._hooks.get(webhook_id)

    def all(self) -> list[Webhook]:
        return [row.webhook for row in self._hooks.values()]

    async def add(
        self,
        *,
        url: str,
        topics: list[str],
        cameras: list[str] | None,
        min_severity: Severity | None,
        secret: str | None,
        enabled: bool,
        description: str,
    ) -> Webhook:
        validate_webhook_url(url)
        now = self._clock.time()
        hook = Webhook(
            id="wh_" + pysecrets.token_hex(6),
            url=url,
            topics=topics,
            cameras=cameras,
            min_severity=min_severity,
            enabled=enabled,
            description=description,
            has_secret=bool(secret),
            created_at=now,
            updated_at=now,
        )
        await self.store.insert(hook, secret or None)
        self._hooks[hook.id] = WebhookRow(hook, secret or None)
        self._changed()
        log.info("webhook added", extra={"webhook": hook.id, "url": safe_url(url), "signed": bool(secret)})
        return hook

    async def update(
        self,
        webhook_id: str,
        *,
        url: str | None = None,
        topics: list[str] | None = None,
        cameras: Any = _UNSET,
        min_severity: Any = _UNSET,
        secret: Any = _UNSET,
        enabled: bool | None = None,
        description: str | None = None,
    ) -> Webhook | None:
        """None when there is no such webhook. `secret=None` removes the secret (unsigned deliveries)."""
        row = self._hooks.get(webhook_id)
        if row is None:
            return None
        if url is not None:
            validate_webhook_url(url)
        changes: dict[str, Any] = {"updated_at": self._clock.time()}
        for key, value in (
            ("url", url),
            ("topics", topics),
            ("enabled", enabled),
            ("description", description),
        ):
            if value is not None:
                changes[key] = value
        if cameras is not _UNSET:
            changes["cameras"] = cameras
        if min_severity is not _UNSET:
            changes["min_severity"] = min_severity
        new_secret = row.secret if secret is _UNSET else (secret or None)
        # An undecryptable secret stays as stored (still failing, never silently unsigned) until replaced.
        keep = secret is _UNSET and row.secret_error is not None
        changes["has_secret"] = True if keep else bool(new_secret)
        hook = row.webhook.model_copy(update=changes)
        await self.store.update(hook, new_secret, keep_secret=keep)
        self._hooks[webhook_id] = WebhookRow(hook, new_secret, row.secret_error if keep else None)
        self._changed()
        log.info(
            "webhook updated",
            extra={
                "webhook": webhook_id,
                "url": safe_url(hook.url),
                "fields": sorted(k for k in changes if k != "updated_at"),
            },
        )
        return hook

    async def remove(self, webhook_id: str) -> bool:
        if webhook_id not in self._hooks:
            return False
        await self.store.delete(webhook_id)  # pending deliveries go with it (ON DELETE CASCADE)
        del self._hooks[webhook_id]
        self._changed()
        log.info("webhook removed", extra={"webhook": webhook_id})
        return True

    def matching(self, event: Event) -> list[WebhookRow]:
        out = []
        for row in self._hooks.values():
            w = row.webhook
            if not w.enabled:
                continue
            if w.cameras is not None and event.camera not in w.cameras:
                continue
            if w.min_severity is not None and event.severity.rank < w.min_severity.rank:
                continue
            if any(topic_matches(t, event.type) for t in w.topics):
                out.append(row)
        return out

    def enqueue_statements(
        self,
        event: Event,
        webhooks: Sequence[WebhookRow] | None = None,
    ) -> list[tuple[str, Sequence[Any]]]:
        """Outbox INSERTs for `event` (all matching webhooks, or the given ones) to run in the caller's
        transaction, so the event and its deliveries are stored together or not at all."""
        now = self._clock.time()
        out = []
        for row in self.matching(event) if webhooks is None else webhooks:
            did = "dlv_" + uuid.uuid4().hex
            out.append(
                WebhookStore.enqueue_statement(
                    did,
                    row.webhook.id,
                    event_id=event.id,
                    event_type=event.type,
                    body=delivery_body(did, row.webhook.id, event),
                    now=now,
                )
            )
        return out

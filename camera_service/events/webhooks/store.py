"""SQL of webhooks and of the durable delivery outbox.

Signing secrets are needed in clear to sign deliveries, so they cannot be hashed: they are encrypted at
rest (camera_service/storage/crypto.py, the same key as camera credentials) in `secret_enc`. The plain
`secret` column of schema v2 is kept only so old databases migrate; it is always NULL from v4 on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from camera_service.core.bus import Severity
from camera_service.events.webhooks.models import Delivery, DeliveryStatus, Webhook
from camera_service.storage.crypto import DecryptError, SecretBox
from camera_service.storage.database import Row, Tx

log = logging.getLogger("camera_service.events.webhooks")

WEBHOOKS_DDL = """
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    topics TEXT NOT NULL,
    cameras TEXT,
    min_severity TEXT,
    secret TEXT,
    enabled INTEGER NOT NULL DEFAULT 1,
    description TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE webhook_outbox (
    id TEXT PRIMARY KEY,
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    body BLOB NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL,
    created_at REAL NOT NULL,
    last_attempt_at REAL,
    delivered_at REAL,
    last_status INTEGER,
    last_error TEXT,
    last_latency_ms REAL
);
CREATE INDEX webhook_outbox_due ON webhook_outbox(status, next_attempt_at);
CREATE INDEX webhook_outbox_webhook ON webhook_outbox(webhook_id, created_at)
"""
# v4: encrypted signing secrets; `encrypt_plain_secrets` moves any v2 plain secret into it.
SECRETS_AT_REST_DDL = "ALTER TABLE webhooks ADD COLUMN secret_enc BLOB"


async def encrypt_plain_secrets(tx: Tx, box: SecretBox) -> int:
    """Data step of migration v4 (runs inside its transaction): encrypt plain secrets, blank them.

    On SQLite, secure_delete makes it zero the freed bytes of the old cells, so the plain text does not
    linger in the page; the caller then truncates the WAL (EventService.start) so no old frame keeps it
    either. (A PostgreSQL database never had plain secrets: it starts at the current schema.)
    """
    rows = await tx.fetch_all("SELECT id, secret FROM webhooks WHERE secret IS NOT NULL")
    if not rows:
        return 0
    sqlite = tx.dialect == "sqlite"
    previous = await tx.fetch_one("PRAGMA secure_delete") if sqlite else None
    if sqlite:
        await tx.execute("PRAGMA secure_delete=ON")
    try:
        for row in rows:
            await tx.execute(
                "UPDATE webhooks SET secret_enc=?, secret=NULL WHERE id=?",
                (box.seal({"secret": row["secret"]}), row["id"]),
            )
    finally:
        if sqlite:
            await tx.execute(f"PRAGMA secure_delete={int(previous[0]) if previous else 0}")
    log.info("webhook secrets encrypted at rest", extra={"webhooks": len(rows)})
    return len(rows)


@dataclass(frozen=True)
class WebhookRow:
    webhook: Webhook
    secret: str | None
    # Set when the stored secret cannot be decrypted (key changed): deliveries are then never sent
    # unsigned; they fail (retried, then dead) until update_webhook sets the secret again.
    secret_error: str | None = None


@dataclass(frozen=True)
class OutboxRow:
    id: str
    webhook_id: str
    event_id: str
    event_type: str
    body: bytes
    attempts: int
    created_at: float


def _webhook(row: Row, box: SecretBox) -> WebhookRow:
    sealed = row["secret_enc"]
    secret: str | None = None
    error: str | None = None
    try:
        secret = box.open(bytes(sealed) if sealed else None).get("secret")
    except DecryptError as exc:
        error = str(exc)
        log.error("signing secret of a webhook cannot be decrypted", extra={"webhook": row["id"]})
    return WebhookRow(
        Webhook(
            id=row["id"],
            url=row["url"],
            topics=json.loads(row["topics"]),
            cameras=json.loads(row["cameras"]) if row["cameras"] is not None else None,
            min_severity=Severity(row["min_severity"]) if row["min_severity"] else None,
            enabled=bool(row["enabled"]),
            description=row["description"],
            has_secret=bool(sealed),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        ),
        secret,
        error,
    )


def _outbox_row(r: Any) -> OutboxRow:
    return OutboxRow(
        r["id"],
        r["webhook_id"],
        r["event_id"],
        r["event_type"],
        bytes(r["body"]),
        r["attempts"],
        r["created_at"],
    )


def _delivery(row: Row) -> Delivery:
    return Delivery(**{k: row[k] for k in Delivery.model_fields})


class WebhookStore:
    def __init__(self, db: Any, box: Callable[[], SecretBox]) -> None:
        self.db = db
        self._box = box  # loads the key on first use

    def _seal(self, secret: str | None) -> bytes | None:
        return self._box().seal({"secret": secret})

    # --- endpoints ---
    async def all(self) -> list[WebhookRow]:
        box = self._box()
        rows = await self.db.fetch_all("SELECT * FROM webhooks ORDER BY created_at")
        return [_webhook(r, box) for r in rows]

    async def insert(self, w: Webhook, secret: str | None) -> None:
        await self.db.execute(
            "INSERT INTO webhooks(id, url, topics, cameras, min_severity, secret_enc, enabled, description, "
            "created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                w.id,
                w.url,
                json.dumps(w.topics),
                json.dumps(w.cameras) if w.cameras is not None else None,
                w.min_severity.value if w.min_severity else None,
                self._seal(secret),
                int(w.enabled),
                w.description,
                w.created_at,
                w.updated_at,
            ),
        )

    async def update(self, w: Webhook, secret: str | None, *, keep_secret: bool = False) -> None:
        """Rewrite a webhook; keep_secret leaves the stored (possibly undecryptable) secret untouched."""
        values: list[Any] = [
            w.url,
            json.dumps(w.topics),
            json.dumps(w.cameras) if w.cameras is not None else None,
            w.min_severity.value if w.min_severity else None,
            int(w.enabled),
            w.description,
            w.updated_at,
        ]
        sealed_column = ""
        if not keep_secret:
            sealed_column = ", secret_enc=?"
            values.append(self._seal(secret))
        await self.db.execute(
            "UPDATE webhooks SET url=?, topics=?, cameras=?, min_severity=?, enabled=?, description=?, "  # noqa: S608
            f"updated_at=?{sealed_column} WHERE id=?",
            [*values, w.id],
        )

    async def delete(self, webhook_id: str) -> bool:
        return bool(await self.db.execute("DELETE FROM webhooks WHERE id=?", (webhook_id,)))

    # --- outbox ---
    @staticmethod
    def enqueue_statement(
        delivery_id: str, webhook_id: str, *, event_id: str, event_type: str, body: bytes, now: float
    ) -> tuple[str, Sequence[Any]]:
        return (
            "INSERT INTO webhook_outbox(id, webhook_id, event_id, event_type, body, status, attempts, "
            "next_attempt_at, created_at) VALUES (?,?,?,?,?,'pending',0,?,?)",
            (delivery_id, webhook_id, event_id, event_type, body, now, now),
        )

    async def due(
        self, now: float, limit: int, exclude: Sequence[str], *, lease_s: float = 60.0
    ) -> list[OutboxRow]:
        """Due deliveries for this worker. PostgreSQL (several instances, each with a worker): claimed with
        FOR UPDATE SKIP LOCKED and leased for `lease_s` (next_attempt_at moves past the attempt), so no
        other instance takes them; a worker that dies mid-attempt leaves them due again after the lease.
        SQLite (one instance): read as before, the worker's in-flight set keeps them from being re-sent."""
        if getattr(self.db, "dialect", "sqlite") == "postgresql":
            return await self._claim(now, limit, lease_s)
        args: list[Any] = [now]
        skip = ""
        if exclude:
            skip = f" AND o.id NOT IN ({','.join('?' * len(exclude))})"
            args.extend(exclude)
        args.append(limit)
        rows = await self.db.fetch_all(
            "SELECT o.id, o.webhook_id, o.event_id, o.event_type, o.body, o.attempts, o.created_at "  # noqa: S608
            "FROM webhook_outbox o JOIN webhooks w ON w.id=o.webhook_id "
            f"WHERE o.status='pending' AND o.next_attempt_at<=? AND w.enabled=1{skip} "
            "ORDER BY o.next_attempt_at LIMIT ?",
            args,
        )
        return [_outbox_row(r) for r in rows]

    async def _claim(self, now: float, limit: int, lease_s: float) -> list[OutboxRow]:
        rows = await self.db.fetch_all(
            "UPDATE webhook_outbox SET next_attempt_at=? WHERE id IN ("
            "SELECT o.id FROM webhook_outbox o JOIN webhooks w ON w.id=o.webhook_id "
            "WHERE o.status='pending' AND o.next_attempt_at<=? AND w.enabled=1 "
            "ORDER BY o.next_attempt_at LIMIT ? FOR UPDATE OF o SKIP LOCKED) "
            "RETURNING id, webhook_id, event_id, event_type, body, attempts, created_at",
            (now + lease_s, now, limit),
        )
        return [_outbox_row(r) for r in rows]

    async def next_due_at(self) -> float | None:
        row = await self.db.fetch_one(
            "SELECT MIN(o.next_attempt_at) FROM webhook_outbox o JOIN webhooks w ON w.id=o.webhook_id "
            "WHERE o.status='pending' AND w.enabled=1"
        )
        return float(row[0]) if row and row[0] is not None else None

    async def record_attempt(
        self,
        delivery_id: str,
        *,
        status: DeliveryStatus,
        attempts: int,
        now: float,
        next_attempt_at: float | None,
        http_status: int | None,
        error: str | None,
        latency_ms: float | None,
    ) -> None:
        await self.db.execute(
            "UPDATE webhook_outbox SET status=?, attempts=?, last_attempt_at=?, next_attempt_at=?, "
            "last_status=?, last_error=?, last_latency_ms=?, "
            "delivered_at=CASE WHEN ?='delivered' THEN ? ELSE delivered_at END "
            "WHERE id=?",
            (
                status.value,
                attempts,
                now,
                next_attempt_at,
                http_status,
                error,
                latency_ms,
                status.value,
                now,
                delivery_id,
            ),
        )

    async def defer(self, delivery_id: str, until: float) -> None:
        await self.db.execute(
            "UPDATE webhook_outbox SET next_attempt_at=? WHERE id=? AND status='pending'",
            (until, delivery_id),
        )

    async def list(
        self, webhook_id: str | None, status: DeliveryStatus | None, limit: int, before: float | None
    ) -> list[Delivery]:
        where: list[str] = []
        args: list[Any] = []
        if webhook_id:
            where.append("webhook_id=?")
            args.append(webhook_id)
        if status:
            where.append("status=?")
            args.append(status.value)
        if before is not None:
            where.append("created_at<?")
            args.append(before)
        sql = "SELECT * FROM webhook_outbox" + (" WHERE " + " AND ".join(where) if where else "")  # noqa: S608
        rows = await self.db.fetch_all(sql + " ORDER BY created_at DESC, id LIMIT ?", [*args, limit])
        return [_delivery(r) for r in rows]

    async def get(self, delivery_id: str) -> Delivery | None:
        row = await self.db.fetch_one("SELECT * FROM webhook_outbox WHERE id=?", (delivery_id,))
        return _delivery(row) if row else None

    async def redrive(self, delivery_id: str, now: float) -> bool:
        return bool(
            await self.db.execute(
                "UPDATE webhook_outbox SET status='pending', attempts=0, next_attempt_at=? "
                "WHERE id=? AND status='dead'",
                (now, delivery_id),
            )
        )

    async def counts(self) -> dict[str, int]:
        rows = await self.db.fetch_all("SELECT status, COUNT(*) AS n FROM webhook_outbox GROUP BY status")
        return {r["status"]: int(r["n"]) for r in rows}

    async def prune_delivered(self, older_than: float) -> int:
        return int(
            await self.db.execute(
                "DELETE FROM webhook_outbox WHERE status='delivered' AND delivered_at<?", (older_than,)
            )
        )

"""Webhook secrets at rest: migration v4 encrypts the plain secrets of an older database (and leaves no
plain copy in the .db/-wal/-shm files), and a secret that cannot be decrypted (key changed) is never
used to send unsigned deliveries nor silently dropped by an unrelated update."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.fernet import Fernet

from camera_service.core.bus import EventBus
from camera_service.events.config import EventsConfig
from camera_service.events.rules.store import RULES_DDL
from camera_service.events.service import EventService
from camera_service.events.store import migrations
from camera_service.events.webhooks.store import WEBHOOKS_DDL
from camera_service.observability.metrics import Metrics
from camera_service.storage.crypto import SecretBox
from camera_service.storage.database import Database, Migration
from camera_service.storage.factory import database_for_url
from tests.unit.fakes import rule_deps

PLAIN = "legacy-plain-secret-7f3a9c21d4"


async def _v3_database_with_plain_secret(path: Path | str) -> None:
    """A database as the events domain left it before secrets were encrypted (schema v3)."""
    db = database_for_url(path if isinstance(path, str) else f"sqlite:///{path}")
    db.register("events", migrations([Migration(2, WEBHOOKS_DDL), Migration(3, RULES_DDL)]))
    await db.start()
    await db.execute(
        "INSERT INTO webhooks(id, url, topics, cameras, min_severity, secret, enabled, description, "
        "created_at, updated_at) VALUES ('wh_old','http://127.0.0.1:9/hook',?,NULL,NULL,?,1,'',1.0,1.0)",
        (json.dumps(["*"]), PLAIN),
    )
    await db.stop()


def _events(path: Path | str, key: bytes) -> tuple[Database, EventService]:
    db = database_for_url(path if isinstance(path, str) else f"sqlite:///{path}")
    box = SecretBox(key)
    deps = rule_deps()
    events = EventService(
        EventsConfig(),
        db,
        EventBus(),
        Metrics(),
        secret_box=lambda: box,
        cameras=deps.cameras,
        recordings=deps.recordings,
        rule_deps=deps,
    )
    return db, events


def _files(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file()}


async def test_migration_encrypts_plain_secrets_and_leaves_no_copy(tmp_path: Path) -> None:
    path = tmp_path / "camera-service.db"
    await _v3_database_with_plain_secret(path)
    assert any(PLAIN.encode() in data for data in _files(path).values())  # the premise: it is there

    key = Fernet.generate_key()
    db, events = _events(path, key)
    await db.start()  # migration v4 runs here
    await events.start()  # empties the WAL that still held the old pages
    try:
        row = events.webhooks.get("wh_old")
        assert row is not None and row.secret == PLAIN and row.secret_error is None
        assert row.webhook.has_secret is True
        stored = await db.fetch_one("SELECT secret, secret_enc FROM webhooks WHERE id='wh_old'")
        assert stored is not None and stored["secret"] is None
        assert SecretBox(key).open(bytes(stored["secret_enc"])) == {"secret": PLAIN}
        files = _files(path)
        assert "camera-service.db" in files
        for name, data in files.items():
            assert PLAIN.encode() not in data, name
    finally:
        await events.stop()
        await db.stop()

    # Applied once: a second start neither re-runs it nor changes the secret.
    db, events = _events(path, key)
    await db.start()
    await events.webhooks.load()
    row = events.webhooks.get("wh_old")
    assert row is not None and row.secret == PLAIN
    await db.stop()


async def test_undecryptable_secret_is_kept_and_never_sent_unsigned(tmp_path: Path) -> None:
    path = tmp_path / "camera-service.db"
    await _v3_database_with_plain_secret(path)
    db, events = _events(path, Fernet.generate_key())
    await db.start()
    await db.stop()

    db, events = _events(path, Fernet.generate_key())  # the key changed
    await db.start()
    try:
        await events.webhooks.load()
        row = events.webhooks.get("wh_old")
        assert row is not None and row.secret is None and row.secret_error is not None
        assert row.webhook.has_secret is True
        before = await db.fetch_one("SELECT secret_enc FROM webhooks WHERE id='wh_old'")

        result = await events.outbox.send_now("wh_old", b"{}", "evt_1", "alarm.x", "dlv_1")
        assert result is not None and result.status is None and "decrypted" in (result.error or "")

        hook = await events.webhooks.update("wh_old", description="renamed")
        assert hook is not None and hook.has_secret is True
        after = await db.fetch_one("SELECT secret_enc FROM webhooks WHERE id='wh_old'")
        assert before is not None and after is not None and after["secret_enc"] == before["secret_enc"]

        await events.webhooks.update("wh_old", secret="a-fresh-secret-0123456789")
        row = events.webhooks.get("wh_old")
        assert row is not None and row.secret == "a-fresh-secret-0123456789" and row.secret_error is None
    finally:
        await db.stop()


async def test_migration_data_step_runs_on_postgresql(pg_url: str) -> None:
    """The same migration v4 (DDL + its data step) on PostgreSQL: the plain secret is encrypted."""
    await _v3_database_with_plain_secret(pg_url)
    key = Fernet.generate_key()
    db, events = _events(pg_url, key)
    await db.start()
    try:
        await events.webhooks.load()
        row = events.webhooks.get("wh_old")
        assert row is not None and row.secret == PLAIN and row.secret_error is None
        stored = await db.fetch_one("SELECT secret, secret_enc FROM webhooks WHERE id='wh_old'")
        assert stored is not None and stored["secret"] is None
        assert SecretBox(key).open(bytes(stored["secret_enc"])) == {"secret": PLAIN}
        versions = await db.fetch_all("SELECT version FROM schema_migrations WHERE domain='events'")
        assert sorted(r[0] for r in versions) == [1, 2, 3, 4, 5]
    finally:
        await db.stop()

"""Webhook signing secrets are encrypted at rest: after add_webhook/update_webhook the secret's bytes are
in none of the database files (.db, -wal, -shm), yet deliveries carry valid signatures, also after a
restart on the same data directory (the key file is reused)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from tests.harness.webhook_receiver import webhook_receiver
from tests.integration.test_events_webhooks import FAST, doc_verifier

pytestmark = pytest.mark.integration


def db_files(data_dir: Path) -> list[Path]:
    files = [p for p in data_dir.glob("camera-service.db*") if p.is_file()]
    assert any(p.name == "camera-service.db" for p in files), files
    return files


def assert_nowhere(secret: str, files: list[Path]) -> None:
    needle = secret.encode()
    for path in files:
        assert needle not in path.read_bytes(), f"webhook secret found in plain text in {path.name}"


async def test_webhook_secret_encrypted_at_rest_and_signing_survives_restart(
    service_factory: Any, tmp_path: Path
) -> None:
    verify = doc_verifier()
    first = "whsec-" + secrets.token_hex(16)
    second = "whsec-" + secrets.token_hex(16)
    data_dir = tmp_path / "svc"
    async with webhook_receiver() as rx:
        async with service_factory(overrides=FAST, data_dir=data_dir) as svc:
            admin = await svc.client()
            hook = await admin.call("add_webhook", {"url": rx.url, "topics": ["alarm.*"], "secret": first})
            assert hook["has_secret"] is True
            await admin.call("create_event", {"type": "alarm.one"})
            got = (await rx.wait_for(1))[0]
            assert verify(first, got.headers, got.body)
            assert json.loads(got.body)["webhook"] == hook["id"]
            assert_nowhere(first, db_files(data_dir))

            # Changing other fields keeps the (encrypted) secret; a new secret replaces it.
            await admin.call("update_webhook", {"id": hook["id"], "description": "door panel"})
            await admin.call("create_event", {"type": "alarm.two"})
            got = (await rx.wait_for(2))[1]
            assert verify(first, got.headers, got.body)
            await admin.call("update_webhook", {"id": hook["id"], "secret": second})
            assert_nowhere(second, db_files(data_dir))
            assert_nowhere(first, db_files(data_dir))

        # After the run (WAL checkpointed on close) and across a restart: still nowhere, still signing.
        assert_nowhere(second, db_files(data_dir))
        async with service_factory(overrides=FAST, data_dir=data_dir) as svc2:
            admin = await svc2.client()
            listed = await admin.call("list_webhooks")
            assert [(h["id"], h["has_secret"], h["description"]) for h in listed] == [
                (hook["id"], True, "door panel")
            ]
            await admin.call("create_event", {"type": "alarm.three"})
            got = (await rx.wait_for(3))[2]
            assert json.loads(got.body)["event"]["type"] == "alarm.three"
            assert verify(second, got.headers, got.body)
            assert not verify(first, got.headers, got.body)
            result = await admin.call("test_webhook", {"id": hook["id"]})
            assert result["delivered"] is True
            assert verify(second, rx.requests[-1].headers, rx.requests[-1].body)
            assert_nowhere(second, db_files(data_dir))

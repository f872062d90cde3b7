"""Backup -> wipe the data dir -> restore -> the same cameras, users, API keys, webhooks, rules, events and
snapshots, and the restored pull camera streams again. An older database (events schema v1) restores and is
migrated at start; a backup from a newer schema is refused."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from camera_service.events.store import migrations as event_migrations
from camera_service.storage.sqlite import SqliteDatabase as Database
from tests.harness.mediamtx import REPO_ROOT, MediaMTXInstance
from tests.harness.rpc_client import RpcClient
from tests.harness.service import run_service, service_config
from tests.integration.cameras_helpers import wait_camera

pytestmark = pytest.mark.integration


async def cli(config: Path, *args: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMERA_SERVICE_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "camera_service", "-c", str(config), *args,
        cwd=REPO_ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


def _config(tmp_path: Path, data: Path) -> tuple[dict[str, Any], Path]:
    cfg = service_config(data)
    path = tmp_path / "service.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return cfg, path


async def _state(admin: RpcClient) -> dict[str, Any]:
    cameras = (await admin.call("list_cameras"))["cameras"]
    return {
        "cameras": [{k: v for k, v in c.items() if k not in ("live", "status")} for c in cameras],
        "keys": await admin.call("list_api_keys"),
        "users": [
            {k: v for k, v in u.items() if k not in ("active_sessions", "last_login_at")}
            for u in (await admin.call("list_users"))["users"]
        ],
        "webhooks": await admin.call("list_webhooks"),
        "rules": await admin.call("list_rules"),
        "events": [e["id"] for e in (await admin.call("list_events", {"limit": 100}))["events"]],
        "snapshots": [s["id"] for s in (await admin.call("list_snapshots", {}))["files"]],
    }


async def test_backup_wipe_restore_roundtrip(
    tmp_path: Path, mediamtx: MediaMTXInstance, test_camera_factory: Any
) -> None:
    data = tmp_path / "data"
    cfg, config = _config(tmp_path, data)
    feed = mediamtx.rtsp_url("feed1")
    await test_camera_factory(feed)
    async with run_service(cfg) as svc:
        admin = await svc.client()
        await admin.call(
            "add_camera", {"id": "gate", "source": feed, "username": "u", "password": "cam-pw-1"}
        )
        await wait_camera(admin, "gate", status="ONLINE", timeout=30)
        await admin.call("take_snapshot", {"camera": "gate"}, timeout=40)
        key = (await admin.call("create_api_key", {"name": "nightly", "role": "viewer"}))["key"]
        await admin.call(
            "create_user", {"username": "alice", "password": "correct-horse-1", "role": "operator"}
        )
        hook = await admin.call("add_webhook", {"url": "http://127.0.0.1:9/hook", "secret": "hook-secret-1"})
        await admin.call(
            "add_rule",
            {
                "name": "gate alarm",
                "trigger": {"topics": ["alarm.*"], "cameras": ["gate"]},
                "actions": [{"type": "webhook", "params": {"id": hook["id"]}}],
            },
        )
        await admin.call("create_event", {"type": "alarm.door", "camera": "gate"})
        before = await _state(admin)
        # Online: the service keeps running (and writing) while the backup is taken.
        rc, out = await cli(config, "backup", "create", "-o", str(tmp_path / "b.tar.gz"), "--with-media")
        assert rc == 0, out
    assert before["snapshots"] and before["events"] and len(before["keys"]) >= 1
    archive = tmp_path / "b.tar.gz"
    assert archive.stat().st_mode & 0o077 == 0  # it holds the keys: owner only
    rc, out = await cli(config, "backup", "inspect", str(archive))
    assert rc == 0 and json.loads(out[out.index("{") :])["schema"]["events"] >= 4, out

    shutil.rmtree(data)
    rc, out = await cli(config, "backup", "restore", str(archive))
    assert rc == 0, out
    rc, out = await cli(config, "backup", "restore", str(archive))  # a database is there now
    assert rc == 1 and "--force" in out, out

    async with run_service(cfg) as svc:
        admin = await svc.client()
        after = await _state(admin)
        # Every event from before is back (the restarted service adds its own, e.g. the camera coming online).
        assert set(before.pop("events")) <= set(after.pop("events"))
        assert after == before
        await wait_camera(admin, "gate", status="ONLINE", timeout=30)  # pulls again, decrypted credentials
        sources = {c["name"]: c["source"] for c in await svc.app.services.mediamtx.client.list_path_configs()}
        assert sources["gate"] == feed.replace("rtsp://", "rtsp://u:cam-pw-1@")
        assert any((data / "snapshots").rglob("*.jpg"))  # --with-media brought the file back
        # The restored key and user authenticate (their hashes came back; the JWT secret too).
        async with await RpcClient.connect(svc.ws_url) as viewer:
            who = await viewer.call("authenticate", {"auth_token": key})
            assert who["role"] == "viewer"
        async with await RpcClient.connect(svc.ws_url) as person:
            session = await person.call("login", {"username": "alice", "password": "correct-horse-1"})
            assert session["role"] == "operator"


async def test_older_database_restores_and_migrates(tmp_path: Path) -> None:
    data = tmp_path / "old"
    cfg, config = _config(tmp_path, data)
    # An older install: only the events table (events schema v1), one event in it.
    db = Database(data / "camera-service.db")
    db.register("events", event_migrations())
    await db.start()
    await db.execute(
        "INSERT INTO events(id, type, camera, time, severity, severity_rank, data) "
        "VALUES ('ev_old', 'alarm.legacy', NULL, ?, 'high', 3, '{\"zone\": 4}')",
        (time.time() - 3600,),  # within the events retention
    )
    await db.stop()
    rc, out = await cli(config, "backup", "create", "-o", str(tmp_path / "old.tar.gz"))
    assert rc == 0, out
    shutil.rmtree(data)
    rc, out = await cli(config, "backup", "restore", str(tmp_path / "old.tar.gz"))
    assert rc == 0, out
    async with run_service(cfg) as svc:  # migrations events 2..5 and every other domain run here
        admin = await svc.client()
        event = await admin.call("get_event", {"id": "ev_old"})
        assert event["type"] == "alarm.legacy" and event["data"] == {"zone": 4}
        assert await admin.call("list_webhooks") == []
    with sqlite3.connect(data / "camera-service.db") as conn:
        versions = dict(conn.execute("SELECT domain, MAX(version) FROM schema_migrations GROUP BY domain"))
    assert versions["events"] == 5 and {"cameras", "auth", "recordings"} <= set(versions)


async def test_backup_from_a_newer_schema_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "new"
    cfg, config = _config(tmp_path, data)
    async with run_service(cfg):
        pass  # a current database
    with sqlite3.connect(data / "camera-service.db") as conn:
        conn.execute("INSERT INTO schema_migrations(domain, version) VALUES ('events', 99)")
    rc, out = await cli(config, "backup", "create", "-o", str(tmp_path / "new.tar.gz"))
    assert rc == 0, out
    target = tmp_path / "empty"
    (tmp_path / "second").mkdir()
    _, config2 = _config(tmp_path / "second", target)
    rc, out = await cli(config2, "backup", "restore", str(tmp_path / "new.tar.gz"))
    assert rc == 1
    assert "newer camera-service schema" in out and "events is at version 99" in out, out
    assert "knows up to 5" in out
    assert not (target / "camera-service.db").exists()  # nothing restored

"""The real service on PostgreSQL (storage.database_url = a private server's database): cameras, events and
recordings are written there, survive a restart, and nothing lands in a SQLite file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.harness.procs import wait_for
from tests.integration.cameras_helpers import wait_camera

pytestmark = pytest.mark.integration


async def test_service_on_postgresql_keeps_cameras_events_and_recordings_across_a_restart(
    service_factory: Any, test_camera_factory: Any, pg_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "svc"
    overrides = {"storage": {"database_url": pg_url}, "recordings": {"segment_duration_s": 2}}
    async with service_factory(data_dir=data_dir, overrides=overrides) as svc:
        rpc = await svc.client()
        status = await rpc.call("get_status")
        db_health = status["components"]["database"]
        assert db_health["details"]["engine"] == "postgresql" and "password" not in str(db_health)
        await rpc.call("add_camera", {"id": "cam1", "name": "one", "source": "publisher", "tags": ["pg"]})
        await test_camera_factory(await svc.publish_url("cam1"), width=320, height=240, fps=25, gop=25)
        # ONLINE before recording starts: MediaMTX refuses a publisher whose path config changed between
        # its ANNOUNCE and RECORD, and ffmpeg does not retry.
        await wait_camera(rpc, "cam1", status="ONLINE")
        await rpc.call("start_recording", {"camera": "cam1"})

        async def indexed() -> list[dict[str, Any]] | None:
            files = (await rpc.call("list_recordings", {"camera": "cam1"}))["files"]
            return files or None

        recorded = await wait_for(indexed, 30, 0.3)
        await rpc.call("stop_recording", {"camera": "cam1"})
        made = await rpc.call("create_event", {"type": "alarm.door", "camera": "cam1", "data": {"d": 1}})

        async def stored() -> list[dict[str, Any]] | None:
            events = (await rpc.call("list_events", {"type": "alarm.door"}))["events"]
            return events or None

        assert [e["id"] for e in await wait_for(stored, 15, 0.2)] == [made["id"]]

    assert not (data_dir / "camera-service.db").exists()  # the records went to PostgreSQL only
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT COUNT(*) FROM cameras WHERE id='cam1'").fetchone()
        assert row is not None and row[0] == 1

    async with service_factory(data_dir=data_dir, overrides=overrides) as svc:
        rpc = await svc.client()
        cameras = (await rpc.call("list_cameras", {}))["cameras"]
        assert [(c["id"], c["name"], c["tags"]) for c in cameras] == [("cam1", "one", ["pg"])]
        events = (await rpc.call("list_events", {"type": "alarm.door"}))["events"]
        assert [(e["id"], e["data"]) for e in events] == [(made["id"], {"d": 1})]
        files = (await rpc.call("list_recordings", {"camera": "cam1"}))["files"]
        first = recorded[0]
        assert any(
            f.get("filename", f.get("name")) == first.get("filename", first.get("name")) for f in files
        )

"""Event clips in a cluster (docs/scale-out.md): an event with a clip raised on an instance that does not
own the camera is cut exactly once, by the owner (which holds the recordings), and the clip decodes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.harness.cluster import run_cluster
from tests.harness.ffmpeg import TestCamera
from tests.harness.mediamtx import MediaMTXInstance
from tests.harness.procs import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

OVERRIDES = {
    "recordings": {"segment_duration_s": 2.0, "part_duration_s": 0.5, "retention": {"enabled": False}},
    "events": {"clip_settle_s": 1.0},
}


async def _rows(pg_url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        cur = await conn.execute(sql, args)
        return list(await cur.fetchall())


async def _owner(pg_url: str, camera: str) -> str | None:
    rows = await _rows(
        pg_url,
        "SELECT instance_id FROM camera_owner WHERE camera_id = %s "
        "AND lease_expires_at > EXTRACT(EPOCH FROM clock_timestamp())::float8",
        camera,
    )
    return str(rows[0][0]) if rows else None


async def _decodes(path: Path) -> str:
    """ffmpeg's complaints while decoding every frame of the file ("" when it decodes cleanly)."""
    proc = await asyncio.create_subprocess_exec(
        "ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await proc.communicate()
    return f"rc={proc.returncode} {err.decode(errors='replace')}" if proc.returncode or err.strip() else ""


async def test_clip_of_an_event_raised_on_a_non_owner_is_cut_once_by_the_owner(
    pg_url: str, mediamtx: MediaMTXInstance, tmp_path: Path
) -> None:
    source = TestCamera(mediamtx.rtsp_url("src"), width=160, height=120, fps=10, gop=10)
    await source.start()
    try:
        async with run_cluster(2, pg_url, tmp_path, OVERRIDES) as nodes:
            admin = await nodes[0].client()
            await admin.call("add_camera", {"id": "cam1", "source": mediamtx.rtsp_url("src")})
            await admin.call("set_recording_policy", {"camera": "cam1", "policy": {"mode": "continuous"}})
            since = time.time()
            owner_id = await wait_for(lambda: _owner(pg_url, "cam1"), 60, 0.5, message="cam1 got no owner")
            owner = next(n for n in nodes if n.instance_id == owner_id)
            other = next(n for n in nodes if n.instance_id != owner_id)

            # The pre-roll is recorded (by the owner) before the event.
            async def recorded() -> bool:
                rows = await _rows(
                    pg_url, "SELECT COUNT(*) FROM rec_segments WHERE camera='cam1' AND start >= %s", since
                )
                return int(rows[0][0]) >= 3

            await wait_for(recorded, 60, 0.5, message="the owner records no segments of cam1")

            client = await other.client()
            event = await client.call(
                "create_event",
                {"type": "alarm.motion", "camera": "cam1", "clip": {"pre_s": 3, "post_s": 2}},
            )
            assert event["clip_state"] == "pending"

            async def ready() -> dict[str, Any] | None:
                got: dict[str, Any] = await client.call("get_event", {"id": event["id"]})
                assert got["clip_state"] != "failed", got
                return got if got["clip_state"] == "ready" else None

            linked = await wait_for(ready, 60, 0.5, message="the event's clip was not cut")

            # Exactly one clip, cut and written by the owner; the event's claim names the owner.
            # A few sweep intervals (events/clips.py CLIP_SWEEP_S = 2 s) later there is still one.
            await asyncio.sleep(5.0)
            clips = await _rows(pg_url, "SELECT id, owner, path FROM rec_clips WHERE kind='event'")
            assert [(c[0], c[1]) for c in clips] == [(linked["clip_id"], owner_id)], clips
            claim = await _rows(pg_url, "SELECT clip_owner FROM events WHERE id=%s", event["id"])
            assert claim == [(owner_id,)]
            path = Path(clips[0][2])
            assert not path.is_absolute(), path  # relative to each instance's clips root
            on_owner = owner.data_dir / "clips" / path
            assert on_owner.is_file() and on_owner.stat().st_size > 0, on_owner
            assert not (other.data_dir / "clips" / path).exists()
            assert await _decodes(on_owner) == ""
            clip = await admin.call("get_clip", {"id": linked["clip_id"]})
            assert 5.0 * 0.7 <= clip["duration_s"] <= 5.0 * 1.4, clip
    finally:
        await source.stop()

"""Recording through MediaMTX's native recorder: segments indexed, decodable, timeline, export, timed
sessions, conflicts, retention with a locked clip. One service for the module (4 s segments, 320x240)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio

from camera_service.media.imaging import decode_all, probe_file
from tests.harness.ffmpeg import TestCamera
from tests.harness.procs import wait_for
from tests.harness.rpc_client import RpcCallError, RpcClient
from tests.harness.service import RunningService, run_service, service_config
from tests.integration.cameras_helpers import wait_camera

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

SEGMENT_S = 4
FPS = 25


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def svc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningService]:
    data = tmp_path_factory.mktemp("rec")
    overrides = {"recordings": {"segment_duration_s": SEGMENT_S, "retention": {"enabled": False}}}
    async with run_service(service_config(data, overrides=overrides)) as running:
        cams = []
        for cam_id in ("cam1", "cam2"):
            cams.append(
                TestCamera(
                    await running.publish_url(cam_id),
                    width=320,
                    height=240,
                    fps=FPS,
                    gop=FPS,
                    log_path=data / f"{cam_id}.log",
                )
            )
        rpc = await running.client()
        for cam in ("cam1", "cam2"):
            await rpc.call("add_camera", {"id": cam, "name": cam, "source": "publisher"})
        for c in cams:
            await c.start()
        try:
            # The tests toggle recording (a path config change): MediaMTX refuses a publisher whose path
            # config changed between its ANNOUNCE and RECORD, and ffmpeg does not retry.
            for cam in ("cam1", "cam2"):
                await wait_camera(rpc, cam, status="ONLINE")
            yield running
        finally:
            for c in cams:
                await c.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def client(svc: RunningService) -> RpcClient:
    return await svc.client()


async def segments(rpc: RpcClient, camera: str, **extra: Any) -> list[dict[str, Any]]:
    res = await rpc.call("list_recordings", {"camera": camera, "limit": 1000, **extra})
    return list(res["files"])


async def settled(rpc: RpcClient, camera: str, at_least: int = 1) -> list[dict[str, Any]]:
    """Segments once the index stopped changing (the last segment's hook arrives after the stop)."""
    previous: list[dict[str, Any]] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        files = await segments(rpc, camera)
        if len(files) >= at_least and [f["id"] for f in files] == [f["id"] for f in previous]:
            return files
        previous = files
        await asyncio.sleep(1.5)
    raise AssertionError(f"segments of {camera} never settled: {len(previous)}")


async def record(rpc: RpcClient, camera: str, seconds: float) -> dict[str, Any]:
    started = await rpc.call("start_recording", {"camera": camera})
    await asyncio.sleep(seconds)
    stopped = await rpc.call("stop_recording", {"camera": camera})
    assert stopped["status"] == "STOPPED" and stopped["session_id"] == started["session_id"]
    return dict(stopped)


async def test_record_12s_gives_decodable_segments_and_one_timeline_range(
    svc: RunningService, client: RpcClient
) -> None:
    t0 = time.time()
    await record(client, "cam1", 12.5)
    root = svc.settings.storage.recordings_path

    # The final segment's hook may still be on its way: wait until every file on disk is indexed (the
    # recording has stopped, so no new file appears).
    async def indexed() -> list[dict[str, Any]] | None:
        files = await segments(client, "cam1")
        on_disk = {p.relative_to(root).as_posix() for p in (root / "cam1").glob("*.mp4")}
        complete = {f["filename"] for f in files} == on_disk
        return (
            files
            if complete and len(files) >= 3 and sum(f["duration_s"] for f in files) >= 12 * 0.85
            else None
        )

    files = await wait_for(indexed, 30, 0.3, message="segments never indexed")
    total = 0.0
    for f in files:
        path = root / f["filename"]
        assert f["codec"] == "h264" and (f["width"], f["height"]) == (320, 240)
        assert f["file_size"] == path.stat().st_size
        # Every indexed second decodes: the frames match the indexed duration at the camera's rate. A stop
        # that lands just after a segment split leaves a one-frame last segment (0.04 s, span 0): real media.
        frames, span = await asyncio.to_thread(decode_all, path)
        assert frames >= 1 and abs(frames - f["duration_s"] * FPS) <= 1, (f, frames)
        assert abs(span - (frames - 1) / FPS) < 0.05, (f, frames, span)
        total += f["duration_s"]
    assert 12 * 0.85 <= total <= 12.5 * 1.15, total
    timeline = await client.call("get_timeline", {"camera": "cam1", "start": t0 - 5, "end": time.time() + 1})
    assert len(timeline["ranges"]) == 1, timeline
    assert timeline["segments"] == len(files)
    assert abs(timeline["recorded_s"] - total) < 1.5


async def test_export_across_a_segment_boundary(svc: RunningService, client: RpcClient) -> None:
    await client.call("start_recording", {"camera": "cam2"})
    t_start = time.time()
    try:
        await asyncio.sleep(1)
        # [t+2, t+8] spans at least one 4 s boundary; the call waits until the end is recorded.
        start = datetime.fromtimestamp(t_start + 2, UTC).isoformat()
        end = datetime.fromtimestamp(t_start + 8, UTC).isoformat()
        clip = await client.call(
            "export_clip", {"camera": "cam2", "start": start, "end": end, "name": "x"}, timeout=60
        )
    finally:
        await client.call("stop_recording", {"camera": "cam2"})
    path = svc.settings.storage.clips_path / clip["filename"]
    assert path.stat().st_size == clip["file_size"] > 0
    frames, span = await asyncio.to_thread(decode_all, path)
    info = await asyncio.to_thread(probe_file, path)
    assert info.codec == "h264"
    assert abs((info.duration_s or 0) - 6.0) <= 0.6, info
    assert frames >= 6 * 25 * 0.85 and span >= 5.0
    assert clip["thumbnail_url"] and clip["download_url"]
    thumb = path.with_suffix(".jpg").read_bytes()
    assert thumb[:3] == b"\xff\xd8\xff"
    got = await client.call("get_clip", {"id": clip["id"]})
    assert got["id"] == clip["id"] and got["locked"] is False

    # The playback export spans segment files: the covered segments are more than one. The last one is
    # indexed by the segment-complete hook after stop_recording, asynchronously: poll for it.
    async def covering() -> bool:
        return len(await segments(client, "cam2", start=start, end=end)) >= 2

    await wait_for(covering, timeout=15)


async def test_timed_recording_stops_by_itself_and_a_new_start_works(client: RpcClient) -> None:
    notes = client
    res = await client.call("start_recording", {"device": "cam1", "duration_seconds": 3})
    assert res["status"] == "STARTED" and res["duration"] == 3 and res["device"] == "cam1"
    with pytest.raises(RpcCallError) as err:
        await client.call("start_recording", {"camera": "cam1"})
    assert err.value.code == -32005 and err.value.data["current"]["id"] == res["session_id"]
    note = await notes.next_notification(
        "recording_status_update", timeout=20, where=lambda p: p["status"] == "STOPPED"
    )
    stopped = note["params"]
    assert stopped["session_id"] == res["session_id"] and stopped["reason"] == "timer"
    status = await client.call("get_recording_status", {"camera": "cam1"})
    assert status["recording"] is False and status["session"] is None
    assert status["last_session"]["stop_reason"] == "timer"
    again = await client.call("start_recording", {"camera": "cam1", "duration_s": 1})
    assert again["session_id"] != res["session_id"]
    await wait_for(lambda: _not_recording(client, "cam1"), 10, 0.2)


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


async def _not_recording(client: RpcClient, cam: str) -> bool:
    return not (await client.call("get_recording_status", {"camera": cam}))["recording"]


async def test_bad_input_is_refused_and_changes_nothing(client: RpcClient) -> None:
    for params in (
        {"camera": "cam1", "duration_s": 3, "duration_minutes": 1},
        {"camera": "cam1", "device": "cam2"},
        {"camera": "cam1", "duration_seconds": 99999},
    ):
        with pytest.raises(RpcCallError) as err:
            await client.call("start_recording", params)
        assert err.value.code == -32602
    with pytest.raises(RpcCallError) as err:
        await client.call("start_recording", {"camera": "nope"})
    assert err.value.code == -32004
    with pytest.raises(RpcCallError) as err:
        await client.call("stop_recording", {"camera": "cam2"})
    assert err.value.code == -32013
    assert (await client.call("get_recording_status", {"camera": "cam1"}))["recording"] is False


async def test_size_cap_retention_deletes_oldest_and_keeps_the_locked_clip(
    svc: RunningService, client: RpcClient
) -> None:
    await record(client, "cam2", 9)
    files = await settled(client, "cam2", 3)
    files = sorted(files, key=lambda f: f["start"])
    # Lock a clip over the OLDEST segment: retention must keep it and the segment it covers.
    oldest = files[0]
    clip = await client.call(
        "export_clip",
        {"camera": "cam2", "start": oldest["start"], "end": oldest["end"], "lock": True},
        timeout=60,
    )
    assert clip["locked"] is True
    total = sum(f["file_size"] for f in files)
    cap_gb = (total // 3) / 1e9
    dry = await client.call("run_retention", {"dry_run": True})
    assert dry["deleted_count"] == 0  # no limits yet
    await client.call("set_retention_settings", {"settings": {"continuous": {"max_size_gb": cap_gb}}})
    planned = await client.call("run_retention", {"dry_run": True})
    assert planned["deleted_count"] > 0
    assert len(await segments(client, "cam2")) == len(files)  # dry run deleted nothing
    done = await client.call("run_retention", {"dry_run": False})
    assert [d["key"] for d in done["deleted"]] == [d["key"] for d in planned["deleted"]]
    deleted = {d["key"] for d in done["deleted"]}
    assert oldest["filename"] not in deleted  # inside the locked clip's range

    # Oldest first: every deleted segment is older than every kept unprotected one. The locked clip
    # protects every segment its range touches: besides the oldest, the next one when their boundary
    # timestamps overlap by a few milliseconds (a flake when the test counted that one as "kept").
    def protected(f: dict[str, Any]) -> bool:
        return _ts(f["start"]) < _ts(clip["end"]) and _ts(f["end"]) > _ts(clip["start"])

    kept = [f for f in files if f["filename"] not in deleted and not protected(f)]
    deleted_files = [f for f in files if f["filename"] in deleted]
    if kept and deleted_files:
        assert max(f["start"] for f in deleted_files) < min(f["start"] for f in kept)
    assert (await client.call("get_clip", {"id": clip["id"]}))["locked"] is True
    # Index and disk agree.
    root = svc.settings.storage.recordings_path
    indexed = {f["filename"] for f in await segments(client, "cam2")}
    on_disk = {p.relative_to(root).as_posix() for p in (root / "cam2").glob("*.mp4")}
    assert indexed == on_disk and not (indexed & deleted)
    with pytest.raises(RpcCallError) as err:
        await client.call("delete_recording", {"filename": oldest["filename"]})
    assert err.value.code == -32013
    with pytest.raises(RpcCallError) as err:
        await client.call("delete_clip", {"id": clip["id"]})
    assert err.value.code == -32013
    await client.call("set_retention_settings", {"settings": {"continuous": {"max_size_gb": 0}}})


async def test_removing_a_camera_mid_recording_ends_its_session(
    client: RpcClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await client.call("add_camera", {"id": "gone", "name": "gone", "source": "publisher"})
    started = await client.call("start_recording", {"camera": "gone", "duration_s": 2})
    timer_fires_at = time.time() + 2
    await client.call("remove_camera", {"camera": "gone"})
    note = await client.next_notification(
        "recording_status_update",
        timeout=10,
        where=lambda p: p["session_id"] == started["session_id"] and p["status"] == "STOPPED",
    )
    assert note["params"]["reason"] == "camera_removed" and note["params"]["camera"] == "gone"

    async def stored() -> list[dict[str, Any]] | None:
        page = await client.call("list_events", {"type": "recording.stopped", "camera": "gone"})
        return page["events"] or None

    events = await wait_for(stored, timeout=10, interval=0.2)
    assert events[0]["data"]["id"] == started["session_id"]
    assert events[0]["data"]["stop_reason"] == "camera_removed"
    # The session timer was cancelled: nothing fires (and fails) once its deadline has passed.
    await asyncio.sleep(max(0.0, timer_fires_at - time.time()) + 1.0)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [f"{r.name}: {r.getMessage()}" for r in errors]

"""Scale-out must-shows (issue 16, items 2 and 5): three real instances on one PostgreSQL (and one
Redis: shared events, pushes and quotas run as in production), 30 cameras
pulled from ffmpeg publishers and recorded; kill -9 of one instance moves its cameras to the others,
recording resumes there, and the shared recordings index never has two owners' segments overlapping."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from camera_service.auth.roles import Role
from camera_service.auth.tokens import mint_token
from tests.harness.cluster import (
    FAST_TIMING,
    ClusterInstance,
    db_rows,
    lease_owners,
    overlapping_segments,
    recorded_since,
    run_cluster,
)
from tests.harness.ffmpeg import TestCamera
from tests.harness.mediamtx import MediaMTXInstance
from tests.harness.procs import wait_for
from tests.harness.rpc_client import RpcCallError, RpcClient
from tests.harness.service import TEST_JWT_SECRET

pytestmark = pytest.mark.timeout(240)

CAMERAS = [f"cam{i:02d}" for i in range(30)]
SOURCES = 3  # ffmpeg publishers; ten cameras pull each (cheap: no transcoding in the instances)
# Short segments so recording shows up in the index within seconds.
RECORDINGS = {"recordings": {"segment_duration_s": 2.0, "part_duration_s": 0.5}}


async def test_three_instances_thirty_cameras_failover(
    pg_url: str, redis_url: str, mediamtx: MediaMTXInstance, tmp_path: Path
) -> None:
    publishers = [
        TestCamera(mediamtx.rtsp_url(f"src{i}"), width=160, height=120, fps=5, gop=5) for i in range(SOURCES)
    ]
    for cam in publishers:
        await cam.start()
    try:
        async with run_cluster(3, pg_url, tmp_path, RECORDINGS, redis_url=redis_url) as nodes:
            await _run(pg_url, mediamtx, nodes)
    finally:
        for cam in publishers:
            await cam.stop()


async def _run(pg_url: str, mediamtx: MediaMTXInstance, nodes: list[ClusterInstance]) -> None:
    a, b, c = nodes
    admin = await a.client()
    for i, cid in enumerate(CAMERAS):
        await admin.call("add_camera", {"id": cid, "source": mediamtx.rtsp_url(f"src{i % SOURCES}")})
        await admin.call("set_recording_policy", {"camera": cid, "policy": {"mode": "continuous"}})

    # A client on A lists all 30 (shared tables), whichever instance owns them.
    page = await admin.call("list_cameras", {"limit": 100})
    assert page["total"] == 30
    assert sorted(cam["id"] for cam in page["cameras"]) == CAMERAS

    # Every camera gets an owner; spread over all three; each owner records its cameras.
    start = time.time()
    owners = await wait_for(lambda: _all_owned(pg_url), 60, 0.5, message="not every camera got an owner")
    by_node = {n.instance_id: sorted(c for c, o in owners.items() if o[0] == n.instance_id) for n in nodes}
    assert all(by_node.values()), by_node
    await wait_for(
        lambda: _recording_everywhere(pg_url, start, owners),
        60,
        0.5,
        message="not every camera recorded by its owner",
    )

    # A reports every camera's live status: its own, and the others' from their owners' pushes (Redis).
    async def all_online_on_a() -> bool:
        cams = (await admin.call("list_cameras", {"limit": 100}))["cameras"]
        return all(cam["status"] == "ONLINE" for cam in cams)

    await wait_for(all_online_on_a, 30, 0.5, message="A does not report every camera ONLINE")

    # Routing: stream URLs from A point at the MediaMTX of the camera's owner.
    cam_b = by_node[b.instance_id][0]
    urls = await admin.call("get_stream_urls", {"camera": cam_b})
    assert urls["rtsp"].startswith(f"rtsp://127.0.0.1:{b.rtsp_port}/{cam_b}"), urls
    cam_a = by_node[a.instance_id][0]
    urls = await admin.call("get_stream_urls", {"camera": cam_a})
    assert urls["rtsp"].startswith(f"rtsp://127.0.0.1:{a.rtsp_port}/{cam_a}"), urls

    # Camera-local work asked on A runs on the owner: a snapshot of B's camera (A has no path for it).
    snap = await admin.call("take_snapshot", {"camera": cam_b})
    assert snap["camera"] == cam_b and (snap["width"], snap["height"]) == (160, 120)
    assert (b.data_dir / "snapshots" / snap["file_path"]).is_file()
    # Forwarding carries the caller's own scope: an operator limited to A's camera gets NOT_FOUND for B's.
    token = mint_token(TEST_JWT_SECRET.encode(), subject="op", role=Role.OPERATOR, ttl_s=600, cameras=[cam_a])
    scoped = await RpcClient.connect(a.ws_url, additional_headers={"Authorization": f"Bearer {token}"})
    try:
        with pytest.raises(RpcCallError) as refused:
            await scoped.call("take_snapshot", {"camera": cam_b})
        assert refused.value.code == -32004
    finally:
        await scoped.close()

    # An on-demand session on B's camera, asked on A, runs on B (and moves with the camera below).
    session = await admin.call("start_recording", {"camera": cam_b, "duration_s": 600})
    status = await admin.call("get_recording_status", {"camera": cam_b})
    assert status["reason"] == "session" and status["session"]["id"] == session["session_id"], status

    # kill -9 instance B (service and its MediaMTX): its cameras are owned and recording on A or C.
    moved = set(by_node[b.instance_id])
    killed_at = time.time()
    b.kill()
    await b.process.wait_exit()

    async def taken_over() -> float | None:
        now_owners = await lease_owners(pg_url)
        if any(now_owners.get(cid, ("", 0, 0))[0] not in (a.instance_id, c.instance_id) for cid in moved):
            return None
        recorded = await recorded_since(pg_url, killed_at)
        if all(recorded.get(cid, set()) & {a.instance_id, c.instance_id} for cid in moved):
            return time.time() - killed_at
        return None

    elapsed = await wait_for(taken_over, 40, 0.25, message="B's cameras not recording elsewhere")
    bound = FAST_TIMING["lease_ttl_s"] + FAST_TIMING["renew_interval_s"]
    print(
        f"\nfailover: {len(moved)} cameras of B owned and recording on A/C after {elapsed:.1f} s "
        f"(lease bound {bound:.1f} s + first 2 s segment)"
    )
    # The 20 s bar of the issue is measured by bench/failover.py (docs/performance.md), not asserted on a
    # loaded test machine; the wait above fails the test if the cameras never move.

    # New holdings carry a higher epoch than B's; no two holdings' segments overlap in the index.
    after = await lease_owners(pg_url)
    assert all(after[cid][1] > owners[cid][1] for cid in moved)
    assert await overlapping_segments(pg_url) == []
    unfenced = await db_rows(pg_url, "SELECT count(*) FROM rec_segments WHERE owner IS NULL OR epoch IS NULL")
    assert unfenced[0][0] == 0

    # The session carries on at the camera's new owner (same id, same deadline).
    status = await admin.call("get_recording_status", {"camera": cam_b})
    assert status["reason"] == "session" and status["session"]["id"] == session["session_id"], status

    # The survivors still answer for all 30, every one ONLINE again; B's camera streams from its new owner.
    page = await (await c.client()).call("list_cameras", {"limit": 100})
    assert page["total"] == 30
    await wait_for(all_online_on_a, 30, 0.5, message="A does not report B's cameras ONLINE again")
    new_owner = next(n for n in (a, c) if n.instance_id == after[cam_b][0])
    urls = await admin.call("get_stream_urls", {"camera": cam_b})
    assert urls["rtsp"].startswith(f"rtsp://127.0.0.1:{new_owner.rtsp_port}/{cam_b}"), urls

    # A clean stop of C hands its cameras over at once (leases released, not left to run out).
    c_cams = {cid for cid, (o, _e, _t) in (await lease_owners(pg_url)).items() if o == c.instance_id}
    assert c_cams
    stopped_at = time.time()
    await c.process.stop()

    async def handed_over() -> float | None:
        now_owners = await lease_owners(pg_url)
        if set(now_owners) != set(CAMERAS) or any(o != a.instance_id for o, _e, _t in now_owners.values()):
            return None
        recorded = await recorded_since(pg_url, stopped_at)
        if all(a.instance_id in recorded.get(cid, set()) for cid in c_cams):
            return time.time() - stopped_at
        return None

    handover = await wait_for(handed_over, 30, 0.25, message="C's cameras not handed over to A")
    print(f"clean stop: {len(c_cams)} cameras of C owned and recording on A after {handover:.1f} s")
    assert await overlapping_segments(pg_url) == []


async def _all_owned(pg_url: str) -> dict[str, tuple[str, int, float]] | None:
    owners = await lease_owners(pg_url)
    return owners if set(owners) == set(CAMERAS) else None


async def _recording_everywhere(pg_url: str, since: float, owners: dict[str, tuple[str, int, float]]) -> bool:
    recorded = await recorded_since(pg_url, since)
    return all(owners[cid][0] in recorded.get(cid, set()) for cid in CAMERAS)

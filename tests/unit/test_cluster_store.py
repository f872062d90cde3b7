"""Cluster leases and heartbeats (camera_service/cluster/store.py) on both engines, and the ownership
rounds (cluster/service.py) on PostgreSQL with a fake camera registry."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from camera_service.cameras.models import Camera
from camera_service.cameras.sync import SyncReport
from camera_service.cluster.assign import assign
from camera_service.cluster.config import ClusterConfig
from camera_service.cluster.ownership import Ownership
from camera_service.cluster.routing import Directory
from camera_service.cluster.service import ClusterService
from camera_service.cluster.store import MIGRATIONS, ClusterStore, Member
from camera_service.storage.factory import database_for_url
from tests.harness.clock import FakeClock

TTL = 30.0


async def test_claim_renew_release_epochs(open_db: Any) -> None:
    store = ClusterStore(await open_db({"cluster": MIGRATIONS}))
    assert await store.claim("cam1", "a", TTL) == 1
    assert await store.claim("cam1", "b", TTL) is None  # a's lease runs
    assert await store.claim("cam1", "a", TTL) is None  # a running lease is renewed, never re-claimed
    assert await store.renew(["cam1"], "a", TTL) == {"cam1": 1}
    assert await store.renew(["cam1"], "b", TTL) == {}
    assert await store.release("cam1", "a", 2) is False  # wrong epoch: not ours to release
    assert await store.release("cam1", "a", 1) is True
    assert await store.renew(["cam1"], "a", TTL) == {}  # released = expired: not renewable
    assert await store.claim("cam1", "b", TTL) == 2  # changed hands: the epoch moves on
    leases, now = await store.leases()
    assert leases["cam1"].instance_id == "b" and leases["cam1"].epoch == 2
    assert leases["cam1"].expires_at > now
    # An expired lease of our own is claimed again with a new epoch (someone may have held it).
    assert await store.claim("cam2", "a", -1.0) == 1
    assert await store.renew(["cam2"], "a", TTL) == {}
    assert await store.claim("cam2", "a", TTL) == 2
    assert await store.release_all("a", ["cam2", "cam1"]) == 1  # cam1 is b's: untouched
    assert await store.renew(["cam2"], "a", TTL) == {}
    assert await store.renew(["cam1"], "b", TTL) == {"cam1": 2}
    await store.drop(["cam1", "cam2"])
    assert (await store.leases())[0] == {}


async def test_one_winner_among_concurrent_claims(open_db: Any) -> None:
    db = await open_db({"cluster": MIGRATIONS})
    store = ClusterStore(db)
    results = await asyncio.gather(*(store.claim("hot", f"i{n}", TTL) for n in range(20)))
    assert sorted(r for r in results if r is not None) == [1]
    winners = [f"i{n}" for n, r in enumerate(results) if r is not None]
    assert (await store.leases())[0]["hot"].instance_id == winners[0]


async def test_heartbeats_members_and_leave(open_db: Any) -> None:
    store = ClusterStore(await open_db({"cluster": MIGRATIONS}))
    await store.heartbeat(Member("a", "ws://h:1/ws", "rtsp://h:2", None, None, None, "srt://h:4"))
    await store.heartbeat(Member("b", "ws://h:3/ws"))
    await store.heartbeat(Member("a", "ws://h:9/ws", "rtsp://h:2", None, None))  # an upsert
    rows, now = await store.members()
    assert set(rows) == {"a", "b"}
    assert rows["a"][0].ws_url == "ws://h:9/ws" and rows["a"][0].rtsp_url == "rtsp://h:2"
    assert rows["a"][0].srt_url is None  # the upsert rewrote every URL
    assert rows["b"][0].srt_url is None
    assert all(now - beat < 5 for _m, beat in rows.values())
    assert await store.forget_dead(3600) == 0
    await store.leave("b")
    assert set((await store.members())[0]) == {"a"}


class FakeRegistry:
    """The cameras domain as the cluster sees it (cameras/ports.py SharedRegistry)."""

    def __init__(self, ids: list[str], owns: Callable[[str], bool]) -> None:
        self._cams = [Camera(id=cid, name=cid, source="publisher") for cid in ids]
        self.owns = owns
        self.applied: dict[str, bool] = {}  # camera -> owned when its path was last (re)applied

    def find(self, camera_id: str) -> Camera | None:
        return next((c for c in self._cams if c.id == camera_id), None)

    async def get(self, camera_id: str) -> Camera:
        cam = self.find(camera_id)
        assert cam is not None
        return cam

    def cameras(self) -> list[Camera]:
        return list(self._cams)

    def resolve_id(self, device: str) -> str:
        return device

    async def sync(self) -> SyncReport:
        return SyncReport((), ())

    async def reapply(self, camera_id: str) -> None:
        self.applied[camera_id] = self.owns(camera_id)

    async def reconcile(self) -> object:
        for cam in self._cams:
            self.applied[cam.id] = self.owns(cam.id)
        return None

    def request_reconcile(self) -> None:
        pass


CAMS = [f"cam{i:02d}" for i in range(12)]


async def _node(url: str, inst: str, clock: FakeClock) -> tuple[ClusterService, FakeRegistry, Ownership, Any]:
    db = database_for_url(url)
    cfg = ClusterConfig(
        enabled=True,
        instance_id=inst,
        lease_ttl_s=30,
        renew_interval_s=5,
    )
    ownership = Ownership(inst, clock)
    registry = FakeRegistry(CAMS, ownership.owns)
    me = Member(inst, f"ws://{inst}/ws", f"rtsp://{inst}:8554")

    async def on_acquired(cid: str) -> None:
        pass

    svc = ClusterService(
        cfg,
        db=db,
        ownership=ownership,
        directory=Directory(me),
        cameras=registry,
        me=lambda: me,
        on_acquired=on_acquired,
        on_released=on_acquired,
        clock=clock,
    )
    await db.start()
    return svc, registry, ownership, db


async def test_rounds_hand_over_take_over_and_stop_lost_cameras(pg_url: str) -> None:
    clock = FakeClock()
    a, reg_a, own_a, db_a = await _node(pg_url, "a", clock)
    b, reg_b, own_b, db_b = await _node(pg_url, "b", clock)
    try:
        await a.start()  # alone: claims every camera and applies its path
        assert set(own_a.held()) == set(CAMS) and all(reg_a.applied[c] for c in CAMS)
        await b.start()  # b's share is still under a's leases: it waits
        target = assign(CAMS, ["a", "b"])
        b_share = {c for c in CAMS if target[c] == "b"}
        assert b_share and not own_b.held()
        await a.round()  # a hands b's share over: path stopped first, lease released
        assert set(own_a.held()) == set(CAMS) - b_share
        assert all(reg_a.applied[c] is False for c in b_share)
        await b.round()
        assert set(own_b.held()) == b_share and all(reg_b.applied[c] for c in b_share)
        assert all(own_b.epoch(c) == 2 for c in b_share)
        # Routing: a's directory points b's cameras at b.
        await a.round()
        cam = sorted(b_share)[0]
        owner = a.directory.owner(cam)
        assert owner is not None and owner.id == "b"

        # a goes silent (no heartbeat) and its leases run out: b takes everything over ...
        store = ClusterStore(db_b)
        await db_b.execute("UPDATE cluster_instances SET heartbeat_at = 0 WHERE id = 'a'")
        await db_b.execute("UPDATE camera_owner SET lease_expires_at = 0 WHERE instance_id = 'a'")
        await b.round()
        assert set(own_b.held()) == set(CAMS)
        leases = (await store.leases())[0]
        assert all(leases[c].instance_id == "b" and leases[c].epoch == 2 for c in set(CAMS) - b_share)
        # ... and a, back, finds its leases lost and stops those cameras at once.
        lost = set(own_a.held())
        await a.round()
        assert all(reg_a.applied[c] is False for c in lost)
        assert not set(own_a.held()) & lost

        # PostgreSQL unreachable for b: its rounds fail, and at the local deadline (sent + ttl - 2 renew
        # intervals, on b's clock) its round loop stops every camera, before the leases can be taken.
        await a.stop()
        await db_b.stop()
        await clock.advance(30 - 2 * 5 - 0.5)
        assert set(own_b.held()) == set(CAMS) and b.failed_rounds >= 1
        for _ in range(50):
            await clock.advance(0.5)
            if not own_b.held():
                break
        assert not own_b.held()
        assert all(reg_b.applied[c] is False for c in CAMS)
    finally:
        for svc in (b, a):
            with contextlib.suppress(Exception):
                await svc.stop()
        for db in (db_a, db_b):
            with contextlib.suppress(Exception):
                await db.stop()


async def test_segment_rows_carry_owner_and_epoch(open_db: Any, tmp_path: Any) -> None:
    from camera_service.recordings.index import SegmentIndex
    from camera_service.recordings.migrations import MIGRATIONS as REC_MIGRATIONS
    from camera_service.recordings.models import Segment
    from camera_service.recordings.store import RecordingStore

    store = RecordingStore(await open_db({"recordings": REC_MIGRATIONS}))

    def seg(path: str, start: float) -> Segment:
        return Segment(id=0, camera="cam", path=path, start=start, duration_s=2.0, size=10)

    await store.upsert_segment(seg("cam/1.mp4", 100.0), owner="a", epoch=1)
    await store.upsert_segment(seg("cam/2.mp4", 102.0), owner="b", epoch=2)
    await store.upsert_segment(seg("cam/3.mp4", 104.0))  # one instance: no owner
    assert await store.segment_paths("a") == {"cam/1.mp4": 10}
    assert set(await store.segment_paths()) == {"cam/1.mp4", "cam/2.mp4", "cam/3.mp4"}
    assert [s.path for s in await store.list_segments(owner="b", limit=10)] == ["cam/2.mp4"]
    rows = await store.db.fetch_all("SELECT path, owner, epoch FROM rec_segments ORDER BY path")
    assert [(r["owner"], r["epoch"]) for r in rows] == [("a", 1), ("b", 2), (None, None)]

    # Clips and snapshots carry the instance whose disk holds the file; retention lists only its own.
    from camera_service.recordings.models import Clip, Snapshot

    for inst in ("a", "b"):
        mine = RecordingStore(store.db, owner=inst)
        await mine.insert_clip(
            Clip(id=f"clip-{inst}", camera="cam", name="c", start=1, end=2, path=f"{inst}.mp4", created_at=3)
        )
        await mine.insert_snapshot(
            Snapshot(
                id=f"snap-{inst}",
                camera="cam",
                path=f"{inst}.jpg",
                format="jpeg",
                width=1,
                height=1,
                size=1,
                created_at=3,
            )
        )
    assert [c.id for c in await store.list_clips(owner="a")] == ["clip-a"]
    assert [s.id for s in await store.list_snapshots(owner="b")] == ["snap-b"]
    assert len(await store.list_clips()) == 2

    # A segment MediaMTX announces for a camera this instance never held is refused (not indexed).
    index = SegmentIndex(store, tmp_path, lambda _cam: "continuous", instance_id="a", fence=lambda _c: None)
    (tmp_path / "cam").mkdir()
    (tmp_path / "cam" / "2026-11-30_10-00-00-000000.mp4").write_bytes(b"x" * 10)
    assert await index.add("cam/2026-11-30_10-00-00-000000.mp4", 2.0) is None
    assert "cam/2026-11-30_10-00-00-000000.mp4" not in await store.segment_paths()


async def test_instances_starting_at_once_create_one_bootstrap_user(pg_url: str, tmp_path: Any) -> None:
    from camera_service.config.settings import Settings
    from camera_service.users.service import UserService

    dbs, services = [], []
    for n in range(4):
        settings = Settings(storage={"data_dir": str(tmp_path / f"node{n}")})  # type: ignore[arg-type]
        db = database_for_url(pg_url)
        services.append(UserService(settings, db, tokens=None))
        await db.start()
        dbs.append(db)
    try:
        await asyncio.gather(*(svc.start() for svc in services))  # a race on the 'admin' row
        rows = await dbs[0].fetch_all("SELECT COUNT(*) AS n FROM users")
        assert rows[0]["n"] == 1
        written = [n for n in range(4) if any((tmp_path / f"node{n}").rglob("*admin*"))]
        assert len(written) == 1  # the instance that created it holds its password file
    finally:
        for db in dbs:
            await db.stop()

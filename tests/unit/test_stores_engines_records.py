"""Stores on both engines (SQLite and a private PostgreSQL, the `database_url` fixture): recordings index,
events (keyset pages, retention, statistics) and the webhook outbox. Same SQL, same migrations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from camera_service.core.bus import Event, Severity
from camera_service.events.models import ClipState, EventStatus
from camera_service.events.rules.store import RULES_DDL
from camera_service.events.store import CLIP_OWNER_DDL, EventQuery, EventStore, migrations
from camera_service.events.webhooks.models import DeliveryStatus, Webhook
from camera_service.events.webhooks.store import SECRETS_AT_REST_DDL, WEBHOOKS_DDL, WebhookStore
from camera_service.recordings.migrations import MIGRATIONS as REC_MIGRATIONS
from camera_service.recordings.models import Clip, RecordingSession, Segment, Snapshot
from camera_service.recordings.store import RecordingStore
from camera_service.recordings.usage import usage
from camera_service.storage.crypto import SecretBox
from camera_service.storage.database import Migration

OpenDatabase = Callable[..., Awaitable[Any]]  # the `open_db` fixture (tests/conftest.py)
T0 = 1_764_500_000.25  # a unix time with a fraction: REAL must keep it on both engines
EVENTS_MIGRATIONS = migrations(
    [
        Migration(2, WEBHOOKS_DDL),
        Migration(3, RULES_DDL),
        Migration(4, SECRETS_AT_REST_DDL),
        Migration(5, CLIP_OWNER_DDL),
    ]
)


def _seg(camera: str, i: int, size: int = 1000) -> Segment:
    return Segment(
        id=0, camera=camera, path=f"{camera}/{i:04d}.mp4", start=T0 + 10 * i, duration_s=10.0, size=size
    )


async def test_recording_store(open_db: OpenDatabase) -> None:
    store = RecordingStore(await open_db({"recordings": REC_MIGRATIONS}))
    for i in range(5):
        await store.upsert_segment(_seg("a", i))
    again = await store.upsert_segment(_seg("a", 4, size=3_000_000_000))  # > 2^31: BIGINT on PostgreSQL
    assert again.size == 3_000_000_000 and again.start == T0 + 40
    await store.upsert_segment(_seg("b", 0))
    assert await store.count_segments() == 6 and await store.count_segments("a") == 5
    page = await store.list_segments("a", limit=2)
    assert [s.path for s in page] == ["a/0004.mp4", "a/0003.mp4"]
    nxt = await store.list_segments("a", limit=2, before=(page[-1].start, page[-1].id))
    assert [s.path for s in nxt] == ["a/0002.mp4", "a/0001.mp4"]
    assert [s.path for s in await store.list_segments(cameras=[], limit=10)] == []
    assert len(await store.list_segments(start=T0 + 15, end=T0 + 25, limit=10)) == 2
    totals = await store.recorded_totals(T0 + 5, T0 + 25, ["a", "b"])
    assert totals["a"][0] == 20.0 and totals["b"][0] == 5.0 and totals["b"][1] == 1000
    seg = await store.get_segment(path="b/0000.mp4")
    assert seg is not None and await store.get_segment(seg_id=seg.id) == seg
    await store.delete_segments(["b/0000.mp4"])
    assert "b/0000.mp4" not in await store.segment_paths()

    clip = Clip(id="c1", camera="a", name="n", start=T0, end=T0 + 5, path="a/c1.mp4", created_at=T0)
    await store.insert_clip(clip)
    await store.set_clip_locked("c1", True)
    got = await store.get_clip("c1")
    assert got is not None and got.locked is True and got.end == T0 + 5
    assert await store.locked_ranges("a") == [("a", T0, T0 + 5)]
    assert await store.count_clips(locked=True) == 1 and len(await store.list_clips("a")) == 1

    snap = Snapshot(
        id="s1", camera="a", path="a/s1.jpg", format="jpeg", width=2, height=2, size=9, created_at=T0
    )
    await store.insert_snapshot(snap)
    assert await store.get_snapshot(path="a/s1.jpg") == snap
    assert await store.snapshot_counts(T0 - 1, T0 + 1, ["a"]) == {"a": 1}
    kinds = {(u.kind, u.camera): u for u in await usage(store.db)}
    assert kinds[("continuous", "a")].bytes == 3_000_004_000 and kinds[("snapshots", "a")].count == 1

    sess = RecordingSession(id="r1", camera="a", started_at=T0, duration_s=60, stop_at=T0 + 60)
    await store.insert_session(sess)
    assert await store.add_session_name("front", "r1") and not await store.add_session_name("front", "r2")
    assert await store.session_id_by_name("front") == "r1" and await store.session_name("r1") == "front"
    assert [s.id for s in await store.active_sessions()] == ["r1"]
    await store.finish_session("r1", T0 + 30, "requested")
    last = await store.last_session("a")
    assert last is not None and last.stopped_at == T0 + 30 and await store.active_sessions() == []
    assert await store.session_started_in("a", T0 - 1, T0 + 1) == last
    # compat names: a bare file name found by LIKE ... ESCAPE (its `_` is literal, not a wildcard)
    from types import SimpleNamespace

    from camera_service.recordings.compat_names import _by_basename

    await store.upsert_segment(Segment(id=0, camera="c", path="c/x_1.mp4", start=T0, duration_s=1, size=1))
    await store.upsert_segment(Segment(id=0, camera="c", path="c/xa1.mp4", start=T0, duration_s=1, size=1))
    svc: Any = SimpleNamespace(store=store)
    assert await _by_basename(svc, "rec_segments", "x_1.mp4") == "c/x_1.mp4"
    await store.upsert_segment(Segment(id=0, camera="d", path="d/x_1.mp4", start=T0, duration_s=1, size=1))
    assert await _by_basename(svc, "rec_segments", "x_1.mp4") is None  # two cameras have it: ambiguous
    await store.put_setting("k", {"x": 1})
    await store.put_setting("k", {"x": 2})
    assert await store.get_setting("k") == {"x": 2} and await store.get_setting("none") is None


async def test_event_store(open_db: OpenDatabase) -> None:
    store = EventStore(await open_db({"events": EVENTS_MIGRATIONS}))
    events = [
        Event(
            id=f"e{i}",
            type="camera.offline" if i % 2 else "alarm.motion",
            camera="a",
            time=T0 + i,
            severity=Severity.HIGH if i == 3 else Severity.LOW,
            data={"i": i},
        )
        for i in range(7)
    ]
    for e in events:
        await store.insert(e)
    await store.insert(events[0])  # a duplicate id is ignored (ON CONFLICT DO NOTHING on both engines)
    assert await store.count() == 7
    page, cursor = await store.query(EventQuery(limit=3))
    assert [e.id for e in page] == ["e6", "e5", "e4"] and cursor is not None
    page2, _ = await store.query(EventQuery(limit=3, cursor=cursor))
    assert [e.id for e in page2] == ["e3", "e2", "e1"]
    cams, _ = await store.query(EventQuery(type="camera.*", cameras=frozenset({"a"})))
    assert {e.id for e in cams} == {"e1", "e3", "e5"}
    severe, _ = await store.query(EventQuery(min_severity_rank=Severity.HIGH.rank))
    assert [e.id for e in severe] == ["e3"]
    assert await store.update(
        "e3", now=T0 + 9, status=EventStatus.ACKNOWLEDGED, tags=["x"], acknowledged_by="op"
    )
    got = await store.get("e3")
    assert got is not None and got.status is EventStatus.ACKNOWLEDGED and got.tags == ["x"]
    assert got.acknowledged_by == "op" and got.data == {"i": 3} and got.time == T0 + 3
    await store.set_clip("e3", ClipState.PENDING, pre_s=2.0, post_s=3.0)
    (pending,) = await store.pending_clips()
    assert pending.event.id == "e3" and (pending.pre_s, pending.post_s, pending.owner) == (2.0, 3.0, None)
    counts = await store.counts_by_type(T0, T0 + 100, ["a"])
    assert ("a", "camera.offline", "high", 1) in counts and ("a", "alarm.motion", "low", 4) in counts
    changes = await store.status_changes(T0 + 2, T0 + 6, "a")
    assert changes == [(T0 + 1, "camera.offline"), (T0 + 3, "camera.offline"), (T0 + 5, "camera.offline")]
    assert await store.apply_retention(T0 + 1, max_events=3) == 1 + 3
    assert [e.id for e in (await store.query(EventQuery()))[0]] == ["e6", "e5", "e4"]


async def test_webhook_outbox_store(open_db: OpenDatabase) -> None:
    from cryptography.fernet import Fernet

    box = SecretBox(Fernet.generate_key())
    db = await open_db({"events": EVENTS_MIGRATIONS})
    store = WebhookStore(db, lambda: box)
    hook = Webhook(
        id="w1", url="http://127.0.0.1:9/h", topics=["*"], has_secret=True, created_at=T0, updated_at=T0
    )
    await store.insert(hook, "s3cret-value-0123456789")
    (row,) = await store.all()
    assert row.secret == "s3cret-value-0123456789" and row.webhook.enabled is True
    raw = await db.fetch_one("SELECT secret_enc FROM webhooks")
    assert raw is not None and b"s3cret" not in bytes(raw[0])
    statements = [
        WebhookStore.enqueue_statement(
            f"d{i}", "w1", event_id=f"e{i}", event_type="x", body=b"{}", now=T0 + i
        )
        for i in range(3)
    ]
    await db.transaction(statements)
    due = await store.due(T0 + 1, 10, exclude=[])
    assert [d.id for d in due] == ["d0", "d1"] and due[0].body == b"{}"
    if db.dialect == "postgresql":  # claimed (FOR UPDATE SKIP LOCKED) and leased: no other worker sees them
        assert await store.due(T0 + 1, 10, exclude=[]) == [] and await store.next_due_at() == T0 + 2
    else:  # one instance: the worker's in-flight set excludes them
        assert [d.id for d in await store.due(T0 + 1, 10, exclude=["d0"])] == ["d1"]
        assert await store.next_due_at() == T0
    await store.record_attempt(
        "d0",
        status=DeliveryStatus.DELIVERED,
        attempts=1,
        now=T0 + 5,
        next_attempt_at=None,
        http_status=200,
        error=None,
        latency_ms=1.5,
    )
    await store.record_attempt(
        "d1",
        status=DeliveryStatus.DEAD,
        attempts=5,
        now=T0 + 6,
        next_attempt_at=None,
        http_status=500,
        error="boom",
        latency_ms=2.0,
    )
    d0 = await store.get("d0")
    assert d0 is not None and d0.delivered_at == T0 + 5 and d0.last_status == 200
    assert await store.counts() == {"delivered": 1, "dead": 1, "pending": 1}
    assert [d.id for d in await store.list("w1", DeliveryStatus.DEAD, 10, None)] == ["d1"]
    assert await store.redrive("d1", T0 + 7) and not await store.redrive("d1", T0 + 7)
    assert await store.prune_delivered(T0 + 6) == 1
    assert await store.delete("w1") and await store.counts() == {}  # the outbox rows cascade


async def test_event_clip_claim_has_one_winner(open_db: OpenDatabase) -> None:
    """Scale-out: a pending clip is claimed by exactly one of any number of concurrent claimers (a
    conditional UPDATE on both engines); a re-requested clip is unclaimed again."""
    import asyncio

    db = await open_db({"events": EVENTS_MIGRATIONS})
    store = EventStore(db)
    await store.insert(Event(id="e1", type="alarm.motion", camera="a", time=T0, data={}))
    await store.insert(Event(id="e2", type="alarm.motion", camera="b", time=T0 + 1, data={}))
    assert not await store.claim_clip("e1", "node-a")  # nothing pending yet
    await store.set_clip("e1", ClipState.PENDING, pre_s=2.0, post_s=3.0)
    await store.set_clip("e2", ClipState.PENDING, pre_s=1.0, post_s=1.0)
    wins = await asyncio.gather(*(store.claim_clip("e1", f"node-{i}") for i in range(20)))
    assert sum(wins) == 1
    winner = f"node-{wins.index(True)}"
    assert not await store.claim_clip("e1", winner)  # claimed: not again, not even by the winner
    # The winner sees its claim and the unclaimed e2; another instance sees only e2; all: both.
    mine = await store.pending_clips(winner)
    assert [(p.event.id, p.owner) for p in mine] == [("e1", winner), ("e2", None)]
    theirs = await store.pending_clips("node-other")
    assert [(p.event.id, p.owner) for p in theirs] == [("e2", None)]
    assert [p.event.id for p in await store.pending_clips()] == ["e1", "e2"]
    await store.set_clip("e1", ClipState.READY, clip_id="c1")
    assert not await store.claim_clip("e1", "node-other")  # no longer pending
    assert [p.event.id for p in await store.pending_clips(winner)] == ["e2"]
    await store.set_clip("e1", ClipState.PENDING)  # requested again (e.g. after a failed cut)
    (again, _) = await store.pending_clips("node-other")
    assert again.event.id == "e1" and again.owner is None and (again.pre_s, again.post_s) == (2.0, 3.0)
    assert await store.claim_clip("e1", "node-other")

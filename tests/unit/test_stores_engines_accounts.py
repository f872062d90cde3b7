"""Stores on both engines (SQLite and a private PostgreSQL, the `database_url` fixture): users and their
sessions, API keys and the audit log, analytics detections/activity/settings, rule runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from camera_service.analytics.store import MIGRATIONS as ANALYTICS_MIGRATIONS
from camera_service.analytics.store import Activity, AnalyticsStore, DetectionQuery, DetectionRecord
from camera_service.auth.roles import Role
from camera_service.auth.store import MIGRATIONS as AUTH_MIGRATIONS
from camera_service.auth.store import ApiKeyRecord, AuditEntry, AuthStore
from camera_service.events.rules.models import (
    ActionOutcome,
    Rule,
    RuleAction,
    RuleSource,
    RunOutcome,
    Trigger,
)
from camera_service.events.rules.store import RULES_DDL, RuleStore
from camera_service.events.store import migrations
from camera_service.events.webhooks.store import WEBHOOKS_DDL
from camera_service.storage.database import Migration
from camera_service.users.store import MIGRATIONS as USER_MIGRATIONS
from camera_service.users.store import SessionRecord, UserRecord, UserStore

OpenDatabase = Callable[..., Awaitable[Any]]  # the `open_db` fixture (tests/conftest.py)
T0 = 1_764_500_000.5


async def test_user_store(open_db: OpenDatabase) -> None:
    store = UserStore(await open_db({"users": USER_MIGRATIONS}))
    user = UserRecord("ann", "hash", Role.OPERATOR, {"cameras": ["a"]}, T0, "cli", T0, T0)
    await store.add(user)
    await store.add(UserRecord("bob", "h2", Role.VIEWER, {}, T0, "cli", T0, T0, disabled=True))
    got = await store.get("ann")
    assert (
        got == user
        and await store.count() == 2
        and [u.username for u in await store.list()] == ["ann", "bob"]
    )
    user.last_login_at = T0 + 1
    await store.update(user)
    assert (await store.get("ann")) == user and (await store.get("bob")).disabled is True  # type: ignore[union-attr]
    for sid in ("s1", "s2", "s3"):
        await store.add_session(SessionRecord(sid, "ann", f"h-{sid}", T0, T0 + 100, T0, "127.0.0.1"))
    assert await store.rotate("s1", "h-s1", "h-s1b", T0 + 2)
    assert not await store.rotate("s1", "h-s1", "h-s1c", T0 + 3)  # compare-and-set: the old hash is gone
    found = await store.session_by_hash("h-s1")
    assert found is not None and found[0].session_id == "s1" and found[1] is False
    assert await store.active_sessions(T0 + 50) == {"ann": 3}
    assert await store.revoke_user_sessions("ann", T0 + 4, keep="s2") == 2  # IS DISTINCT FROM on both
    assert await store.active_sessions(T0 + 50) == {"ann": 1}
    await store.revoke_session("s2", T0 + 5)
    assert await store.revoke_user_sessions("ann", T0 + 6) == 0
    assert await store.prune_sessions(T0 + 101) == 3


async def test_auth_store(open_db: OpenDatabase) -> None:
    store = AuthStore(await open_db({"auth": AUTH_MIGRATIONS}))
    await store.add_key(ApiKeyRecord("k1", "digest", "ci", Role.ADMIN, {}, T0, "cli", expires_at=T0 + 60))
    await store.touch_key("k1", T0 + 1)
    (key,) = await store.list_keys()
    assert key.key_id == "k1" and key.role is Role.ADMIN and key.last_used_at == T0 + 1
    assert await store.revoke_key("k1", T0 + 2) and not await store.revoke_key("k1", T0 + 3)
    entries = [
        AuditEntry(T0 + i, f"user{i % 2}", "user", "add_camera", {"id": i}, "ok", None, "127.0.0.1", 7)
        for i in range(5)
    ]
    await store.add_audit(entries)
    page, total = await store.list_audit(actor="user0", method=None, start=None, end=None, limit=2, offset=0)
    assert total == 3 and [e.params for e in page] == [{"id": 4}, {"id": 2}] and page[0].id is not None
    later, total = await store.list_audit(
        actor=None, method="add_camera", start=T0 + 3, end=None, limit=9, offset=0
    )
    assert total == 2 and [e.ts for e in later] == [T0 + 4, T0 + 3]
    assert await store.prune_audit(T0 + 2) == 2


async def test_analytics_store(open_db: OpenDatabase) -> None:
    store = AnalyticsStore(await open_db({"analytics": ANALYTICS_MIGRATIONS}))
    for i in range(5):
        rec = DetectionRecord(
            event_id=f"e{i}",
            camera="a" if i < 4 else "b",
            time=T0 + i,
            label="car",
            score=0.5 + i / 10,
            box=(0.1, 0.2, 0.3, 0.4),
            plate="ab 12 cd" if i == 2 else None,
        )
        await store.insert(rec)
        await store.insert(rec)  # a duplicate event id is ignored on both engines
    page, cursor = await store.search(DetectionQuery(label="car", limit=2))
    assert [r.event_id for r in page] == ["e4", "e3"] and cursor is not None
    rest, end = await store.search(DetectionQuery(label="car", limit=5, cursor=cursor))
    assert [r.event_id for r in rest] == ["e2", "e1", "e0"] and end is None
    (plate,), _ = await store.search(DetectionQuery(plate="12c"))
    assert plate.event_id == "e2" and plate.plate == "AB12CD" and plate.box == (0.1, 0.2, 0.3, 0.4)
    scoped, _ = await store.search(DetectionQuery(cameras=frozenset({"b"}), min_score=0.8))
    assert [r.event_id for r in scoped] == ["e4"]
    await store.add_activity("a", Activity("object", T0, T0 + 5, "car", "e1"))
    await store.extend_activity("e1", T0 + 9)
    await store.extend_activity("e1", T0 + 7)  # never shrinks
    assert await store.activity("a", T0, T0 + 20) == [Activity("object", T0, T0 + 9, "car", "e1")]
    await store.save_camera("a", True, {"x": 1}, T0)
    await store.save_camera("a", False, {"x": 2}, T0 + 1)
    assert await store.camera_settings() == {"a": (False, {"x": 2})}
    await store.delete_camera("a")
    assert await store.camera_settings() == {}
    assert await store.prune(T0 + 10) == 1 + 5


async def test_rule_run_ids_come_back_from_the_insert(open_db: OpenDatabase) -> None:
    db = await open_db({"events": migrations([Migration(2, WEBHOOKS_DDL), Migration(3, RULES_DDL)])})
    store = RuleStore(db)
    outcome = [ActionOutcome(type="webhook", ok=True, duration_ms=1.0)]
    ids = [
        await store.add_run(
            rule_id="r1" if i < 3 else "r2",
            event_id=f"e{i}",
            event_type="x",
            camera="a",
            time=T0 + i,
            outcome=RunOutcome.OK,
            actions=outcome,
        )
        for i in range(5)
    ]
    assert ids == sorted(ids) and len(set(ids)) == 5 and ids[0] >= 1
    runs = await store.runs("r1", limit=2, before_id=None)
    assert [r.id for r in runs] == [ids[2], ids[1]] and runs[0].actions == outcome
    assert await store.runs(None, limit=9, before_id=None, rule_ids=set()) == []  # empty scope: nothing
    assert [r.id for r in await store.runs(None, limit=9, before_id=ids[1], cameras={"a"})] == [ids[0]]
    assert await store.prune_runs(keep=2) == 3


async def test_rule_store_upsert_and_delete(open_db: OpenDatabase) -> None:
    db = await open_db({"events": migrations([Migration(2, WEBHOOKS_DDL), Migration(3, RULES_DDL)])})
    store = RuleStore(db)
    rule = Rule(
        id="r1",
        name="door",
        trigger=Trigger(topics=["alarm.door"]),
        actions=[RuleAction(type="notify", params={"severity": "high"})],
        source=RuleSource.API,
        created_at=T0,
        updated_at=T0,
    )
    await store.upsert(rule)
    await store.upsert(rule.model_copy(update={"name": "front door", "updated_at": T0 + 1}))
    (got,) = await store.all()
    assert got.name == "front door" and got.created_at == T0 and got.updated_at == T0 + 1
    assert got.trigger.topics == ["alarm.door"] and got.source is RuleSource.API
    assert await store.delete("r1") and not await store.delete("r1") and await store.all() == []

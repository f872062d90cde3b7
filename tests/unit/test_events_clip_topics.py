"""The `event.clip_ready` / `event.clip_failed` events as docs/webhooks.md documents them: data fields,
the event's camera and severity, and the clip state stored on the event."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from prometheus_client import CollectorRegistry

from camera_service.core.bus import Event, EventBus, Severity
from camera_service.events.clips import EventClipper
from camera_service.events.config import EventsConfig
from camera_service.events.metrics import EventMetrics
from camera_service.events.models import ClipState
from camera_service.events.store import CLIP_OWNER_DDL, EventStore, insert_statement, migrations
from camera_service.storage.database import Migration
from camera_service.storage.sqlite import SqliteDatabase as Database


class InstantClock:
    def monotonic(self) -> float:
        return 0.0

    def time(self) -> float:
        return 2_000_000_000.0

    async def sleep(self, seconds: float) -> None:
        return None


class FakeRecordings:
    def __init__(self, fail: bool) -> None:
        self.fail = fail
        self.calls = 0

    async def export_range(self, camera: str, start: Any, end: Any, **kw: Any) -> Any:
        self.calls += 1
        if self.fail:
            raise RuntimeError("no recordings cover that time")
        return SimpleNamespace(id="clip_1", duration_s=8.0)


async def _run(tmp_path: Path, recordings: FakeRecordings) -> tuple[list[Event], ClipState | None]:
    db = Database(tmp_path / "ev.db")
    db.register("events", migrations([Migration(5, CLIP_OWNER_DDL)]))
    await db.start()
    try:
        store, bus = EventStore(db), EventBus()
        seen: list[Event] = []
        bus.subscribe(seen.append, topics=["event.*"])
        event = Event(type="alarm.motion", camera="cam1", severity=Severity.HIGH, time=1_999_999_990.0)
        await db.transaction([insert_statement(event)])
        clipper = EventClipper(
            store,
            bus,
            EventMetrics(CollectorRegistry()),
            clock=InstantClock(),
            cfg=EventsConfig(),
            recordings=recordings,  # type: ignore[arg-type]  # duck-typed fake of RecordingActions
        )
        await clipper.request(event, pre_s=4, post_s=4)
        await clipper.wait()
        stored = await store.get(event.id)
        return seen, stored.clip_state if stored else None
    finally:
        await db.stop()


async def test_clip_ready_event(tmp_path: Path) -> None:
    seen, state = await _run(tmp_path, FakeRecordings(fail=False))
    assert [e.type for e in seen] == ["event.clip_ready"]
    ready = seen[0]
    assert ready.camera == "cam1" and ready.severity is Severity.HIGH
    assert ready.data["clip_id"] == "clip_1" and ready.data["event_type"] == "alarm.motion"
    assert ready.data["end"] - ready.data["start"] == 8.0 and ready.data["duration_s"] == 8.0
    assert state is ClipState.READY


async def test_clip_failed_event_after_three_attempts(tmp_path: Path) -> None:
    recordings = FakeRecordings(fail=True)
    seen, state = await _run(tmp_path, recordings)
    assert recordings.calls == 3
    assert [e.type for e in seen] == ["event.clip_failed"]
    failed = seen[0]
    assert failed.camera == "cam1" and failed.severity is Severity.HIGH
    assert failed.data["event_type"] == "alarm.motion" and "no recordings" in failed.data["error"]
    assert state is ClipState.FAILED

"""Scale-out: an event clip is cut once, by the instance that owns the camera (it holds the recordings).
Two clippers (two instances) on one store: the one that raised the event does not own the camera."""

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
from camera_service.storage.sqlite import SqliteDatabase


class InstantClock:
    def monotonic(self) -> float:
        return 0.0

    def time(self) -> float:
        return 2_000_000_000.0

    async def sleep(self, seconds: float) -> None:
        return None


class Recordings:
    def __init__(self) -> None:
        self.cut: list[str] = []

    async def export_range(self, camera: str, start: Any, end: Any, **kw: Any) -> Any:
        self.cut.append(camera)
        return SimpleNamespace(id=f"clip_{len(self.cut)}", duration_s=2.0)


def _clipper(store: EventStore, recordings: Recordings, instance: str, owned: set[str]) -> EventClipper:
    return EventClipper(
        store,
        EventBus(),
        EventMetrics(CollectorRegistry()),
        clock=InstantClock(),
        cfg=EventsConfig(),
        recordings=recordings,  # type: ignore[arg-type]  # duck-typed fake of RecordingActions
        owns=owned.__contains__,
        instance_id=instance,
    )


async def test_clip_requested_on_a_non_owner_is_cut_once_by_the_owner(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "ev.db")
    db.register("events", migrations([Migration(5, CLIP_OWNER_DDL)]))
    await db.start()
    try:
        store = EventStore(db)
        on_a, on_b = Recordings(), Recordings()
        a = _clipper(store, on_a, "node-a", owned=set())
        b = _clipper(store, on_b, "node-b", owned={"cam1"})
        event = Event(type="alarm.motion", camera="cam1", severity=Severity.HIGH, time=1_999_999_990.0)
        await db.transaction([insert_statement(event)])

        await a.request(event, pre_s=1, post_s=1)  # raised on A, which does not own cam1
        await a.sweep()  # A's sweep does not take it either
        await a.wait()
        assert on_a.cut == []
        stored = await store.get(event.id)
        assert stored is not None and stored.clip_state is ClipState.PENDING

        await b.sweep()  # the owner claims and cuts it
        await b.sweep()  # a second sweep (or a restart of A) does not cut it again
        await a.sweep()
        await b.wait()
        assert on_b.cut == ["cam1"] and on_a.cut == []
        stored = await store.get(event.id)
        assert stored is not None and stored.clip_state is ClipState.READY and stored.clip_id == "clip_1"

        # Requested on the owner itself: claimed and cut there at once, once.
        other = Event(type="alarm.motion", camera="cam1", severity=Severity.HIGH, time=1_999_999_991.0)
        await db.transaction([insert_statement(other)])
        await b.request(other, pre_s=1, post_s=1)
        await b.sweep()
        await a.sweep()
        await b.wait()
        assert on_b.cut == ["cam1", "cam1"] and on_a.cut == []
    finally:
        await db.stop()

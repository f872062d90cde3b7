"""The recorder on a simulated clock: timed sessions end at their stop time, scheduled policies follow
their window, sessions that ran out while the service was down are closed on start. No sleeping: time
moves only when the test says so (the store is a real SQLite file; the camera registry is a fake)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from camera_service.recordings.config import RecordingsConfig
from camera_service.recordings.migrations import MIGRATIONS
from camera_service.recordings.models import RecordingSession
from camera_service.recordings.recorder import Recorder
from camera_service.recordings.store import RecordingStore
from camera_service.storage.sqlite import SqliteDatabase as Database
from tests.harness.clock import FakeClock

# Monday 2026-03-02 09:59:30 UTC
T0 = datetime(2026, 3, 2, 9, 59, 30, tzinfo=UTC).timestamp()


@dataclass
class FakeCamera:
    id: str
    recording: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True
    on_demand: bool = False
    source: str = "publisher"


class FakeCameras:
    """The part of the camera registry the recorder uses; counts path re-applies."""

    def __init__(self, *cams: FakeCamera) -> None:
        self.cams = {c.id: c for c in cams}
        self.reapplied: list[str] = []

    async def get(self, camera_id: str) -> FakeCamera:
        return self.cams[camera_id]

    async def list_all(self) -> list[FakeCamera]:
        return list(self.cams.values())

    async def reapply(self, camera_id: str) -> None:
        self.reapplied.append(camera_id)


class FakeHooks:
    def hook_command(self, event: str, **env_vars: str) -> str:
        return f"hook {event}"


@dataclass
class Env:
    clock: FakeClock
    cameras: FakeCameras
    recorder: Recorder
    store: RecordingStore
    told: list[tuple[str, RecordingSession]]


async def until(cond: Callable[[], bool], what: str) -> None:
    """The recorder's next step is a database write (a thread): poll, with a generous real deadline."""
    for _ in range(2000):
        if cond():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never: {what}")


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    db = Database(tmp_path / "rec.db")
    db.register("recordings", MIGRATIONS)
    await db.start()
    clock = FakeClock(start=T0)
    cameras = FakeCameras(
        FakeCamera("timed"),
        FakeCamera(
            "sched",
            recording={
                "mode": "scheduled",
                "timezone": "UTC",
                "schedule": [{"days": ["mon"], "start": "10:00", "end": "11:00"}],
            },
        ),
    )
    store = RecordingStore(db)
    recorder = Recorder(
        RecordingsConfig(policy_interval_s=15),
        store,
        cameras,  # type: ignore[arg-type]
        FakeHooks(),  # type: ignore[arg-type]
        tmp_path / "rec",
        clock=clock,
    )
    told: list[tuple[str, RecordingSession]] = []

    async def listener(what: str, session: RecordingSession) -> None:
        told.append((what, session))

    recorder.on_session(listener)
    try:
        yield Env(clock, cameras, recorder, store, told)
    finally:
        await recorder.stop()
        await db.stop()


async def test_timed_session_ends_exactly_at_its_stop_time(env: Env) -> None:
    await env.recorder.start()
    cam = env.cameras.cams["timed"]
    session = await env.recorder.start_session(cam, 30.0, "tester")
    assert session.stop_at == T0 + 30 and env.recorder.is_recording("timed")

    await env.clock.advance(29.9)
    assert env.recorder.session("timed") is session and env.recorder.is_recording("timed")

    await env.clock.advance(0.2)
    await until(lambda: env.recorder.session("timed") is None, "the timer ended the session")
    await until(lambda: any(w == "stopped" for w, _ in env.told), "listeners told")
    stopped = next(s for w, s in env.told if w == "stopped")
    assert stopped.stop_reason == "timer" and stopped.stopped_at == pytest.approx(T0 + 30, abs=0.2)
    assert not env.recorder.is_recording("timed")
    last = await env.store.last_session("timed")
    assert last is not None and last.stop_reason == "timer"


async def test_a_stopped_session_disarms_its_timer(env: Env) -> None:
    await env.recorder.start()
    cam = env.cameras.cams["timed"]
    await env.recorder.start_session(cam, 10.0, None)
    await env.recorder.stop_session(cam)
    assert [w for w, _ in env.told] == ["started", "stopped"]
    assert env.clock.sleepers == 1  # the policy loop only: the session timer is gone
    await env.clock.advance(60)
    assert [w for w, _ in env.told] == ["started", "stopped"]


async def test_scheduled_policy_follows_its_window_by_the_policy_loop(env: Env) -> None:
    await env.recorder.start()
    assert not env.recorder.is_recording("sched")  # 09:59:30: before the window

    await env.clock.advance(29)  # 09:59:59
    assert not env.recorder.is_recording("sched")
    await env.clock.advance(16)  # 10:00:15: the loop (every 15 s) has run once inside the window
    await until(lambda: env.recorder.is_recording("sched"), "recording at 10:00")
    assert "sched" in env.cameras.reapplied

    await env.clock.advance(3600)  # 11:00:15: window over (end exclusive)
    await until(lambda: not env.recorder.is_recording("sched"), "stopped after 11:00")
    assert not env.recorder.is_recording("timed")  # a camera without a policy never records


async def test_session_that_ran_out_while_down_is_closed_at_its_stop_time(env: Env) -> None:
    gone = RecordingSession(
        id="s1", camera="timed", started_at=T0 - 100, duration_s=50, stop_at=T0 - 50, requested_by=None
    )
    live = RecordingSession(
        id="s2", camera="sched", started_at=T0 - 10, duration_s=40, stop_at=T0 + 30, requested_by=None
    )
    await env.store.insert_session(gone)
    await env.store.insert_session(live)
    await env.recorder.start()
    assert env.recorder.session("timed") is None
    last = await env.store.last_session("timed")
    assert last is not None and last.stop_reason == "timer" and last.stopped_at == T0 - 50
    resumed = env.recorder.session("sched")
    assert resumed is not None and resumed.id == "s2"
    await env.clock.advance(30)
    await until(lambda: env.recorder.session("sched") is None, "the resumed timer fired")

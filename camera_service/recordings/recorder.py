"""Recording control: MediaMTX's native fMP4 recorder toggled per camera through the cameras path contributor.

A camera records while it has an active on-demand session or its policy wants it (continuous, events
buffer, or inside a scheduled window). The contributor is a pure function of the camera and `_recording`,
so every reconcile of the registry (including after a MediaMTX restart) re-applies the same state.
Sessions are persisted: after a restart, running sessions resume and timed ones keep their deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from camera_service.cameras.models import Camera
from camera_service.cameras.ports import CameraRegistry
from camera_service.core.clock import Clock, SystemClock, utcnow
from camera_service.core.errors import InvalidState, conflict
from camera_service.core.hooks import HookHost
from camera_service.core.tasks import TaskSet, cancel_and_wait
from camera_service.core.types import JsonObject
from camera_service.mediamtx.config_render import RECORD_PATH_PATTERN
from camera_service.recordings.config import RecordingsConfig
from camera_service.recordings.models import RecordingSession, SegmentKind
from camera_service.recordings.policy import RecordingPolicy, policy_or_off
from camera_service.recordings.store import RecordingStore

log = logging.getLogger("camera_service.recordings.recorder")

SessionListener = Callable[[str, RecordingSession], Awaitable[None]]  # ("started"|"stopped", session)


def _dur(seconds: float) -> str:
    return f"{seconds:g}s"


class Recorder:
    def __init__(
        self,
        cfg: RecordingsConfig,
        store: RecordingStore,
        cameras: CameraRegistry,
        internal: HookHost,
        recordings_root: Path,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.cfg = cfg
        self.clock: Clock = clock or SystemClock()
        self.store = store
        self.cameras = cameras
        self.internal = internal
        self.root = recordings_root.expanduser().resolve()
        self._sessions: dict[str, RecordingSession] = {}  # camera -> active session
        self._timers: dict[str, asyncio.Task[None]] = {}
        self._policies: dict[str, RecordingPolicy] = {}
        self._recording: set[str] = set()  # cameras whose path config says record: true
        self._listeners: list[SessionListener] = []
        self._lock = asyncio.Lock()
        self._tasks = TaskSet("recorder")

    # ---- the path contributor (pure: camera + self._recording) --------------------------------------

    def contribute(self, camera: Camera) -> JsonObject:
        policy = policy_or_off(camera.recording)
        segment_s = self.cfg.segment_duration_s
        if policy.mode == "events" and camera.id not in self._sessions:
            segment_s = max(2.0, min(segment_s, self.buffer_s(policy) / 3))  # fine-grained buffer pruning
        keys: JsonObject = {
            "record": camera.id in self._recording,
            "recordFormat": "fmp4",
            "recordSegmentDuration": _dur(segment_s),
            "recordPartDuration": _dur(self.cfg.part_duration_s),
            "recordDeleteAfter": "0s",  # retention is ours (locks, sizes), never MediaMTX's cleaner
            "recordPath": f"{self.root}/{RECORD_PATH_PATTERN}",
            "runOnRecordSegmentComplete": self.internal.hook_command(
                "segment_complete",
                path="$MTX_PATH",
                segment="$MTX_SEGMENT_PATH",
                duration="$MTX_SEGMENT_DURATION",
            ),
        }
        if camera.id in self._recording and camera.on_demand and "://" in camera.source:
            keys["sourceOnDemand"] = False  # the recorder is not a reader: keep the source pulled
        # Local devices (runOnDemand publisher): the cameras path builder runs the publisher with the path
        # (runOnInit) while `record` is on, for the same reason.
        return keys

    def buffer_s(self, policy: RecordingPolicy) -> float:
        return policy.buffer_s or self.cfg.default_event_buffer_s

    def segment_kind(self, camera_id: str) -> SegmentKind:
        policy = self._policies.get(camera_id)
        if policy is not None and policy.mode == "events" and camera_id not in self._sessions:
            return "buffer"
        return "continuous"

    def policy(self, camera_id: str) -> RecordingPolicy:
        return self._policies.get(camera_id) or RecordingPolicy()

    # ---- lifecycle ------------------------------------------------------------------------------------

    def on_session(self, listener: SessionListener) -> None:
        self._listeners.append(listener)

    async def start(self) -> None:
        now = self.clock.time()
        for s in await self.store.active_sessions():
            if s.stop_at is not None and s.stop_at <= now:
                await self.store.finish_session(s.id, s.stop_at, "timer")  # ran out while we were down
                continue
            self._sessions[s.camera] = s
            if s.stop_at is not None:
                self._arm_timer(s)
        await self.refresh_all()
        self._tasks.spawn(self._policy_loop(), name="recordings-policy")

    async def stop(self) -> None:
        await self._tasks.close()  # the policy loop and every session timer
        self._timers.clear()
        self._tasks.reopen()
        # Sessions stay persisted as active: a restart resumes them (MediaMTX stops with us anyway).

    async def adopt_session(self, camera_id: str) -> None:
        """Several instances: this one just took the camera over; carry on the on-demand session
        another instance started (persisted in the shared store), with its deadline."""
        if camera_id in self._sessions:
            return
        for s in await self.store.active_sessions():
            if s.camera != camera_id:
                continue
            if s.stop_at is not None and s.stop_at <= self.clock.time():
                await self.store.finish_session(s.id, s.stop_at, "timer")
                return
            self._sessions[camera_id] = s
            if s.stop_at is not None:
                self._arm_timer(s)
            return

    async def release_session(self, camera_id: str) -> None:
        """Several instances: the camera moved to another instance, which carries its session on;
        forget it here without ending it (the store keeps it running)."""
        async with self._lock:
            self._sessions.pop(camera_id, None)
            timer = self._timers.pop(camera_id, None)
        await cancel_and_wait(timer)

    async def _policy_loop(self) -> None:
        while True:
            await self.clock.sleep(self.cfg.policy_interval_s)
            try:
                await self.refresh_all()
            except Exception:
                log.exception("recording policy refresh failed")

    # ---- desired state -----------------------------------------------------------------------------

    async def refresh_all(self) -> None:
        cameras = await self.cameras.list_all()
        known = {c.id for c in cameras}
        for cam_id in list(self._policies):
            if cam_id not in known:
                self._policies.pop(cam_id, None)
                self._recording.discard(cam_id)
        for cam in cameras:
            await self.refresh(cam)

    async def refresh(self, camera: Camera) -> bool:
        """Recompute whether `camera` records; reapply its path config when that changed."""
        async with self._lock:
            policy = policy_or_off(camera.recording)
            self._policies[camera.id] = policy
            want = camera.enabled and (
                camera.id in self._sessions
                or policy.wants_recording(utcnow(self.clock), self.cfg.schedule_timezone)
            )
            if want == (camera.id in self._recording):
                return want
            if want:
                self._recording.add(camera.id)
            else:
                self._recording.discard(camera.id)
            log.info("recording %s", "on" if want else "off", extra={"camera": camera.id})
        await self.cameras.reapply(camera.id)
        return want

    def is_recording(self, camera_id: str) -> bool:
        return camera_id in self._recording

    # ---- on-demand sessions --------------------------------------------------------------------------

    def session(self, camera_id: str) -> RecordingSession | None:
        return self._sessions.get(camera_id)

    def sessions(self) -> list[RecordingSession]:
        return list(self._sessions.values())

    async def start_session(
        self, camera: Camera, duration_s: float | None, requested_by: str | None
    ) -> RecordingSession:
        current = self._sessions.get(camera.id)
        if current is not None:
            raise conflict(
                "already_recording",
                f"camera '{camera.id}' is already recording",
                camera=camera.id,
                current=current.model_dump(),
            )
        if not camera.enabled:
            raise InvalidState(
                f"camera '{camera.id}' is disabled",
                {"camera": camera.id, "status": "DISABLED"},
            )
        now = self.clock.time()
        session = RecordingSession(
            id=uuid.uuid4().hex,
            camera=camera.id,
            started_at=now,
            duration_s=duration_s,
            stop_at=now + duration_s if duration_s else None,
            requested_by=requested_by,
        )
        self._sessions[camera.id] = session
        try:
            await self.store.insert_session(session)
            await self.refresh(camera)
        except Exception:
            self._sessions.pop(camera.id, None)
            await self.store.finish_session(session.id, self.clock.time(), "error")
            with contextlib.suppress(Exception):
                await self.refresh(camera)
            raise
        if session.stop_at is not None:
            self._arm_timer(session)
        await self._tell("started", session)
        return session

    async def stop_session(self, camera: Camera, reason: str = "requested") -> RecordingSession:
        session = self._sessions.get(camera.id)
        if session is None:
            raise InvalidState(
                f"camera '{camera.id}' is not recording",
                {"camera": camera.id, "reason": "not_recording"},
            )
        return await self._finish(camera, session, reason)

    async def _finish(self, camera: Camera, session: RecordingSession, reason: str) -> RecordingSession:
        if self._sessions.get(camera.id) is not session:
            return session
        del self._sessions[camera.id]
        timer = self._timers.pop(camera.id, None)
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()
        stopped = session.model_copy(update={"stopped_at": self.clock.time(), "stop_reason": reason})
        await self.store.finish_session(session.id, stopped.stopped_at or self.clock.time(), reason)
        try:
            await self.refresh(camera)
        finally:
            await self._tell("stopped", stopped)
        return stopped

    async def forget(self, camera_id: str, reason: str = "camera_removed") -> RecordingSession | None:
        """The camera is gone: end its session (timer cancelled, store updated, listeners told) and
        drop its policy and recording state. Its path config is already gone, so nothing is reapplied."""
        async with self._lock:
            self._policies.pop(camera_id, None)
            self._recording.discard(camera_id)
            session = self._sessions.pop(camera_id, None)
            timer = self._timers.pop(camera_id, None)
        await cancel_and_wait(timer)
        if session is None:
            return None
        stopped = session.model_copy(update={"stopped_at": self.clock.time(), "stop_reason": reason})
        await self.store.finish_session(session.id, stopped.stopped_at or self.clock.time(), reason)
        await self._tell("stopped", stopped)
        return stopped

    def recording_cameras(self) -> set[str]:
        """Cameras whose path config currently says record (a copy)."""
        return set(self._recording)

    def event_buffers(self) -> dict[str, float]:
        """Seconds of rolling buffer per camera whose policy mode is `events`."""
        return {cid: self.buffer_s(p) for cid, p in self._policies.items() if p.mode == "events"}

    def _arm_timer(self, session: RecordingSession) -> None:
        async def timer() -> None:
            await self.clock.sleep(max(0.0, (session.stop_at or 0) - self.clock.time()))
            try:
                camera = await self.cameras.get(session.camera)
                await self._finish(camera, session, "timer")
            except Exception:
                log.exception("timed recording stop failed", extra={"camera": session.camera})

        self._timers[session.camera] = self._tasks.spawn(timer(), name=f"rec-timer-{session.camera}")

    async def _tell(self, what: str, session: RecordingSession) -> None:
        for listener in self._listeners:
            try:
                await listener(what, session)
            except Exception:
                log.exception("recording session listener failed")

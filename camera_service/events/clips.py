"""Event clips: once an event's post-roll has passed, cut [time - pre, time + post] from the recordings
(the recordings port's export_range, which publishes `clip.ready`), link the clip to the event and publish
`event.clip_ready {event_id, clip_id, ...}`; after CUT_ATTEMPTS failed cuts, `event.clip_failed
{event_id, event_type, error}`. Both carry the event's camera and severity (documented in docs/webhooks.md).

Pending clips are kept in the event store, so a restart resumes them.

Scale-out (docs/scale-out.md): only the camera's owner holds its recordings, so only the owner cuts its
clips. A clip requested on any instance is stored unclaimed; the owner claims it (a conditional UPDATE:
exactly one claim wins) and cuts it. A clustered instance sweeps for unclaimed clips of the cameras it
owns every CLIP_SWEEP_S (the clip is due only after its post-roll anyway) and, on start, resumes only
the clips it claimed itself, never another running instance's. Only a won claim schedules a cut.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from camera_service.core.bus import Event, EventBus
from camera_service.core.clock import Clock
from camera_service.core.tasks import TaskSet
from camera_service.events.config import EventsConfig
from camera_service.events.metrics import EventMetrics
from camera_service.events.models import ClipState
from camera_service.events.store import EventStore

if TYPE_CHECKING:
    from camera_service.recordings.ports import RecordingActions

log = logging.getLogger("camera_service.events.clips")

CUT_ATTEMPTS = 3
CUT_RETRY_S = 2.0
CLIP_SWEEP_S = 2.0


class EventClipper:
    def __init__(
        self,
        store: EventStore,
        bus: EventBus,
        metrics: EventMetrics,
        *,
        clock: Clock,
        cfg: EventsConfig,
        recordings: RecordingActions,
        owns: Callable[[str], bool] | None = None,
        instance_id: str | None = None,
    ) -> None:
        """`owns(camera)` and `instance_id` (scale-out): cut only the clips of the cameras this instance
        owns, claimed under its id; None: one instance, it cuts every clip."""
        self.store = store
        self.bus = bus
        self.metrics = metrics
        self.clock = clock
        self.cfg = cfg
        self._recordings = recordings
        self._tasks = TaskSet("event-clips")
        self._cutting: set[str] = set()  # event ids with a clip being cut
        self._owns = owns
        self._me = instance_id or "local"

    async def request(self, event: Event, pre_s: float | None = None, post_s: float | None = None) -> None:
        if not event.camera:
            raise ValueError("an event clip needs an event with a camera")
        if event.id in self._cutting:
            return  # one clip per event
        pre = self.cfg.clip_pre_s if pre_s is None else pre_s
        post = self.cfg.clip_post_s if post_s is None else post_s
        if pre + post <= 0:
            raise ValueError("pre_s + post_s must be more than 0")
        await self.store.set_clip(event.id, ClipState.PENDING, pre_s=pre, post_s=post)  # unclaimed
        if self._owned(event.camera) and await self.store.claim_clip(event.id, self._me):
            self._schedule(event, pre, post)
        # else the camera's owner claims it in its next sweep

    def _owned(self, camera: str) -> bool:
        return self._owns is None or self._owns(camera)

    def _schedule(self, event: Event, pre: float, post: float) -> None:
        if event.id in self._cutting:
            return  # one cut per event at a time
        task = self._tasks.spawn(self._cut(event, pre, post), name=f"event-clip-{event.id}")
        self._cutting.add(event.id)
        task.add_done_callback(lambda _t: self._cutting.discard(event.id))

    async def resume(self) -> None:
        """On start: resume this instance's pending clips; clustered, also sweep for the owner's share."""
        self._tasks.reopen()
        if self._owns is None:
            for p in await self.store.pending_clips():  # one instance: every pending clip is ours
                self._schedule(p.event, p.pre_s, p.post_s)
            return
        for p in await self.store.pending_clips(self._me):
            if p.owner == self._me:  # claimed before a restart: nobody else cuts it
                self._schedule(p.event, p.pre_s, p.post_s)
        await self.sweep()
        self._tasks.spawn(self._sweep_loop(), name="event-clip-sweep")

    async def sweep(self) -> None:
        """Claim the unclaimed pending clips of the cameras we own and cut them. Only a won claim
        schedules a cut (never a row read as ours: its cut may have just ended)."""
        for p in await self.store.pending_clips(self._me):
            camera = p.event.camera
            if p.owner is not None or camera is None or not self._owned(camera):
                continue  # claimed (by us or another instance), or not our camera
            if await self.store.claim_clip(p.event.id, self._me):
                self._schedule(p.event, p.pre_s, p.post_s)

    async def _sweep_loop(self) -> None:
        while True:
            await self.clock.sleep(CLIP_SWEEP_S)
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event clip sweep failed")

    async def _cut(self, event: Event, pre: float, post: float) -> None:
        assert event.camera is not None
        due = event.time + post + self.cfg.clip_settle_s
        await self.clock.sleep(max(0.0, due - self.clock.time()))
        start = datetime.fromtimestamp(event.time - pre, UTC)
        end = datetime.fromtimestamp(event.time + post, UTC)
        error = "recordings are not available in this server"
        for attempt in range(1, CUT_ATTEMPTS + 1):
            try:
                clip = await self._recordings.export_range(
                    event.camera,
                    start,
                    end,
                    name=f"event {event.type} {event.id[:8]}",
                    lock=self.cfg.clip_lock,
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = getattr(exc, "message", None) or str(exc) or type(exc).__name__
                log.info(
                    "event clip not cut yet", extra={"event_id": event.id, "attempt": attempt, "error": error}
                )
                if attempt < CUT_ATTEMPTS:
                    await self.clock.sleep(CUT_RETRY_S)
                continue
            await self.store.set_clip(event.id, ClipState.READY, clip_id=clip.id)
            self.metrics.event_clips.labels("ready").inc()
            # recordings publishes `clip.ready` (kind=event) for the file; this one says the event is linked.
            self.bus.emit(
                "event.clip_ready",
                camera=event.camera,
                severity=event.severity,
                clip_id=clip.id,
                event_id=event.id,
                event_type=event.type,
                start=event.time - pre,
                end=event.time + post,
                duration_s=getattr(clip, "duration_s", None),
            )
            return
        await self.store.set_clip(event.id, ClipState.FAILED)
        self.metrics.event_clips.labels("failed").inc()
        # Same severity as the event (like event.clip_ready): a min_severity filter sees both outcomes.
        self.bus.emit(
            "event.clip_failed",
            camera=event.camera,
            severity=event.severity,
            event_id=event.id,
            event_type=event.type,
            error=error,
        )
        log.warning("event clip failed", extra={"event_id": event.id, "error": error})

    async def wait(self) -> None:
        """Wait until every clip being cut now is done."""
        await self._tasks.wait()

    async def stop(self) -> None:
        await self._tasks.close()

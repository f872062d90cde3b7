"""AnalyticsService (component "analytics"): sampled frames -> gate -> worker -> tracks -> events.

Per analysed camera a `CameraPipeline` samples and gates frames on its own thread; detector plugins run in
one worker process (`InferenceQueue`, started when the first camera needs it). Results come back to the
event loop, where tracks are confirmed and announced as `detection.<class>` events (with a best-frame
snapshot) on the bus, so the event store, rules, webhooks, clips and subscriptions take them unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from av.video.frame import VideoFrame

from camera_service.analytics.builtin.yolo import ENTRYPOINT as YOLO_ENTRYPOINT
from camera_service.analytics.config import AnalyticsConfig
from camera_service.analytics.frames import LiveFrames
from camera_service.analytics.metrics import AnalyticsMetrics
from camera_service.analytics.models import CameraAnalyticsSettings, Detection
from camera_service.analytics.motion import zone_of
from camera_service.analytics.pipeline import CameraPipeline, SampleOutcome
from camera_service.analytics.plugins import Discovery, discover
from camera_service.analytics.store import (
    MIGRATIONS,
    Activity,
    AnalyticsStore,
    DetectionQuery,
    DetectionRecord,
)
from camera_service.analytics.tracker import Track
from camera_service.analytics.worker import BatchStats, InferenceQueue, Job
from camera_service.core.bus import Event, EventBus, Severity
from camera_service.core.clock import Clock, SystemClock
from camera_service.core.component import ComponentHealth
from camera_service.core.tasks import TaskSet, cancel_and_wait
from camera_service.media.snapshot import GrabbedFrame
from camera_service.observability.metrics import Metrics
from camera_service.recordings.ports import FrameStore
from camera_service.storage.database import Database

log = logging.getLogger("camera_service.analytics")

HIGH_LABELS = {"person"}


def event_type(label: str) -> str:
    return "detection." + "".join(ch if ch.isalnum() else "_" for ch in label.lower())


class AnalyticsService:
    name = "analytics"

    def __init__(
        self,
        cfg: AnalyticsConfig,
        db: Database,
        bus: EventBus,
        metrics: Metrics,
        *,
        rtsp_url: Callable[[str], str],
        frames: LiveFrames,
        clock: Clock | None = None,
        snapshots: FrameStore | None = None,
    ) -> None:
        """`frames`: where the samplers' last frames are read (take_snapshot); `snapshots` stores a
        detection's best frame as a snapshot (the recordings domain)."""
        self.cfg = cfg
        self.clock: Clock = clock or SystemClock()  # retention and settings times (frames carry wall time)
        self.bus = bus
        self.metrics = AnalyticsMetrics(metrics.registry)
        self.store = AnalyticsStore(db)
        db.register("analytics", MIGRATIONS)
        self._rtsp_url = rtsp_url
        self.frames = frames
        self.snapshots = snapshots
        self.discovery = Discovery({}, {})
        self.queue: InferenceQueue | None = None
        self.pipelines: dict[str, CameraPipeline] = {}
        self.settings: dict[str, tuple[bool, CameraAnalyticsSettings]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks = TaskSet("analytics")
        self._retention: asyncio.Task[None] | None = None
        self._running = False
        self._unsubscribe: Callable[[], None] | None = None
        self._restarts_seen = 0

    # --- component ---
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        builtins = {"objects": YOLO_ENTRYPOINT} if self.cfg.yolo is not None else None
        self.discovery = await asyncio.to_thread(discover, None, builtins)
        stored = await self.store.camera_settings()
        for camera in self.cfg.cameras:
            if camera not in stored:
                self.settings[camera] = (True, self.cfg.defaults)
        for camera, (enabled, raw) in stored.items():
            try:
                merged = self.cfg.defaults.model_dump() | raw
                self.settings[camera] = (enabled, CameraAnalyticsSettings.model_validate(merged))
            except ValueError as exc:
                log.error("analytics settings of %s are invalid, ignored: %s", camera, exc)
        self._running = True
        if self.cfg.enabled:
            for camera, (enabled, settings) in self.settings.items():
                if enabled:
                    self._start_pipeline(camera, settings)
        self._unsubscribe = self.bus.subscribe(self._on_camera_event, topics=("camera.removed",))
        self._retention = asyncio.create_task(self._retention_loop(), name="analytics-retention")

    async def stop(self) -> None:
        self._running = False
        if self._unsubscribe is not None:
            self._unsubscribe()
        await cancel_and_wait(self._retention)
        self._retention = None
        pipelines = list(self.pipelines.values())
        self.pipelines.clear()
        for p in pipelines:
            self.frames.detach(p.camera)
            p.stop()
        if self.queue is not None:
            await asyncio.to_thread(self.queue.stop)
            self.queue = None
        deadline = time.monotonic() + 3.0  # readers blocked in a connect attempt are daemon threads
        for p in pipelines:
            await asyncio.to_thread(p.sampler.join, max(0.0, deadline - time.monotonic()))
        await self._tasks.close()  # announcements, activity updates, forgets: cancelled and awaited
        self._tasks.reopen()

    def health(self) -> ComponentHealth:
        q = self.queue
        errors = dict(self.discovery.errors)
        if q is not None:
            errors.update({k: f"worker: {v}" for k, v in q.plugin_errors.items()})
        return ComponentHealth(
            name=self.name,
            healthy=self._running or not self.cfg.enabled,
            status=("running" if self._running else "stopped") + (", plugin errors" if errors else ""),
            details={
                "cameras": sorted(self.pipelines),
                "plugins": sorted(self.discovery.manifests),
                "plugin_errors": errors,
                "worker": {
                    "pid": q.pid if q else None,
                    "ready": bool(q and q.ready),
                    "restarts": q.restarts if q else 0,
                    "queue": q.depth() if q else 0,
                },
            },
        )

    # --- cameras ---
    def effective(self, camera: str) -> tuple[bool, CameraAnalyticsSettings]:
        return self.settings.get(camera, (False, self.cfg.defaults))

    async def configure(self, camera: str, enabled: bool, settings: CameraAnalyticsSettings) -> None:
        await self.store.save_camera(camera, enabled, settings.model_dump(mode="json"), self.clock.time())
        self.settings[camera] = (enabled, settings)
        await self._stop_pipeline(camera)
        if enabled and self.cfg.enabled and self._running:
            self._start_pipeline(camera, settings)

    def unknown_detectors(self, detectors: list[str]) -> list[str]:
        return [d for d in detectors if d not in self.discovery.manifests]

    def _start_pipeline(self, camera: str, settings: CameraAnalyticsSettings) -> None:
        manifests = self.discovery.manifests
        detectors = [d for d in settings.detectors if d in manifests and manifests[d].stage == "detector"]
        if detectors:
            self._ensure_queue()
        path = settings.stream or camera
        pipeline = CameraPipeline(
            camera,
            settings,
            url=lambda: self._rtsp_url(path),
            detectors=detectors,
            submit=self._submit,
            post=self._post_outcome,
            count=lambda cam, outcome: self.metrics.frames.labels(cam, outcome).inc(),
            reconnect_s=self.cfg.reconnect_s,
        )
        self.pipelines[camera] = pipeline
        self.frames.attach(camera, pipeline.sampler)
        pipeline.start()

    async def _stop_pipeline(self, camera: str) -> None:
        pipeline = self.pipelines.pop(camera, None)
        if pipeline is not None:
            self.frames.detach(camera)
            pipeline.stop()
            await asyncio.to_thread(pipeline.sampler.join, 2.0)

    def _on_camera_event(self, event: Event) -> None:
        if event.camera and event.camera in self.settings:
            self.settings.pop(event.camera, None)
            self._spawn(self._forget(event.camera))

    async def _forget(self, camera: str) -> None:
        await self._stop_pipeline(camera)
        await self.store.delete_camera(camera)

    async def timeline_activity(self, camera: str, start: float, end: float) -> list[Activity]:
        """Motion periods (the current one too) and confirmed objects' presence within [start, end)."""
        found = await self.store.activity(camera, start, end)
        p = self.pipelines.get(camera)
        if p is not None and p.in_motion and p.motion_since < end:
            found.append(Activity("motion", p.motion_since, max(p.last_motion, p.motion_since)))
        return found

    async def search(self, q: DetectionQuery) -> tuple[list[DetectionRecord], str | None]:
        """Confirmed detections, newest first: the page and the next page's cursor (None at the end)."""
        return await self.store.search(q)

    # --- worker ---
    def _ensure_queue(self) -> None:
        if self.queue is not None:
            return
        w = self.cfg.worker
        self.queue = InferenceQueue(
            self.discovery.detector_entrypoints,
            self.cfg.models_dir,
            threads=w.threads,
            max_batch=w.max_batch,
            batch_wait_ms=w.batch_wait_ms,
            queue_size=w.queue_size,
            restart_backoff_s=w.restart_backoff_s,
            on_result=self._on_result,
            on_stats=self._on_stats,
            on_drop=self._on_drop,
            options={"yolo": self.cfg.yolo.model_dump(mode="json")} if self.cfg.yolo else None,
        )
        self.queue.start()

    def _submit(self, job: Job) -> None:
        if self.queue is not None:
            self.queue.submit(job)
            self.metrics.queue_depth.set(self.queue.depth())

    def _on_drop(self, camera: str) -> None:
        pipeline = self.pipelines.get(camera)
        if pipeline is not None:
            pipeline.counters.dropped += 1
        self.metrics.frames.labels(camera, "dropped").inc()

    def _on_stats(self, stats: BatchStats) -> None:
        self.metrics.batch_size.observe(stats.size)
        self.metrics.queue_lag.set(stats.lag_s)
        for plugin, ms in stats.plugin_ms.items():
            self.metrics.inference_ms.labels(plugin).observe(ms / max(1, stats.size))
        q = self.queue
        if q is not None and q.restarts > self._restarts_seen:
            self.metrics.worker_restarts.inc(q.restarts - self._restarts_seen)
            self._restarts_seen = q.restarts

    def _on_result(self, job: Job, detections: list[Detection]) -> None:
        """Dispatcher thread: hand the result to the event loop."""
        if self._loop is not None and self._running:
            self._loop.call_soon_threadsafe(self._handle_result, job, detections)

    def _post_outcome(self, outcome: SampleOutcome) -> None:
        if self._loop is not None and self._running:
            self._loop.call_soon_threadsafe(self._handle_outcome, outcome)

    # --- event loop: results to events ---
    def _handle_result(self, job: Job, detections: list[Detection]) -> None:
        pipeline = self.pipelines.get(job.camera)
        if pipeline is None:
            return
        pipeline.counters.detected += 1
        self.metrics.frames.labels(job.camera, "detected").inc()
        labels = set(pipeline.settings.labels)
        kept = [d for d in detections if d.plugin != "objects" or d.label in labels]
        for track in pipeline.tracker.update(job.time, kept, job.context):
            self._spawn(self._announce(pipeline, track, job.time))
        for track in pipeline.tracker.ended:
            if track.event_id is not None:
                self._spawn(self.store.extend_activity(track.event_id, track.last_seen))

    async def _announce(self, pipeline: CameraPipeline, track: Track, frame_time: float) -> None:
        camera = pipeline.camera
        snapshot_id = None
        frame = track.best_context
        if self.snapshots is not None and isinstance(frame, VideoFrame):
            try:
                grabbed = GrabbedFrame(frame, track.best_time, True)
                snapshot_id = (
                    await self.snapshots.store_frame(camera, grabbed, "jpeg", self.cfg.snapshot_quality)
                ).id
            except Exception:
                log.exception("detection snapshot failed", extra={"camera": camera})
        zone = zone_of(track.best_box, pipeline.settings.zones)
        x1, y1, x2, y2 = (round(v, 4) for v in track.best_box)
        box = (x1, y1, x2, y2)
        data: dict[str, Any] = {
            "label": track.label,
            "confidence": round(track.best_score, 4),
            "score": round(track.median(), 4),
            "box": list(box),
            "track_id": track.id,
            "zone": zone,
            "snapshot_id": snapshot_id,
            "first_seen": track.first_seen,
            "frame_time": frame_time,  # the frame that confirmed the object
        }
        if track.text:
            data["plate"] = track.text
        severity = Severity.MEDIUM if track.label in HIGH_LABELS else Severity.LOW
        event = Event(
            type=event_type(track.label), camera=camera, time=track.best_time, severity=severity, data=data
        )
        track.event_id = event.id
        self.bus.publish(event)
        self.metrics.detection_latency.observe(max(0.0, time.time() - frame_time))
        await self.store.insert(
            DetectionRecord(
                event_id=event.id,
                camera=camera,
                time=track.best_time,
                label=track.label,
                score=track.best_score,
                track_id=track.id,
                zone=zone,
                box=box,
                plate=track.text,
                snapshot_id=snapshot_id,
            )
        )
        end = max(track.last_seen, frame_time)
        await self.store.add_activity(
            camera, Activity("object", track.first_seen, end, track.label, event.id)
        )

    def _handle_outcome(self, o: SampleOutcome) -> None:
        pipeline = self.pipelines.get(o.camera)
        if pipeline is None:
            return
        for kind in o.tamper_started:
            self.bus.emit(f"tamper.{kind}", camera=o.camera, severity=Severity.HIGH, kind=kind)
        for kind in o.tamper_cleared:
            self.bus.emit("tamper.cleared", camera=o.camera, kind=kind)
        m = o.motion
        if m is None or m.initial:
            return
        if m.motion:
            pipeline.last_motion = o.time
            if not pipeline.in_motion:
                pipeline.in_motion, pipeline.motion_since = True, o.time
                regions = [[round(v, 3) for v in r] for r in m.regions[:16]]
                self.bus.emit("motion.started", camera=o.camera, regions=regions, changed=round(m.changed, 4))
        elif pipeline.in_motion and o.time - pipeline.last_motion >= pipeline.settings.motion.cooldown_s:
            pipeline.in_motion = False
            duration = round(pipeline.last_motion - pipeline.motion_since, 3)
            self.bus.emit("motion.stopped", camera=o.camera, duration_s=duration)
            period = Activity("motion", pipeline.motion_since, pipeline.last_motion)
            self._spawn(self.store.add_activity(o.camera, period))

    # --- housekeeping ---
    def _spawn(self, coro: Any) -> None:
        self._tasks.spawn(coro)  # a failure is logged by the TaskSet

    async def _retention_loop(self) -> None:
        while True:
            if self.cfg.retention_days > 0:
                try:
                    await self.store.prune(self.clock.time() - self.cfg.retention_days * 86400)
                except Exception:
                    log.exception("analytics retention failed")
            await self.clock.sleep(3600)

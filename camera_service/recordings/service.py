"""RecordingsService (component "recordings"): recorder, index, exports, snapshots, downloads, storage.

The façade of the recordings domain: handlers call only this class; other domains use it through
recordings/ports.py (RecordingActions). Its parts: recorder.py (sessions, policies), index.py,
capture.py (clip exports, snapshots), storage.py (retention, disk), downloads.py, notices.py (bus events
and the established protocol's recording/storage pushes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path

from camera_service.analytics.ports import FrameSource
from camera_service.auth.identity import Identity
from camera_service.cameras.ports import CameraRegistry
from camera_service.core.bus import Event, EventBus, Severity
from camera_service.core.clock import Clock, SystemClock
from camera_service.core.component import ComponentHealth
from camera_service.core.errors import (
    Conflict,
    DomainError,
    StorageFailure,
)
from camera_service.core.hooks import HookHandler, HookHost
from camera_service.core.pushes import LocalPushes, PushRelay
from camera_service.core.tasks import TaskSet
from camera_service.media.imaging import ImageFormat
from camera_service.media.snapshot import GrabbedFrame, SnapshotEngine
from camera_service.mediamtx.errors import MediaMTXError, MediaMTXUnavailable
from camera_service.mediamtx.supervisor import MediaMTXSupervisor
from camera_service.recordings import compat_sessions
from camera_service.recordings.capture import ClipExports, SnapshotTaker
from camera_service.recordings.config import RecordingsConfig
from camera_service.recordings.downloads import DownloadRoutes
from camera_service.recordings.export import Exporter
from camera_service.recordings.index import Fence, SegmentIndex
from camera_service.recordings.migrations import MIGRATIONS
from camera_service.recordings.models import Clip, ClipKind, RecordingSession, Snapshot
from camera_service.recordings.notices import RecordingNotices
from camera_service.recordings.queries import ArchiveQueries
from camera_service.recordings.recorder import Recorder
from camera_service.recordings.signing import UrlSigner, load_or_create_key
from camera_service.recordings.storage import StorageManager
from camera_service.recordings.store import RecordingStore
from camera_service.rpc.context import Broadcaster
from camera_service.storage.database import Database

log = logging.getLogger("camera_service.recordings")

_STOP_GRACE_S = 2.0  # how long stop() waits for in-flight index writes before cancelling them


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d_%H-%M-%S-%f")


class RecordingsService:
    name = "recordings"

    def __init__(
        self,
        cfg: RecordingsConfig,
        *,
        data_dir: Path,
        recordings_root: Path,
        clips_root: Path,
        snapshots_root: Path,
        db: Database,
        bus: EventBus,
        connections: Broadcaster,
        mediamtx: MediaMTXSupervisor,
        internal: HookHost,
        cameras: CameraRegistry,
        public_base_url: Callable[[], str],
        rtsp_url: Callable[[str], str] | None = None,
        clock: Clock | None = None,
        frames: FrameSource | None = None,
        pushes: PushRelay | None = None,
        instance_id: str | None = None,
        fence: Fence | None = None,
        is_revoked: Callable[[str], bool] | None = None,
    ) -> None:
        """`instance_id`/`fence`: several instances share the index (camera_service/cluster); segment
        rows carry the recording instance and its lease epoch (recordings/index.py). `is_revoked`: API key
        id -> revoked (download URLs minted for a revoked key stop working: security L17)."""
        self.cfg = cfg
        self.clock: Clock = clock or SystemClock()
        self.bus = bus
        self.notices = RecordingNotices(bus, connections, cameras, pushes or LocalPushes())
        self.mediamtx = mediamtx
        self.cameras = cameras
        self._public_base_url = public_base_url
        self._internal_rtsp_url = rtsp_url  # the service's own reader credential under MediaMTX http auth
        self.roots = {
            "recordings": recordings_root.expanduser().resolve(),
            "clips": clips_root.expanduser().resolve(),
            "snapshots": snapshots_root.expanduser().resolve(),
        }
        db.register("recordings", MIGRATIONS)
        self.store = RecordingStore(db, owner=instance_id)
        self.signer = UrlSigner(load_or_create_key(cfg.download_key, data_dir), cfg.download_url_ttl_s)
        self.recorder = Recorder(
            cfg, self.store, cameras, internal, self.roots["recordings"], clock=self.clock
        )
        self.index = SegmentIndex(
            self.store,
            self.roots["recordings"],
            self.recorder.segment_kind,
            instance_id=instance_id,
            fence=fence,
        )
        self.exporter = Exporter(
            lambda: mediamtx.client,
            part_duration_s=cfg.part_duration_s,
            is_recording=self.recorder.is_recording,
        )
        self.snapshots = SnapshotEngine(cfg.snapshot_warm_s, cfg.snapshot_max_age_s)
        self.archive = ArchiveQueries(self.store)  # handlers' read side of the index (never the store)
        self.exports = ClipExports(
            cfg,
            store=self.store,
            exporter=self.exporter,
            clips_root=self.roots["clips"],
            bus=bus,
            cameras=cameras,
        )
        self.snapshot_taker = SnapshotTaker(
            cfg,
            store=self.store,
            engine=self.snapshots,
            snapshots_root=self.roots["snapshots"],
            bus=bus,
            cameras=cameras,
            rtsp_url=self._rtsp_url,
            frames=frames,  # a fresh frame analytics already decoded, if any
        )
        self.storage = StorageManager(
            self.store,
            bus,
            self.roots,
            cfg.retention,
            protected=self.exporter.protected_ranges,
            buffers=self.recorder.event_buffers,
            recording_now=self.recorder.recording_cameras,
            on_warning=self.notices.storage_notice,
            clock=self.clock,
            owner=instance_id,
        )
        self.downloads = DownloadRoutes(self.roots, self.signer, self._is_known_file, is_revoked)
        self.index.on_indexed(self.notices.segment_indexed)
        self.recorder.on_session(self._session_changed)
        self._tasks = TaskSet("recordings")
        self._unsubscribe: Callable[[], None] | None = None
        self._started = False
        self._names: dict[str, str | None] = {}  # camera -> compat filename of the session being started
        self._closed = False  # set by stop(): no new background work (hooks, refreshes) from then on

    # ---- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        self._closed = False
        self._tasks.reopen()
        for root in self.roots.values():
            root.mkdir(parents=True, exist_ok=True)
        await self.index.reconcile()
        await self.storage.start()
        try:
            await self.recorder.start()
        except (DomainError, MediaMTXError) as exc:  # MediaMTX down: the cameras reconcile applies it later
            log.warning("recorder state not applied yet: %s", exc.message)
        self._unsubscribe = self.bus.subscribe(self._on_camera_event, topics=["camera.*"])
        self._started = True

    async def stop(self) -> None:
        # Stop taking work first: MediaMTX (stopped after us, before the database) still closes segments
        # and calls the hook; those files are indexed by the reconciliation on the next start instead of
        # by a task that would write after the database closed.
        self._started = False
        self._closed = True
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await self.storage.stop()
        await self.recorder.stop()
        await self._tasks.wait(_STOP_GRACE_S)  # let in-flight index writes finish briefly,
        await self._tasks.close()  # then cancel what is left
        await self.snapshots.close()

    def health(self) -> ComponentHealth:
        return ComponentHealth(
            name=self.name,
            healthy=self._started,
            status="running" if self._started else "stopped",
            details={
                "recording": sorted(self.recorder.recording_cameras()),
                "sessions": len(self.recorder.sessions()),
                "disk": self.storage.level,
                "warm_snapshot_readers": self.snapshots.warm_cameras(),
            },
        )

    def _spawn(self, coro: Coroutine[object, object, object], name: str) -> None:
        if self._closed:  # stopping: nothing may outlive stop() (the database closes after us)
            coro.close()
            return
        self._tasks.spawn(coro, name=name)

    # ---- wiring callbacks ----------------------------------------------------------------------------

    def hook_handlers(self) -> dict[str, HookHandler]:
        """The MediaMTX hooks this component handles (app.py registers them on the internal listener)."""
        return {"segment_complete": self._on_segment_hook}

    async def _on_segment_hook(self, params: dict[str, str]) -> None:
        if self._closed:
            return  # stopping: the reconciliation on the next start indexes the file
        rel = self.index.relative(params.get("segment", ""))
        if rel is None:
            log.warning("segment hook for a file outside the recordings root ignored")
            return
        try:
            hint = float(params.get("duration", "") or 0) or None
        except ValueError:
            hint = None
        self._spawn(self.index.add(rel, hint), f"index-{rel}")  # answer MediaMTX's curl at once

    def _on_camera_event(self, event: Event) -> None:
        if event.type in ("camera.added", "camera.updated", "camera.removed") and event.camera:
            self._spawn(
                self._refresh_camera(event.camera, removed=event.type == "camera.removed"),
                f"rec-refresh-{event.camera}",
            )

    async def refresh_camera(self, camera_id: str) -> None:
        """Re-read the camera's recording policy and re-apply its path (a cluster instance just took the
        camera over: it also carries on a running on-demand session; or another instance changed it)."""
        await self.recorder.adopt_session(camera_id)
        await self._refresh_camera(camera_id, removed=False)

    async def release_camera(self, camera_id: str) -> None:
        """A cluster instance handed the camera over: its new owner carries the session on."""
        await self.recorder.release_session(camera_id)

    async def _refresh_camera(self, camera_id: str, removed: bool) -> None:
        try:
            if removed:
                self.snapshots.drop(camera_id)
                await self.recorder.forget(camera_id, "camera_removed")
                return
            await self.recorder.refresh(await self.cameras.get(camera_id))
        except Exception:
            log.exception("recording refresh failed", extra={"camera": camera_id})

    async def _session_changed(self, what: str, session: RecordingSession) -> None:
        self.notices.session_event(what, session)
        if what == "started":  # named before anyone hears of it, so the push carries the name that resolves
            name = await compat_sessions.name_session(self, session, self._names.get(session.camera))
        else:
            name = await compat_sessions.session_name(self, session)
        self.notices.session_status(what, session, name)

    async def _is_known_file(self, kind: str, rel: str) -> bool:
        if kind == "recordings":
            return await self.store.get_segment(path=rel) is not None
        if kind == "snapshots":
            return await self.store.get_snapshot(path=rel) is not None
        row = await self.store.db.fetch_one("SELECT 1 FROM rec_clips WHERE path=? OR thumbnail=?", (rel, rel))
        return row is not None

    # ---- helpers -----------------------------------------------------------------------------------

    @staticmethod
    def session_label(session: RecordingSession) -> str:
        """Compat `filename` of a session: <camera>/<UTC start>; its segments live in that folder."""
        return f"{session.camera}/{_stamp(session.started_at)[:19]}"

    def download_url(self, kind: str, rel: str, identity: Identity | None = None) -> str:
        """A signed URL; for `identity`'s API key (dies with it) and never past its expiry (L17)."""
        key_id = identity.key_id if identity is not None else None
        not_after = identity.expires_at if identity is not None else None
        return self._public_base_url() + self.signer.sign(kind, rel, key_id=key_id, not_after=not_after)

    def _rtsp_url(self, camera_id: str) -> str:
        if self._internal_rtsp_url is not None:
            return self._internal_rtsp_url(camera_id)
        cfg = self.mediamtx.cfg
        return f"rtsp://{cfg.host}:{cfg.rtsp_port}/{camera_id}"

    # ---- recording control ---------------------------------------------------------------------------

    async def start_recording(
        self,
        camera_id: str,
        duration_s: float | None = None,
        requested_by: str | None = None,
        *,
        filename: str | None = None,
    ) -> RecordingSession:
        """Start an on-demand session; `filename` (compat) names it (compat_sessions.name_session)."""
        camera = await self.cameras.get(camera_id)
        current = self.recorder.session(camera.id)
        if current is None and self.storage.check_disk() == "critical":
            raise StorageFailure(
                "storage is almost full: new recordings are blocked",
                {"camera": camera.id, "reason": "low_disk", "level": "critical"},
            )
        if current is None and not self.mediamtx.is_up:
            raise MediaMTXUnavailable("MediaMTX is not reachable")
        self._names[camera.id] = filename  # read by _session_changed("started")
        try:
            return await self.recorder.start_session(camera, duration_s, requested_by)
        except (DomainError, MediaMTXError) as exc:
            if not isinstance(exc, Conflict):
                self.bus.emit(
                    "recording.error", camera=camera.id, severity=Severity.HIGH, message=exc.message
                )
            raise
        finally:
            self._names.pop(camera.id, None)

    async def stop_recording(self, camera_id: str) -> RecordingSession:
        camera = await self.cameras.get(camera_id)
        return await self.recorder.stop_session(camera)

    # ---- exports and snapshots (recordings/capture.py) ----------------------------------------------

    async def export_range(
        self,
        camera_id: str,
        start: datetime,
        end: datetime,
        name: str | None = None,
        lock: bool = False,
        *,
        kind: ClipKind = "event",
    ) -> Clip:
        """Export [start, end] of a camera as one MP4 clip with a thumbnail; waits until it is recorded."""
        return await self.exports.export_range(camera_id, start, end, name, lock, kind=kind)

    async def take_snapshot(
        self,
        camera_id: str,
        fmt: ImageFormat = "jpeg",
        quality: int = 85,
        max_width: int | None = None,
        *,
        name: str | None = None,
    ) -> Snapshot:
        """Decode a current frame and store it (as <camera>/<name> when a client chose `name`)."""
        return await self.snapshot_taker.take(camera_id, fmt, quality, max_width, name=name)

    async def store_frame(
        self,
        camera_id: str,
        grabbed: GrabbedFrame,
        fmt: ImageFormat = "jpeg",
        quality: int = 85,
        max_width: int | None = None,
        *,
        name: str | None = None,
    ) -> Snapshot:
        """Encode an already decoded frame of a camera and store it as a snapshot."""
        return await self.snapshot_taker.store(camera_id, grabbed, fmt, quality, max_width, name=name)

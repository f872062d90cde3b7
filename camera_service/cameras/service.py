"""CameraService: the façade of the camera registry that MediaMTX always reflects (component "cameras").

Handlers and other domains call only this class (other domains through cameras/ports.py). It owns its
parts: the in-memory cache (registry.py, written through to SQLite first), desired path configs pushed
with upserts (provisioning.py), the reconciler (reconciler.py: on start, change, every MediaMTX
(re)start, drift), status from MediaMTX hooks plus a paginated poll (status.py, live.py) and the write
side: add, replace, remove (writer.py).
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from camera_service.auth.identity import Identity
from camera_service.cameras.config import CamerasConfig
from camera_service.cameras.live import LivePush
from camera_service.cameras.metrics import CameraMetrics
from camera_service.cameras.models import Camera, CameraStatus, CameraStatusInfo
from camera_service.cameras.ports import PathContributor
from camera_service.cameras.probe_pool import ProbePool
from camera_service.cameras.provisioning import (
    HOOK_OFFLINE,
    HOOK_ONLINE,
    PathConfigBuilder,
    Provisioner,
    ReconcileReport,
    source_url_with_credentials,
)
from camera_service.cameras.reconciler import PathReconciler
from camera_service.cameras.registry import CameraCache
from camera_service.cameras.status import StatusTracker
from camera_service.cameras.store import MIGRATIONS, CameraStore
from camera_service.cameras.streams import StreamUrls, build_stream_urls, with_stream_token
from camera_service.cameras.sync import SyncReport, sync_cache
from camera_service.cameras.writer import CameraWriter
from camera_service.config.sections import DemoConfig, MediaMTXConfig, ServerConfig, StorageConfig
from camera_service.core.bus import EventBus
from camera_service.core.component import ComponentHealth
from camera_service.core.hooks import HookHandler, HookHost
from camera_service.core.pushes import LocalPushes, PushRelay
from camera_service.core.tasks import TaskSet
from camera_service.mediamtx.supervisor import MediaMTXSupervisor
from camera_service.observability.metrics import Metrics
from camera_service.rpc.context import Broadcaster
from camera_service.storage.crypto import SecretBox, load_or_create_key
from camera_service.storage.database import Database

log = logging.getLogger("camera_service.cameras")


class CameraService:
    name = "cameras"

    def __init__(
        self,
        cfg: CamerasConfig,
        *,
        server: ServerConfig,
        mediamtx_cfg: MediaMTXConfig,
        storage: StorageConfig,
        demo: DemoConfig,
        db: Database,
        mediamtx: MediaMTXSupervisor,
        internal: HookHost,
        bus: EventBus,
        connections: Broadcaster,
        metrics: Metrics,
        reader_url: Callable[[str], str] | None = None,
        stream_token: Callable[[Identity | None, str], tuple[str, float]] | None = None,
        pushes: PushRelay | None = None,
        owns: Callable[[str], bool] | None = None,
        route_streams: Callable[[StreamUrls], StreamUrls] | None = None,
        publisher_userinfo: Callable[[str], str] | None = None,
    ) -> None:
        """`reader_url`: id -> RTSP URL the service's own readers (fps sampling, probes) use; it carries
        the internal credential when MediaMTX checks readers. `stream_token`: (identity, camera id) ->
        (token, expiry) when security is on: compat stream URLs and camera_status_update carry it.
        `pushes` (scale-out): status pushes to and from the other instances' clients.
        Several instances (camera_service/cluster): `owns` says which cameras get a path here;
        `route_streams` points a camera's stream URLs at the MediaMTX of the instance that owns it.
        `publisher_userinfo`: id -> "user:password@" of the device publisher MediaMTX runs (security M7)."""
        self.cfg = cfg
        self.reader_url = reader_url
        self.stream_token = stream_token
        self.server_cfg = server
        self.mtx_cfg = mediamtx_cfg
        self.storage = storage
        self.demo = demo
        self.db = db
        self.mediamtx = mediamtx
        self.internal = internal
        self.bus = bus
        self.connections = connections
        self.metrics = CameraMetrics(metrics.registry)
        db.register("cameras", MIGRATIONS)
        self.builder = PathConfigBuilder(cfg, internal, owns, publisher_userinfo)
        self.route_streams = route_streams
        self.provisioner = Provisioner(mediamtx.client, cfg.reconcile_concurrency)
        self.tracker = StatusTracker(cfg.poll_interval_s, self._on_status_change, self.request_reconcile)
        self._store: CameraStore | None = None
        self._cache = CameraCache()
        self.probes = ProbePool()  # security M4: probes never use the shared default executor
        self._tasks = TaskSet("cameras")
        self._unlisten: list[Callable[[], None]] = []
        self.live = LivePush(
            cfg,
            bus,
            connections,
            self.metrics,
            self.tracker,
            stream_urls=self.client_stream_urls,
            tokens_on=lambda: self.stream_token is not None,
            reader_url=self.local_rtsp_url,
            lookup=self._cache.find,
            pushes=pushes or LocalPushes(),
            owns=owns,
        )
        self.reconciler = PathReconciler(
            cfg,
            builder=self.builder,
            provisioner=self.provisioner,
            mediamtx=mediamtx,
            metrics=self.metrics,
            cameras=self.cameras,
            tasks=self._tasks,
            after=self.tracker.wake,
        )
        self.writer = CameraWriter(
            lambda: self.store,
            self._cache,
            builder=self.builder,
            provisioner=self.provisioner,
            tracker=self.tracker,
            live=self.live,
            bus=bus,
            on_removed=self._update_counts,
        )

    # ---- lifecycle -------------------------------------------------------------------------------

    @property
    def store(self) -> CameraStore:
        if self._store is None:
            raise RuntimeError("camera service not started")
        return self._store

    async def _load(self) -> None:
        """Load the registry from the database (once; MediaMTX's first spawn may ask before start())."""
        if self._store is not None:
            return
        key = load_or_create_key(self.cfg.secret_key, self.storage.data_dir)
        store = CameraStore(self.db, SecretBox(key))
        for seq, camera in await store.load_all():
            self._cache.put(camera, seq)
        self._store = store
        if self.demo.enabled and self.demo.camera_id not in self._cache:
            await self.add(
                Camera(
                    id=self.demo.camera_id,
                    name="Demo test pattern",
                    source="publisher",
                    tags=["demo"],
                    metadata={"demo": True},
                ),
                apply=False,
            )

    async def startup_paths(self, secrets_allowed: bool) -> dict[str, dict[str, Any]]:
        """The paths a (re)spawned managed MediaMTX starts with: exactly what a reconcile would apply, so
        the reconcile after its start finds nothing to change. Without a memory-only config file, paths
        that carry credentials are left out (they never touch the disk; the reconcile applies them)."""
        await self._load()
        return self.builder.startup_paths(self.cameras(), secrets_allowed)

    async def start(self) -> None:
        await self._load()
        for camera in self._cache.all():
            if not camera.enabled:
                self.tracker.infos[camera.id] = CameraStatusInfo(status=CameraStatus.DISABLED)
        self._unlisten = [
            self.mediamtx.on_ready(self.reconciler.on_mediamtx_ready),
            self.mediamtx.on_down(self._on_mediamtx_down),
        ]
        if self.mediamtx.is_up:
            await self.reconciler.reconcile_logged("start")
        self._tasks.reopen()
        self._tasks.spawn(self.tracker.run(self._poll), name="cameras-status")
        self._tasks.spawn(self.reconciler.periodic(), name="cameras-reconcile")
        log.info("camera registry ready", extra={"cameras": len(self._cache)})

    async def stop(self) -> None:
        for unlisten in self._unlisten:
            with contextlib.suppress(ValueError):
                unlisten()
        await self._tasks.close()
        await self.live.stop_sampling()
        self.reconciler.stopped()
        self.probes.close()
        self.probes = ProbePool()  # a stopped service can be started again

    def health(self) -> ComponentHealth:
        counts = Counter(self.status(cid).status.value for cid in self._cache.ids())
        return ComponentHealth(
            name=self.name,
            healthy=self._store is not None,
            status="running" if self._store is not None else "stopped",
            details={
                "cameras": len(self._cache),
                "by_status": dict(counts),
                "reconciles": self.provisioner.reconciles,
                "path_writes": self.provisioner.writes,
                "provisioning_errors": len(self.provisioner.errors),
            },
        )

    # ---- contract: read side ---------------------------------------------------------------------

    async def get(self, camera_id: str) -> Camera:
        return self.get_cached(camera_id)

    def find(self, camera_id: str) -> Camera | None:
        return self._cache.find(camera_id)

    def get_cached(self, camera_id: str) -> Camera:
        return self._cache.get(camera_id)

    async def list_all(self) -> list[Camera]:
        return self.cameras()

    def cameras(self) -> list[Camera]:
        """Every camera in the stable order (by id)."""
        return self._cache.all()

    def resolve_id(self, device: str, sees: Callable[[Camera], bool] | None = None) -> str:
        """Our ids; compat `cameraN` / `/dev/videoN` (cameras/registry.py). Raises NOT_FOUND."""
        return self._cache.resolve_id(device, sees)

    def status(self, camera_id: str) -> CameraStatusInfo:
        return self.tracker.info(camera_id)

    def source_url_with_credentials(self, camera: Camera) -> str:
        """The pull URL with credentials, for the service's own readers only. Never log or return it."""
        return source_url_with_credentials(camera)

    def stream_urls(self, camera_id: str) -> StreamUrls:
        camera = self._cache.find(camera_id)
        has_sub = bool(camera and camera.enabled and camera.substream)
        urls = build_stream_urls(camera_id, self.server_cfg, self.mtx_cfg, substream=has_sub)
        return self.route_streams(urls) if self.route_streams is not None else urls

    def owns(self, camera_id: str) -> bool:
        """Whether this instance runs the camera's MediaMTX path (always, without a cluster)."""
        return self.builder.owns is None or self.builder.owns(camera_id)

    async def sync(self) -> SyncReport:
        """Take in registry rows other instances added, changed or removed (one shared database)."""
        async with self.writer.lock:
            report = await sync_cache(self.store, self._cache)
            for cid in report.changed:
                camera = self._cache.get(cid)
                if not camera.enabled:
                    self.tracker.infos[cid] = CameraStatusInfo(status=CameraStatus.DISABLED)
            for cid in report.removed:
                self.tracker.forget(cid)
                task = self.live.sampling.pop(cid, None)
                if task is not None:
                    task.cancel()
        if report.removed:
            self.request_reconcile()  # deletes their leftover paths
        return report

    def client_stream_urls(self, camera_id: str, identity: Identity | None) -> StreamUrls:
        """Stream URLs for a client: each carries a fresh stream token scoped to `identity` and this camera
        when security is on (the compat results and camera_status_update; get_stream_urls adds quotas)."""
        urls = self.stream_urls(camera_id)
        if self.stream_token is None:
            return urls
        token, expires = self.stream_token(identity, camera_id)
        return with_stream_token(urls, token, expires)

    def local_rtsp_url(self, camera_id: str) -> str:
        """RTSP URL of the camera's MediaMTX path as the service itself reads it (may hold the
        service's internal credential: never log or return it)."""
        if self.reader_url is not None:
            return self.reader_url(camera_id)
        return f"rtsp://{self.mtx_cfg.host}:{self.mtx_cfg.rtsp_port}/{camera_id}"

    def add_path_contributor(self, fn: PathContributor) -> None:
        self.builder.contributors.append(fn)

    # ---- contract: write side --------------------------------------------------------------------

    async def add(self, camera: Camera, *, apply: bool = True) -> Camera:
        """Persist a new camera and provision it (cameras/writer.py). CONFLICT on a duplicate id; a
        config MediaMTX refuses is rolled back; MediaMTX being down is not an error."""
        return await self.writer.add(camera, apply=apply)

    async def replace(self, camera: Camera, *, keep_secrets: bool = False) -> Camera:
        """Persist a changed camera (same id) and re-provision; rolled back if MediaMTX refuses it."""
        return await self.writer.replace(camera, keep_secrets=keep_secrets)

    async def remove(self, camera_id: str) -> Camera:
        return await self.writer.remove(camera_id)

    async def reapply(self, camera_id: str) -> None:
        """Push the camera's desired path config to MediaMTX now (MEDIAMTX_UNAVAILABLE when it is down)."""
        await self.writer.reapply(camera_id)

    async def update_recording_policy(self, camera_id: str, policy: dict[str, Any]) -> Camera:
        """Persist the recordings policy and re-apply the path (applied later if MediaMTX is down)."""
        camera = self.get_cached(camera_id)
        return await self.replace(
            camera.model_copy(update={"recording": dict(policy)}), keep_secrets=bool(camera.credentials_error)
        )

    # ---- reconcile (cameras/reconciler.py) --------------------------------------------------------

    @property
    def last_reconcile(self) -> ReconcileReport | None:
        return self.reconciler.last

    async def reconcile(self) -> ReconcileReport:
        """Make MediaMTX's path configs equal to the registry now."""
        return await self.reconciler.reconcile()

    def request_reconcile(self) -> None:
        self.reconciler.request()

    async def _on_mediamtx_down(self) -> None:
        self.tracker.wake()

    # ---- status ----------------------------------------------------------------------------------

    def hook_handlers(self) -> dict[str, HookHandler]:
        """The MediaMTX hooks this component handles (app.py registers them on the internal listener)."""
        return {HOOK_ONLINE: self._on_hook, HOOK_OFFLINE: self._on_hook}

    async def _on_hook(self, params: dict[str, str]) -> None:
        self.tracker.wake()

    async def _poll(self) -> None:
        paths = None
        up = self.mediamtx.is_up
        if up:
            paths = {p.name: p for p in await self.mediamtx.client.list_paths()}
            self.reconciler.check_drift(paths, self._cache.by_id, busy=self.writer.lock.locked())
        # Several instances: only the owner tracks a camera (others report what its pushes said).
        tracked = [c for c in self.cameras() if self.owns(c.id)]
        self.tracker.apply(tracked, paths, mtx_up=up, provisioning_errors=self.provisioner.errors)
        self._update_counts()

    def _update_counts(self) -> None:
        self.metrics.set_counts(Counter(self.status(cid).status for cid in self._cache.ids()))

    def _on_status_change(self, camera: Camera, prev: CameraStatusInfo, new: CameraStatusInfo) -> None:
        self.live.on_status_change(camera, prev, new)

    def compat_status_payload(
        self, camera: Camera, info: CameraStatusInfo, identity: Identity | None = None
    ) -> dict[str, Any]:
        """The camera in the established protocol's shape (camera_status_update, get_camera_list); its
        stream URLs carry a token for `identity` when security is on."""
        return self.live.compat_payload(camera, info, identity)

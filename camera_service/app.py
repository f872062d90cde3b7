"""The composition root: builds every component in dependency order, binds the API, starts them in
order and stops them in reverse.

Each component gets what it needs at construction (typed: the other domains' ports, see
docs/architecture.md); nothing is filled in later. The domains are built here; the other groups of wiring
are builders in camera_service/composition/, called only from here: infrastructure.py (the internal
listener, MediaMTX, the Redis-backed shared parts), api.py (every domain's methods object bound to the
contract, and the dispatcher), http.py (the WebSocket endpoint and the HTTP routes), lifecycle.py (start
and bounded stop), records.py (`Domains`; `Components`, a read-only record of what was built, for the
process (health) and for tests; no component or handler receives it).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import tempfile
import time
from pathlib import Path

from camera_service.analytics.frames import LiveFrames
from camera_service.analytics.service import AnalyticsService
from camera_service.auth.abuse import AnonymousLimits
from camera_service.auth.service import AuthService, load_or_create_jwt_secret
from camera_service.auth.stream_tokens import StreamTokens
from camera_service.auth.tokens import TokenVerifier
from camera_service.cameras.models import CameraStatus
from camera_service.cameras.service import CameraService
from camera_service.cluster.ownership import Ownership
from camera_service.cluster.routing import Directory, advertised
from camera_service.cluster.service import ClusterService
from camera_service.composition.api import bind_api, build_dispatcher
from camera_service.composition.http import front_door
from camera_service.composition.infrastructure import (
    internal_listener,
    live_view_quotas,
    mediamtx_supervisor,
    service_readers,
    shared_events_stream,
)
from camera_service.composition.lifecycle import Lifecycle
from camera_service.composition.records import Components, Domains
from camera_service.config import Settings
from camera_service.core.bus import EventBus
from camera_service.core.clock import Clock, SystemClock
from camera_service.core.component import Component, ComponentHealth
from camera_service.events.rules.actions import RuleDeps
from camera_service.events.service import EventService
from camera_service.media.demo import DemoPublisher
from camera_service.observability.metrics import Metrics
from camera_service.observability.ops_metrics import CameraState, OpsCollector
from camera_service.onvif.service import OnvifService
from camera_service.recordings.service import RecordingsService
from camera_service.rpc.catalog import build_registry
from camera_service.server.connections import ConnectionRegistry
from camera_service.storage.crypto import lazy_box
from camera_service.storage.factory import open_database
from camera_service.users.service import UserService

log = logging.getLogger("camera_service.app")


class Application:
    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        self.settings = settings
        # One clock for every component that waits or reads the time (tests pass a simulated one).
        self.clock: Clock = clock or SystemClock()
        clock = self.clock
        data_dir = settings.storage.data_dir
        runtime_dir = data_dir / "run"
        started_at = time.time()
        metrics = Metrics()
        bus = EventBus()
        connections = ConnectionRegistry()
        db = open_database(settings.storage)
        internal = internal_listener(settings, runtime_dir)
        security = settings.security.enabled
        readers = service_readers(settings)
        stream_tokens = StreamTokens(
            TokenVerifier(settings.security, load_or_create_jwt_secret(settings), clock),
            settings.security,
            clock,
        )
        mediamtx = mediamtx_supervisor(settings, runtime_dir, metrics, internal, readers)
        shared_events = shared_events_stream(settings, clock)
        # Several instances (docs/scale-out.md): this one configures and records only the cameras it
        # holds a lease on, and routes stream URLs to the owner. Off: it owns every camera.
        clustered = settings.cluster.enabled
        ownership = Ownership(settings.cluster.instance_id if clustered else None, clock)
        directory = Directory(
            advertised(settings.cluster, settings.server, settings.mediamtx, settings.server.port)
        )
        cameras = CameraService(
            settings.cameras,
            server=settings.server,
            mediamtx_cfg=settings.mediamtx,
            storage=settings.storage,
            demo=settings.demo,
            db=db,
            mediamtx=mediamtx,
            internal=internal,
            bus=bus,
            connections=connections,
            metrics=metrics,
            reader_url=readers.rtsp_url,
            # Compat stream URLs and camera_status_update carry the caller's stream token.
            stream_token=stream_tokens.mint if security else None,
            pushes=shared_events,
            owns=ownership.owns if clustered else None,
            route_streams=directory.route if clustered else None,
            publisher_userinfo=readers.publish_userinfo,
        )
        auth = AuthService(
            settings,
            db,
            metrics,
            readers=readers,
            stream_tokens=stream_tokens,
            cameras=cameras,
            # An external viewer's session started (runOnRead after our auth): get_statistics counts it.
            on_live_view=lambda camera, reader_type: bus.emit(
                "liveview.started", camera=camera, reader_type=reader_type
            ),
            # Several instances (storage.redis_url): agency quotas counted in Redis; else in memory.
            quotas=live_view_quotas(settings, mediamtx),
            clock=clock,
        )
        users = UserService(settings, db, tokens=stream_tokens.verifier)
        # Analytics' samplers keep each analysed camera's last frame here; take_snapshot reads it.
        frames = LiveFrames(settings.analytics.frame_cache_max_age_s)
        recordings = RecordingsService(
            settings.recordings,
            data_dir=data_dir,
            recordings_root=settings.storage.recordings_path,
            clips_root=settings.storage.clips_path,
            snapshots_root=settings.storage.snapshots_path,
            db=db,
            bus=bus,
            connections=connections,
            mediamtx=mediamtx,
            internal=internal,
            cameras=cameras,
            rtsp_url=readers.rtsp_url,
            frames=frames,  # take_snapshot answers from analytics' fresh frame when it reads the camera
            clock=clock,
            public_base_url=lambda: (
                f"{settings.server.public_scheme}://{settings.server.public_host}:{self.http.port}"
            ),
            pushes=shared_events,
            instance_id=ownership.instance_id,
            fence=ownership.fence if clustered else None,
            is_revoked=auth.is_revoked,  # download URLs of a revoked API key stop working (security L17)
        )
        # Registrations on other components, here rather than in constructors: MediaMTX's hooks, the
        # paths a managed MediaMTX starts with, and the recorder's settings in every path config.
        internal.add_routes(auth.internal_routes())
        for component in (auth, cameras, recordings):
            for hook, handler in component.hook_handlers().items():
                internal.on_hook(hook, handler)
        mediamtx.set_paths_provider(cameras.startup_paths)
        cameras.add_path_contributor(recordings.recorder.contribute)
        onvif = OnvifService(settings.onvif, cameras, bus, clock=clock)
        analytics = AnalyticsService(
            settings.analytics,
            db,
            bus,
            metrics,
            rtsp_url=readers.rtsp_url,
            frames=frames,
            snapshots=recordings,  # best-frame snapshots of detections
            clock=clock,
        )
        # events last among the domains: it subscribes to the bus at construction, so nothing is missed.
        events = EventService(
            settings.events,
            db,
            bus,
            metrics,
            secret_box=lazy_box(settings.cameras.secret_key, data_dir),  # same at-rest key as cameras
            cameras=cameras,
            recordings=recordings,
            rule_deps=RuleDeps(cameras=cameras, recordings=recordings, ptz=onvif.ptz),
            clock=clock,
            shared=shared_events,
            # Several instances: a camera's clips are cut by its owner, which holds its recordings.
            owns=ownership.owns if clustered else None,
            instance_id=ownership.instance_id,
        )

        domains = Domains(
            cameras=cameras,
            auth=auth,
            users=users,
            recordings=recordings,
            onvif=onvif,
            analytics=analytics,
            events=events,
        )
        contract = build_registry()
        components: list[Component] = []

        def component_health() -> list[ComponentHealth]:
            return [c.health() for c in components]

        api = bind_api(
            contract,
            settings,
            domains,
            mediamtx=mediamtx,
            connections=connections,
            metrics=metrics,
            component_health=component_health,
            started_at=started_at,
        )
        anonymous = AnonymousLimits(settings.security, settings.server.max_batch_size)
        self.dispatcher = build_dispatcher(
            api,
            settings,
            domains,
            metrics=metrics,
            anonymous=anonymous,
            stream_tokens=stream_tokens,
            directory=directory if clustered else None,
        )
        self.endpoint, self.http = front_door(
            settings,
            domains,
            self.dispatcher,
            metrics=metrics,
            connections=connections,
            mediamtx=mediamtx,
            anonymous=anonymous,
            component_health=component_health,
            ready=self.ready,
            started_at=started_at,
        )

        # Start order: the internal listener before MediaMTX (hooks fire as soon as it starts); auth
        # before MediaMTX (its first auth callbacks need the API keys loaded); MediaMTX before the
        # domains; HTTP last (clients arrive only once everything else is up).
        components += [db, internal, auth, users, mediamtx, cameras, recordings, events, onvif, analytics]
        if settings.demo.enabled:
            components.append(
                DemoPublisher(settings.demo, settings.mediamtx, readers.publish_url(settings.demo.camera_id))
            )
        components.append(self.http)
        cluster = (
            ClusterService(
                settings.cluster,
                db=db,
                ownership=ownership,
                directory=directory,
                cameras=cameras,
                # Advertised once the server listens (its port may be chosen at start).
                me=lambda: advertised(settings.cluster, settings.server, settings.mediamtx, self.http.port),
                on_acquired=recordings.refresh_camera,
                on_released=recordings.release_camera,
                clock=clock,
            )
            if clustered
            else None
        )
        if cluster is not None:
            # After HTTP: any instance answers calls while it claims; stopped first, so it hands its
            # cameras over while MediaMTX still runs.
            components.append(cluster)
        metrics.registry.register(
            OpsCollector(
                lambda: [
                    CameraState(c.id, status == CameraStatus.ONLINE, recordings.recorder.is_recording(c.id))
                    for c in cameras.cameras()
                    # A disabled camera is not expected online: no sample, CameraOffline cannot fire.
                    if (status := cameras.status(c.id).status) != CameraStatus.DISABLED
                ],
                {"data": data_dir, "recordings": settings.storage.recordings_path},
            )
        )
        self.services = Components(
            settings=settings,
            metrics=metrics,
            bus=bus,
            db=db,
            internal=internal,
            readers=readers,
            mediamtx=mediamtx,
            connections=connections,
            cameras=cameras,
            auth=auth,
            recordings=recordings,
            onvif=onvif,
            events=events,
            users=users,
            analytics=analytics,
            cluster=cluster,
            api=api,
            components=tuple(components),
            started_at=started_at,
        )
        self.lifecycle = Lifecycle(
            self.services.components,
            front=self.http,
            contract=contract,
            shutdown_timeout_s=settings.server.shutdown_timeout_s,
        )
        self._prepare_dirs(
            [
                data_dir,
                runtime_dir,
                settings.storage.recordings_path,
                settings.storage.snapshots_path,
                settings.storage.clips_path,
            ]
        )

    @staticmethod
    def _prepare_dirs(dirs: list[Path]) -> None:
        for d in dirs:
            d.mkdir(parents=True, exist_ok=True)

    def ready(self) -> bool:
        return self.services.mediamtx.is_up and self.services.db.health().healthy

    async def start(self) -> None:
        await self.lifecycle.start()

    async def stop(self) -> None:
        await self.lifecycle.stop()

    async def run_until_signalled(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        # Everything loaded so far (schemas, WSDL models, config) lives as long as the process: move it out
        # of the cyclic GC's reach, so full collections under load do not rescan it (tail-latency pauses).
        gc.collect()
        gc.freeze()
        log.info(
            "camera-service ready", extra={"port": self.http.port, "ws_path": self.settings.server.ws_path}
        )
        try:
            await stop.wait()
        finally:
            log.info("shutting down")
            await self.stop()


def supported_schema(settings: Settings) -> dict[str, int]:
    """The schema version per domain this build reads. Domains register their migrations when they are built,
    so build them (on a throwaway data dir: nothing starts, nothing touches the real one)."""
    with tempfile.TemporaryDirectory(prefix="cs-schema-") as tmp:
        roots = {"data_dir": Path(tmp), "recordings_dir": None, "snapshots_dir": None, "clips_dir": None}
        scratch = settings.model_copy(update={"storage": settings.storage.model_copy(update=roots)})
        return Application(scratch).services.db.schema_versions()

"""The composition root: builds every component, starts them in order, stops them in reverse.

Nothing else constructs components or wires them together; handlers reach them through `Services`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from av.video.frame import VideoFrame

from camera_service.analytics.service import AnalyticsService
from camera_service.auth.scopes import Scope
from camera_service.auth.service import AuthService
from camera_service.auth.transport import TransportSecurity, build_ssl_context
from camera_service.cameras.models import CameraStatus
from camera_service.cameras.service import CameraService
from camera_service.compat.files import CompatFiles
from camera_service.compat.http import CompatHttp
from camera_service.config import Settings
from camera_service.core.bus import EventBus
from camera_service.core.clock import Clock, SystemClock
from camera_service.core.component import Component, ComponentHealth
from camera_service.events.service import EventService
from camera_service.media.demo import DemoPublisher
from camera_service.media.snapshot import GrabbedFrame
from camera_service.mediamtx.adoption import previous_callback_endpoint
from camera_service.mediamtx.supervisor import MediaMTXSupervisor
from camera_service.observability.metrics import Metrics
from camera_service.observability.ops_metrics import CameraState, OpsCollector
from camera_service.onvif.service import OnvifService
from camera_service.recordings.service import RecordingsService
from camera_service.rpc.catalog import build_registry
from camera_service.rpc.dispatcher import Dispatcher
from camera_service.rpc.registry import MethodRegistry
from camera_service.server.connections import ConnectionRegistry
from camera_service.server.console import Console
from camera_service.server.http import HttpServer
from camera_service.server.internal import InternalHttpServer
from camera_service.server.websocket import WebSocketEndpoint
from camera_service.storage.crypto import lazy_box
from camera_service.storage.database import Database
from camera_service.users.service import UserService

log = logging.getLogger("camera_service.app")


@dataclass
class Services:
    """What method handlers may use. Components expose public methods only; no reaching into internals."""

    settings: Settings
    metrics: Metrics
    bus: EventBus
    db: Database
    mediamtx: MediaMTXSupervisor
    connections: ConnectionRegistry
    api: MethodRegistry
    internal: InternalHttpServer  # 127.0.0.1-only listener for MediaMTX hooks and auth callbacks
    started_at: float = field(default_factory=time.time)
    components: list[Component] = field(default_factory=list)
    # Domain services: each domain adds one attribute here (and builds it in Application.__init__).
    auth: AuthService = field(init=False)  # identities, API keys, audit, limits, live-view checks
    cameras: CameraService = field(init=False)  # the camera registry (camera_service/cameras)
    recordings: RecordingsService = field(init=False)  # recorder, archive, snapshots, downloads, retention
    events: EventService = field(init=False)  # event store, subscriptions, webhooks, rules, event clips
    onvif: OnvifService = field(init=False)  # ONVIF discovery, import, PTZ (camera_service/onvif)
    users: UserService = field(init=False)  # console users, sign-in, refresh sessions (camera_service/users)
    analytics: AnalyticsService = field(init=False)  # sampled frames -> detections -> events

    def component_health(self) -> list[ComponentHealth]:
        return [c.health() for c in self.components]


class Application:
    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        self.settings = settings
        # One clock for every component that waits or reads the time (tests pass a simulated one).
        self.clock: Clock = clock or SystemClock()
        data_dir = settings.storage.data_dir
        runtime_dir = data_dir / "run"
        metrics = Metrics()
        db = Database(settings.storage.database_path)
        hook_secret = (
            settings.secrets.hook_secret.get_secret_value() if settings.secrets.hook_secret else None
        )
        internal_port = settings.server.internal_port
        # A MediaMTX left running by a killed run is adopted (ADR 0011); it calls back the listener its
        # config names, so listen there again with the same secret.
        previous = previous_callback_endpoint(runtime_dir) if settings.mediamtx.managed else None
        if previous is not None:
            internal_port, hook_secret = internal_port or previous[0], hook_secret or previous[1]
        internal = InternalHttpServer(internal_port, hook_secret)
        mediamtx = MediaMTXSupervisor(
            settings.mediamtx,
            settings.storage,
            runtime_dir,
            metrics,
            binary=settings.mediamtx.binary,
            forward_logs=settings.logging.forward_mediamtx,
            callbacks=internal,
        )
        self.services = Services(
            settings=settings,
            metrics=metrics,
            bus=EventBus(),
            db=db,
            mediamtx=mediamtx,
            connections=ConnectionRegistry(),
            api=build_registry(),
            internal=internal,
        )
        # Security is built first: the dispatcher guard and audit observer, handshake hooks, MediaMTX auth.
        auth = self.services.auth = AuthService(settings, db, internal, mediamtx, metrics, clock=self.clock)
        auth.bind(self.services)
        transport = TransportSecurity(
            auth, self.services.connections, tls=settings.security.tls_cert is not None
        )
        self.dispatcher = Dispatcher(
            self.services.api,
            self.services,
            max_batch_size=settings.server.max_batch_size,
            metrics=metrics,
            guards=[auth.guard],
            observers=[auth.audit.observe],
            params_hooks=[auth.inline_token],
            # Resolved per call, lazily: the camera registry is built below (DI rework: issue 10).
            scope_resolver=lambda identity: Scope.resolve(identity, self.services.cameras.cameras()),
        )
        self.endpoint = WebSocketEndpoint(
            self.dispatcher, settings.server, metrics, self.services.connections
        )
        self.endpoint.on_connect.append(transport.on_connect)
        self.endpoint.on_disconnect.append(transport.on_disconnect)
        self.http = HttpServer(
            settings.server,
            self.endpoint,
            metrics,
            self.services.component_health,
            self.ready,
            middlewares=[transport.security_headers],
            ssl_context=build_ssl_context(settings.security),
        )
        # The internal listener comes before MediaMTX: hooks fire as soon as MediaMTX starts.
        # auth before MediaMTX: MediaMTX's config points authHTTPAddress at the internal listener.
        self.services.users = UserService(settings, db, auth)
        components: list[Component] = [db, internal, auth, self.services.users, mediamtx]
        # Domain components are built here, in start order (after MediaMTX, before the demo and HTTP).
        self.services.cameras = CameraService(
            settings.cameras,
            server=settings.server,
            mediamtx_cfg=settings.mediamtx,
            storage=settings.storage,
            demo=settings.demo,
            db=db,
            mediamtx=mediamtx,
            internal=internal,
            bus=self.services.bus,
            connections=self.services.connections,
            metrics=metrics,
        )
        self.services.cameras.reader_url = auth.internal_rtsp_url  # the service's own readers (fps, probe)
        if auth.enabled:  # compat stream URLs and camera_status_update carry the caller's stream token
            self.services.cameras.stream_token = auth.stream_token
        components.append(self.services.cameras)
        self.services.recordings = RecordingsService(
            settings.recordings,
            data_dir=data_dir,
            recordings_root=settings.storage.recordings_path,
            clips_root=settings.storage.clips_path,
            snapshots_root=settings.storage.snapshots_path,
            db=db,
            bus=self.services.bus,
            connections=self.services.connections,
            mediamtx=mediamtx,
            internal=internal,
            cameras=self.services.cameras,
            rtsp_url=auth.internal_rtsp_url,
            public_base_url=lambda: (
                f"{settings.server.public_scheme}://{settings.server.public_host}:{self.http.port}"
            ),
            clock=self.clock,
        )
        self.http.add_routes(self.services.recordings.downloads.routes())
        self.http.add_routes(Console(settings.server, settings.mediamtx).routes())  # the web console at /
        # The established protocol's HTTP routes: old health/polling routes and token-gated /files.
        self.http.add_routes(
            CompatHttp(
                status=self.services.component_health,
                started_at=self.services.started_at,
                auth=auth,
                cameras=self.services.cameras,
                mediamtx=mediamtx,
            ).routes()
        )
        self.http.add_routes(CompatFiles(auth, self.services.recordings, self.services.cameras).routes())
        components.append(self.services.recordings)
        # events: after cameras/recordings (it subscribes to the bus at construction, so nothing is missed).
        self.services.events = EventService(
            settings.events,
            db,
            self.services.bus,
            metrics,
            secret_box=lazy_box(settings.cameras.secret_key, data_dir),
            clock=self.clock,
        )  # same at-rest key as cameras
        self.services.events.bind(self.services)
        # An external viewer's session started (runOnRead after our auth): an event get_statistics counts.
        auth.mediamtx_auth.on_live_view = lambda camera, reader_type: self.services.bus.emit(
            "liveview.started", camera=camera, reader_type=reader_type
        )
        self.endpoint.on_disconnect.append(self.services.events.subscriptions.drop_connection)
        components.append(self.services.events)
        self.services.onvif = OnvifService(
            settings.onvif, self.services.cameras, self.services.bus, clock=self.clock
        )
        self.endpoint.on_disconnect.append(self.services.onvif.on_disconnect)  # PTZ safety stop
        components.append(self.services.onvif)
        analytics = self.services.analytics = AnalyticsService(
            settings.analytics,
            db,
            self.services.bus,
            metrics,
            rtsp_url=auth.internal_rtsp_url,
            clock=self.clock,
        )
        recordings = self.services.recordings

        async def save_detection_frame(camera: str, frame: VideoFrame, at: float, quality: int) -> str:
            return (await recordings.store_frame(camera, GrabbedFrame(frame, at, True), "jpeg", quality)).id

        analytics.save_snapshot = save_detection_frame  # best-frame snapshots of detections
        self.services.recordings.frame_cache = analytics.latest_frame  # take_snapshot answers from it
        self.services.recordings.activity_source = analytics.timeline_activity  # get_timeline marks
        components.append(analytics)
        if settings.demo.enabled:
            components.append(DemoPublisher(settings.demo, settings.mediamtx))
        components.append(self.http)  # last: clients arrive only once everything else is up
        self.services.components = components
        metrics.registry.register(
            OpsCollector(
                self._camera_states,
                {"data": data_dir, "recordings": settings.storage.recordings_path},
            )
        )
        self._started: list[Component] = []
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

    def _camera_states(self) -> list[CameraState]:
        cameras, recorder = self.services.cameras, self.services.recordings.recorder
        return [
            CameraState(c.id, cameras.status(c.id).status == CameraStatus.ONLINE, recorder.is_recording(c.id))
            for c in cameras.cameras()
        ]

    def ready(self) -> bool:
        return self.services.mediamtx.is_up and self.services.db.health().healthy

    async def start(self) -> None:
        try:
            for component in self.services.components:
                log.info("starting %s", component.name)
                await component.start()
                self._started.append(component)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        while self._started:
            component = self._started.pop()
            try:
                # Bounded: one stuck component must not keep the others (and the process) from stopping.
                async with asyncio.timeout(self.settings.server.shutdown_timeout_s):
                    await component.stop()
            except TimeoutError:
                log.error("stopping %s timed out", component.name)
            except Exception:
                log.exception("stopping %s failed", component.name)

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

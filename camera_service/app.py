"""The composition root: builds every component in dependency order, binds the API, starts them in
order and stops them in reverse.

Each component gets what it needs at construction (typed: the other domains' ports, see
docs/architecture.md); nothing is filled in later. Method handlers get their dependencies through their
domain's methods object, bound here (`build_registry().bind(...)`). `Components` is a read-only record of
what was built, for the process (health) and for tests; no component or handler receives it.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from camera_service.analytics.frames import LiveFrames
from camera_service.analytics.methods import AnalyticsApi
from camera_service.analytics.service import AnalyticsService
from camera_service.auth.abuse import AnonymousLimits
from camera_service.auth.internal import PUBLISH_KEY_FILE, InternalReaders, load_or_create_key
from camera_service.auth.methods import AuthApi
from camera_service.auth.quota import LiveViewQuotas
from camera_service.auth.quota_redis import RedisLiveViewQuotas
from camera_service.auth.scopes import Scope
from camera_service.auth.service import AuthService, load_or_create_jwt_secret, mediamtx_auth_config
from camera_service.auth.stream_tokens import StreamTokens
from camera_service.auth.tokens import TokenVerifier
from camera_service.auth.transport import TransportSecurity, build_ssl_context
from camera_service.cameras.methods import CameraApi
from camera_service.cameras.models import CameraStatus
from camera_service.cameras.service import CameraService
from camera_service.cluster.forward import FORWARD_TOKEN_TTL_S, OwnerForwarder, identity_claims
from camera_service.cluster.ownership import Ownership
from camera_service.cluster.routing import Directory, advertised
from camera_service.cluster.service import ClusterService
from camera_service.compat.files import CompatFiles
from camera_service.compat.http import CompatHttp
from camera_service.compat.methods import CompatApi
from camera_service.config import Settings
from camera_service.core.bus import EventBus
from camera_service.core.clock import Clock, SystemClock
from camera_service.core.component import Component, ComponentHealth
from camera_service.events.methods import EventsApi
from camera_service.events.rules.actions import RuleDeps
from camera_service.events.service import EventService
from camera_service.events.shared import SharedEvents
from camera_service.media.demo import DemoPublisher
from camera_service.mediamtx.adoption import previous_callback_endpoint
from camera_service.mediamtx.supervisor import MediaMTXSupervisor
from camera_service.observability.metrics import Metrics
from camera_service.observability.ops_metrics import CameraState, OpsCollector
from camera_service.onvif.methods import OnvifApi
from camera_service.onvif.service import OnvifService
from camera_service.recordings.methods import RecordingsApi
from camera_service.recordings.service import RecordingsService
from camera_service.rpc.catalog import build_registry
from camera_service.rpc.dispatcher import Dispatcher
from camera_service.rpc.openrpc import cached_openrpc_fragment
from camera_service.rpc.registry import MethodRegistry
from camera_service.rpc.system_methods import SystemApi
from camera_service.server.connections import ConnectionRegistry
from camera_service.server.console import Console
from camera_service.server.http import HttpServer
from camera_service.server.internal import InternalHttpServer
from camera_service.server.websocket import WebSocketEndpoint
from camera_service.statistics.methods import StatisticsApi
from camera_service.storage.crypto import lazy_box
from camera_service.storage.database import Database
from camera_service.storage.factory import open_database
from camera_service.storage.redis import open_redis
from camera_service.storage.secret_files import secrets_dir
from camera_service.storage.streams import RedisStreamTransport
from camera_service.users.methods import UsersApi
from camera_service.users.service import UserService

log = logging.getLogger("camera_service.app")


@dataclass(frozen=True)
class Components:
    """What the composition root built (read-only; for health, the harness and tests)."""

    settings: Settings
    metrics: Metrics
    bus: EventBus
    db: Database
    internal: InternalHttpServer  # 127.0.0.1-only listener for MediaMTX hooks and auth callbacks
    readers: InternalReaders  # the service's own MediaMTX credential
    mediamtx: MediaMTXSupervisor
    connections: ConnectionRegistry
    cameras: CameraService  # the camera registry (camera_service/cameras)
    auth: AuthService  # identities, API keys, audit, limits, live-view checks
    recordings: RecordingsService  # recorder, archive, snapshots, downloads, retention
    onvif: OnvifService  # ONVIF discovery, import, PTZ (camera_service/onvif)
    events: EventService  # event store, subscriptions, webhooks, rules, event clips
    users: UserService  # console users, sign-in, refresh sessions (camera_service/users)
    analytics: AnalyticsService  # sampled frames -> detections -> events
    cluster: ClusterService | None  # several instances: heartbeats, camera leases (None: one instance)
    api: MethodRegistry  # the bound API
    components: tuple[Component, ...]  # start order
    started_at: float

    def component_health(self) -> list[ComponentHealth]:
        return [c.health() for c in self.components]


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
        hook_secret = (
            settings.secrets.hook_secret.get_secret_value() if settings.secrets.hook_secret else None
        )
        internal_port = settings.server.internal_port
        # A MediaMTX left running by a killed run is adopted (ADR 0011); it calls back the listener its
        # config names, so listen there again with the same secret.
        previous = previous_callback_endpoint(runtime_dir) if settings.mediamtx.managed else None
        if previous is not None:
            internal_port, hook_secret = internal_port or previous[0], hook_secret or previous[1]
        # Hooks send the secret from a 0600 file, never in their command line (security L11).
        internal = InternalHttpServer(internal_port, hook_secret, secrets_dir(data_dir) / "hook_header")
        security = settings.security.enabled
        readers = InternalReaders(
            settings.mediamtx,
            enabled=security,
            publish_key=load_or_create_key(secrets_dir(data_dir) / PUBLISH_KEY_FILE) if security else None,
        )
        stream_tokens = StreamTokens(
            TokenVerifier(settings.security, load_or_create_jwt_secret(settings), clock),
            settings.security,
            clock,
        )
        mediamtx = MediaMTXSupervisor(
            settings.mediamtx,
            settings.storage,
            runtime_dir,
            metrics,
            binary=settings.mediamtx.binary,
            forward_logs=settings.logging.forward_mediamtx,
            callbacks=internal,
            # Security: MediaMTX asks us about every publish/read/playback, and admits our own readers.
            config_contributors=[lambda: mediamtx_auth_config(internal)] if security else [],
            api_credentials=readers.credentials,
        )
        shared_events = None
        # Several instances: events and status pushes travel one Redis Stream (events/shared.py).
        if settings.storage.redis_url is not None:
            shared_events = SharedEvents(
                RedisStreamTransport(
                    open_redis(settings.storage.redis_url, client_name="camera-service-events"),
                    settings.events.shared.stream,
                    settings.events.shared.max_length,
                ),
                clock=clock,
                instance_id=settings.cluster.instance_id,
                block_ms=settings.events.shared.read_block_ms,
            )
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
            quotas=RedisLiveViewQuotas(
                settings.security.agency_limits,
                open_redis(
                    settings.storage.redis_url, client_name="camera-service-quotas", max_connections=16
                ),
                lease_ttl_s=settings.security.live_lease_ttl_s,
                active_readers=mediamtx.reader_ids,
            )
            if settings.storage.redis_url is not None
            else LiveViewQuotas(settings.security.agency_limits, active_readers=mediamtx.reader_ids),
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

        contract = build_registry()
        self._contract = contract  # what rpc.discover describes (its document is built in start())
        components: list[Component] = []
        api = contract.bind(
            SystemApi(
                api=contract,
                mediamtx_version=lambda: mediamtx.version,
                component_health=lambda: [c.health() for c in components],
                connections=connections,
                started_at=started_at,
                status_words=settings.compat.status_components == "words",
                time_zone=settings.server.time_zone,
            ),
            AuthApi(auth=auth, contract=contract, failed_authenticate=settings.compat.failed_authenticate),
            UsersApi(users=users),
            CameraApi(cameras=cameras, streams=auth),
            RecordingsApi(
                recordings=recordings, download_urls=settings.compat.download_urls, activity=analytics
            ),
            EventsApi(events=events, cameras=cameras),
            OnvifApi(onvif=onvif, cameras=cameras),
            AnalyticsApi(analytics=analytics, cameras=cameras),
            StatisticsApi(cameras=cameras, events=events, recordings=recordings),
            CompatApi(cameras=cameras, recordings=recordings, metrics=metrics, connections=connections),
        )
        anonymous = AnonymousLimits(settings.security, settings.server.max_batch_size)
        self.dispatcher = Dispatcher(
            api,
            max_batch_size=settings.server.max_batch_size,
            metrics=metrics,
            guards=[auth.guard],
            observers=[auth.audit.observe],
            params_hooks=[auth.inline_token],
            scope_resolver=lambda identity: Scope.resolve(identity, cameras.cameras()),
            batch_limit=anonymous.batch_limit if settings.security.enabled else None,
            # Several instances: camera-local calls run on the camera's owner (cluster/forward.py).
            forwarders=[
                OwnerForwarder(
                    directory,
                    resolve=cameras.resolve_id,
                    mint=(
                        lambda identity: stream_tokens.verifier.mint(
                            identity_claims(identity), FORWARD_TOKEN_TTL_S
                        )
                    )
                    if security
                    else None,
                )
            ]
            if clustered
            else [],
        )
        transport = TransportSecurity(auth, connections, tls=settings.security.tls_cert is not None)
        self.endpoint = WebSocketEndpoint(self.dispatcher, settings.server, metrics, connections)
        if settings.security.enabled:
            self.endpoint.send_pacer = anonymous.send_delay
            self.endpoint.send_unpaced = anonymous.refund
        self.endpoint.on_connect.append(transport.on_connect)
        self.endpoint.on_disconnect.append(transport.on_disconnect)
        self.endpoint.on_disconnect.append(events.subscriptions.drop_connection)
        self.endpoint.on_disconnect.append(onvif.on_disconnect)  # PTZ safety stop
        self.http = HttpServer(
            settings.server,
            self.endpoint,
            metrics,
            lambda: [c.health() for c in components],
            self.ready,
            middlewares=[transport.security_headers],
            ssl_context=build_ssl_context(settings.security),
        )
        self.http.add_routes(recordings.downloads.routes())
        self.http.add_routes(Console(settings.server, settings.mediamtx).routes())  # the web console at /
        # The established protocol's HTTP routes: old health/polling routes and token-gated /files.
        self.http.add_routes(
            CompatHttp(
                status=lambda: [c.health() for c in components],
                started_at=started_at,
                auth=auth,
                cameras=cameras,
                mediamtx=mediamtx,
            ).routes()
        )
        self.http.add_routes(CompatFiles(auth, recordings, cameras).routes())

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

    def ready(self) -> bool:
        return self.services.mediamtx.is_up and self.services.db.health().healthy

    async def start(self) -> None:
        # rpc.discover is public: its document (~1 s of schema generation) is built off the event loop
        # before clients can connect, never by the first anonymous call on the loop (security H1).
        discover = asyncio.create_task(asyncio.to_thread(cached_openrpc_fragment, self._contract))
        try:
            for component in self.services.components:
                if component is self.http:
                    await discover
                log.info("starting %s", component.name)
                await component.start()
                self._started.append(component)
        except BaseException:
            discover.cancel()
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

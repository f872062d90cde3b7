"""Read-only records of what app.py built: `Domains` (the domain façades the API and the HTTP routes are
bound to) and `Components` (everything, for health, the harness and tests; no component receives it)."""

from __future__ import annotations

from dataclasses import dataclass

from camera_service.analytics.service import AnalyticsService
from camera_service.auth.internal import InternalReaders
from camera_service.auth.service import AuthService
from camera_service.cameras.service import CameraService
from camera_service.cluster.service import ClusterService
from camera_service.config import Settings
from camera_service.core.bus import EventBus
from camera_service.core.component import Component, ComponentHealth
from camera_service.events.service import EventService
from camera_service.mediamtx.supervisor import MediaMTXSupervisor
from camera_service.observability.metrics import Metrics
from camera_service.onvif.service import OnvifService
from camera_service.recordings.service import RecordingsService
from camera_service.rpc.registry import MethodRegistry
from camera_service.server.connections import ConnectionRegistry
from camera_service.server.internal import InternalHttpServer
from camera_service.storage.database import Database
from camera_service.users.service import UserService


@dataclass(frozen=True)
class Domains:
    """The domain façades, as app.py built them."""

    cameras: CameraService
    auth: AuthService
    users: UserService
    recordings: RecordingsService
    onvif: OnvifService
    analytics: AnalyticsService
    events: EventService


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

"""The API: every domain's methods object bound to the contract (rpc/catalog.py build_registry), and the
dispatcher that runs it (guards, observers, params hooks and scopes from auth; on several instances the
forwarder to a camera's owner)."""

from __future__ import annotations

from collections.abc import Callable

from camera_service.analytics.methods import AnalyticsApi
from camera_service.auth.abuse import AnonymousLimits
from camera_service.auth.methods import AuthApi
from camera_service.auth.scopes import Scope
from camera_service.auth.stream_tokens import StreamTokens
from camera_service.cameras.methods import CameraApi
from camera_service.cluster.forward import FORWARD_TOKEN_TTL_S, OwnerForwarder, identity_claims
from camera_service.cluster.routing import Directory
from camera_service.compat.methods import CompatApi
from camera_service.composition.records import Domains
from camera_service.config import Settings
from camera_service.core.component import ComponentHealth
from camera_service.events.methods import EventsApi
from camera_service.mediamtx.supervisor import MediaMTXSupervisor
from camera_service.observability.metrics import Metrics
from camera_service.onvif.methods import OnvifApi
from camera_service.recordings.methods import RecordingsApi
from camera_service.rpc.dispatcher import Dispatcher
from camera_service.rpc.registry import MethodRegistry
from camera_service.rpc.system_methods import SystemApi
from camera_service.server.connections import ConnectionRegistry
from camera_service.statistics.methods import StatisticsApi
from camera_service.users.methods import UsersApi


def bind_api(
    contract: MethodRegistry,
    settings: Settings,
    d: Domains,
    *,
    mediamtx: MediaMTXSupervisor,
    connections: ConnectionRegistry,
    metrics: Metrics,
    component_health: Callable[[], list[ComponentHealth]],
    started_at: float,
) -> MethodRegistry:
    """The contract with every domain's methods object (a missing one fails here, naming the method)."""
    return contract.bind(
        SystemApi(
            api=contract,
            mediamtx_version=lambda: mediamtx.version,
            component_health=component_health,
            connections=connections,
            started_at=started_at,
            status_words=settings.compat.status_components == "words",
            time_zone=settings.server.time_zone,
        ),
        AuthApi(auth=d.auth, contract=contract, failed_authenticate=settings.compat.failed_authenticate),
        UsersApi(users=d.users),
        CameraApi(cameras=d.cameras, streams=d.auth),
        RecordingsApi(
            recordings=d.recordings, download_urls=settings.compat.download_urls, activity=d.analytics
        ),
        EventsApi(events=d.events, cameras=d.cameras),
        OnvifApi(onvif=d.onvif, cameras=d.cameras),
        AnalyticsApi(analytics=d.analytics, cameras=d.cameras),
        StatisticsApi(cameras=d.cameras, events=d.events, recordings=d.recordings),
        CompatApi(cameras=d.cameras, recordings=d.recordings, metrics=metrics, connections=connections),
    )


def build_dispatcher(
    api: MethodRegistry,
    settings: Settings,
    d: Domains,
    *,
    metrics: Metrics,
    anonymous: AnonymousLimits,
    stream_tokens: StreamTokens,
    directory: Directory | None,
) -> Dispatcher:
    """`directory`: several instances (cluster.enabled): camera-local calls run on the camera's owner."""
    security = settings.security.enabled
    return Dispatcher(
        api,
        max_batch_size=settings.server.max_batch_size,
        metrics=metrics,
        guards=[d.auth.guard],
        observers=[d.auth.audit.observe],
        params_hooks=[d.auth.inline_token],
        scope_resolver=lambda identity: Scope.resolve(identity, d.cameras.cameras()),
        batch_limit=anonymous.batch_limit if security else None,
        # Several instances: camera-local calls run on the camera's owner (cluster/forward.py).
        forwarders=[
            OwnerForwarder(
                directory,
                resolve=d.cameras.resolve_id,
                mint=(
                    lambda identity: stream_tokens.verifier.mint(
                        identity_claims(identity), FORWARD_TOKEN_TTL_S
                    )
                )
                if security
                else None,
            )
        ]
        if directory is not None
        else [],
    )

"""The front door: the WebSocket endpoint (connect/disconnect hooks of auth, events and onvif; the
anonymous send pacing) and the HTTP server with every route (downloads, the web console, the
established protocol's health/polling routes and /files)."""

from __future__ import annotations

from collections.abc import Callable

from camera_service.auth.abuse import AnonymousLimits
from camera_service.auth.transport import TransportSecurity, build_ssl_context
from camera_service.compat.files import CompatFiles
from camera_service.compat.http import CompatHttp
from camera_service.composition.records import Domains
from camera_service.config import Settings
from camera_service.core.component import ComponentHealth
from camera_service.mediamtx.supervisor import MediaMTXSupervisor
from camera_service.observability.metrics import Metrics
from camera_service.rpc.dispatcher import Dispatcher
from camera_service.server.connections import ConnectionRegistry
from camera_service.server.console import Console
from camera_service.server.http import HttpServer
from camera_service.server.websocket import WebSocketEndpoint


def front_door(
    settings: Settings,
    d: Domains,
    dispatcher: Dispatcher,
    *,
    metrics: Metrics,
    connections: ConnectionRegistry,
    mediamtx: MediaMTXSupervisor,
    anonymous: AnonymousLimits,
    component_health: Callable[[], list[ComponentHealth]],
    ready: Callable[[], bool],
    started_at: float,
) -> tuple[WebSocketEndpoint, HttpServer]:
    """The WebSocket endpoint and the HTTP server that serves it and every other route."""
    transport = TransportSecurity(d.auth, connections, tls=settings.security.tls_cert is not None)
    endpoint = WebSocketEndpoint(dispatcher, settings.server, metrics, connections)
    if settings.security.enabled:
        endpoint.send_pacer = anonymous.send_delay
        endpoint.send_unpaced = anonymous.refund
    endpoint.on_connect.append(transport.on_connect)
    endpoint.on_disconnect.append(transport.on_disconnect)
    endpoint.on_disconnect.append(d.events.subscriptions.drop_connection)
    endpoint.on_disconnect.append(d.onvif.on_disconnect)  # PTZ safety stop
    http = HttpServer(
        settings.server,
        endpoint,
        metrics,
        component_health,
        ready,
        middlewares=[transport.security_headers],
        ssl_context=build_ssl_context(settings.security),
    )
    http.add_routes(d.recordings.downloads.routes())
    http.add_routes(Console(settings.server, settings.mediamtx).routes())  # the web console at /
    # The established protocol's HTTP routes: old health/polling routes and token-gated /files.
    http.add_routes(
        CompatHttp(
            status=component_health,
            started_at=started_at,
            auth=d.auth,
            cameras=d.cameras,
            mediamtx=mediamtx,
        ).routes()
    )
    http.add_routes(CompatFiles(d.auth, d.recordings, d.cameras).routes())
    return endpoint, http

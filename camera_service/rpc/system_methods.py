"""Methods about the server itself: ping, rpc.discover, get_server_info, get_status."""

from __future__ import annotations

import time
from collections.abc import Callable, Sized
from dataclasses import dataclass
from typing import Any, Literal, cast

from pydantic import BaseModel, Field

from camera_service import API_VERSION, __version__
from camera_service.auth.roles import Role
from camera_service.compat.words import component_words
from camera_service.core.component import ComponentHealth
from camera_service.rpc.context import CallContext
from camera_service.rpc.registry import MethodRegistry

router = MethodRegistry(tag="system")


@dataclass(frozen=True)
class SystemApi:
    """What the system methods need (bound in app.py)."""

    api: MethodRegistry  # the contract (bound or not: the document is the same)
    mediamtx_version: Callable[[], str | None]
    component_health: Callable[[], list[ComponentHealth]]
    connections: Sized
    started_at: float
    status_words: bool  # settings.compat.status_components == "words"
    time_zone: str = "UTC"  # settings.server.time_zone


@router.method(role=Role.PUBLIC)
async def ping(ctx: CallContext) -> Literal["pong"]:
    """Liveness check of the connection; answers "pong"."""
    return "pong"


@router.method("rpc.discover", role=Role.PUBLIC)
async def rpc_discover(system: SystemApi, ctx: CallContext) -> dict[str, Any]:
    """The OpenRPC 1.3 description of this API, generated from the method registry."""
    from camera_service.rpc.openrpc import cached_openrpc_fragment

    # Pre-encoded bytes (an orjson.Fragment the dispatcher passes through untouched): see security H1.
    return cast("dict[str, Any]", cached_openrpc_fragment(system.api))


class ServerInfo(BaseModel):
    name: str = Field(description="Product name.")
    version: str = Field(description="camera-service version.")
    api_version: str = Field(description="Version of this JSON-RPC API.")
    mediamtx_version: str | None = Field(description="Version reported by MediaMTX, null while it is down.")
    capabilities: list[str] = Field(description="Feature groups this server offers.")
    supported_formats: list[str] = Field(description="Recording and snapshot formats.")
    methods: int = Field(description="Number of JSON-RPC methods.")
    max_cameras: int | None = Field(None, description="Compat: the camera limit; null = no fixed limit.")
    uptime: int = Field(0, description="Compat: whole seconds since the service started.")
    time_zone: str = Field(
        "UTC", description="The site's IANA time zone (server.time_zone) clients show times in (API: UTC)."
    )


@router.method(role=Role.VIEWER)
async def get_server_info(system: SystemApi, ctx: CallContext) -> ServerInfo:
    """Versions and capabilities of the server."""
    api = system.api
    tags = sorted({t for spec in api for t in spec.tags})
    return ServerInfo(
        name="camera-service",
        version=__version__,
        api_version=API_VERSION,
        mediamtx_version=system.mediamtx_version(),
        capabilities=tags,
        supported_formats=["mp4", "jpeg", "png", "jpg"],
        methods=len(api),
        uptime=int(time.time() - system.started_at),
        time_zone=system.time_zone,
    )


class ComponentStatus(BaseModel):
    healthy: bool
    status: str
    details: dict[str, Any]


class ServerStatus(BaseModel):
    status: Literal["healthy", "degraded"] = Field(description="healthy when every component is.")
    version: str
    uptime_s: float = Field(description="Seconds since the service started.")
    connections: int = Field(description="Open WebSocket connections.")
    components: dict[str, ComponentStatus] | dict[str, str] = Field(
        description="Health of each component by name; with config `compat.status_components: words` the "
        "old protocol's words (running / stopped / error, also under the old names websocket_server, "
        "camera_monitor, mediamtx_controller) and the objects move to `component_details`."
    )
    uptime: int = Field(description="Compat: whole seconds since the service started.")
    component_details: dict[str, ComponentStatus] | None = Field(
        None, description="The component objects when `components` holds words (else null)."
    )


@router.method(role=Role.VIEWER)
async def get_status(system: SystemApi, ctx: CallContext) -> ServerStatus:
    """Health of every component: WebSocket server, MediaMTX (reachable, managed, restarts), storage.
    `details` (ids, pids, ports, paths, counts) only for an admin without a camera scope, else {}."""
    health = system.component_health()
    identity = ctx.connection.identity
    full = identity is not None and identity.role >= Role.ADMIN and identity.unrestricted  # security L3
    objects = {
        h.name: ComponentStatus(healthy=h.healthy, status=h.status, details=h.details if full else {})
        for h in health
    }
    words = system.status_words
    uptime = time.time() - system.started_at
    return ServerStatus(
        status="healthy" if all(h.healthy for h in health) else "degraded",
        version=__version__,
        uptime_s=round(uptime, 3),
        uptime=int(uptime),
        connections=len(system.connections),
        components=component_words(health) if words else objects,
        component_details=objects if words else None,
    )

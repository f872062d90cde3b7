"""The old protocol's HTTP routes on the public port, with the old fields alongside ours.

- GET /health/system, /health/cameras, /health/mediamtx: public, like /health (no camera names, no
  secrets: counts and component states only).
- GET /api/cameras: the polling fallback; requires a token (compat/files.request_identity), answers the
  get_camera_list shape for the caller's cameras, stream URLs carrying the caller's stream token.
- /health/ready itself lives in server/http.py and answers {ready, status: "ready"|"not_ready"}.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from camera_service import __version__
from camera_service.auth.scopes import in_scope
from camera_service.cameras.models import CameraStatus
from camera_service.compat.files import request_identity
from camera_service.compat.words import OLD_COMPONENTS, component_word
from camera_service.core.component import ComponentHealth

if TYPE_CHECKING:
    from camera_service.auth.service import AuthService
    from camera_service.cameras.service import CameraService
    from camera_service.mediamtx.supervisor import MediaMTXSupervisor


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class CompatHttp:
    def __init__(
        self,
        *,
        status: Callable[[], list[ComponentHealth]],
        started_at: float,
        auth: AuthService,
        cameras: CameraService,
        mediamtx: MediaMTXSupervisor,
    ) -> None:
        self._status = status
        self.started_at = started_at
        self.auth = auth
        self.cameras = cameras
        self.mediamtx = mediamtx

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/health/system", self.system),
            web.get("/health/cameras", self.cameras_health),
            web.get("/health/mediamtx", self.mediamtx_health),
            web.get("/api/cameras", self.api_cameras),
        ]

    def _by_name(self) -> dict[str, ComponentHealth]:
        return {h.name: h for h in self._status()}

    async def system(self, _: web.Request) -> web.Response:
        health = self._by_name()
        healthy = all(h.healthy for h in health.values())
        body = {
            "status": "healthy" if healthy else "degraded",
            "timestamp": now_iso(),
            "version": __version__,
            "uptime": int(time.time() - self.started_at),
            "components": {old: component_word(health.get(ours)) for old, ours in OLD_COMPONENTS.items()},
            "component_details": {n: h.model_dump(exclude={"name"}) for n, h in health.items()},
        }
        return web.json_response(body, status=200 if healthy else 503)

    async def cameras_health(self, _: web.Request) -> web.Response:
        states = [self.cameras.status(c.id).status for c in self.cameras.cameras()]
        h = self._by_name().get("cameras")
        healthy = h is not None and h.healthy
        body = {
            "status": "healthy" if healthy else "unhealthy",
            "timestamp": now_iso(),
            "total": len(states),
            "connected": sum(1 for s in states if s == CameraStatus.ONLINE),
            "by_state": {s.value: sum(1 for x in states if x == s) for s in CameraStatus},
        }
        return web.json_response(body, status=200 if healthy else 503)

    async def mediamtx_health(self, _: web.Request) -> web.Response:
        up = self.mediamtx.is_up
        h = self._by_name().get("mediamtx")
        body: dict[str, Any] = {
            "status": "healthy" if up else "unhealthy",
            "timestamp": now_iso(),
            "reachable": up,
            "version": self.mediamtx.version,
            "restarts": self.mediamtx.restarts,
            "details": h.details if h is not None else {},
        }
        return web.json_response(body, status=200 if up else 503)

    async def api_cameras(self, request: web.Request) -> web.Response:
        identity = await request_identity(self.auth, request)
        svc = self.cameras
        cams = []
        for camera in svc.cameras():
            if in_scope(camera, identity):
                payload = svc.compat_status_payload(camera, svc.status(camera.id), identity)
                payload["camera"] = camera.id
                cams.append(payload)
        connected = sum(1 for c in cams if c["state"] == CameraStatus.ONLINE.value)
        return web.json_response(
            {"cameras": cams, "total": len(cams), "connected": connected, "timestamp": now_iso()},
            headers={"Cache-Control": "private, no-store"},
        )

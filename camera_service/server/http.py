"""The HTTP side of port 8002: health probes, Prometheus metrics, and routes contributed by components."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from camera_service.config.sections import ServerConfig
from camera_service.core.component import ComponentHealth
from camera_service.observability.metrics import Metrics
from camera_service.server.websocket import WebSocketEndpoint

log = logging.getLogger("camera_service.server")

StatusProvider = Callable[[], list[ComponentHealth]]
ReadyProvider = Callable[[], bool]


class HttpServer:
    """aiohttp server carrying /ws and the HTTP endpoints. Started last and stopped first."""

    name = "http"

    def __init__(
        self,
        cfg: ServerConfig,
        endpoint: WebSocketEndpoint,
        metrics: Metrics,
        status: StatusProvider,
        ready: ReadyProvider,
        *,
        middlewares: Sequence[Any] = (),
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.cfg = cfg
        self.endpoint = endpoint
        self.metrics = metrics
        self._status = status
        self._ready = ready
        self._ssl = ssl_context
        self.app = web.Application(middlewares=list(middlewares), client_max_size=cfg.max_message_bytes)
        self.app.router.add_get(cfg.ws_path, endpoint.handle)
        self.app.router.add_get("/health", self._health)
        self.app.router.add_get("/health/live", self._live)
        self.app.router.add_get("/health/ready", self._ready_probe)
        self.app.router.add_get("/metrics", self._metrics)
        self._runner: web.AppRunner | None = None
        self.port: int = cfg.port

    def add_routes(self, routes: Sequence[web.AbstractRouteDef]) -> None:
        """Components add their HTTP routes (hooks, downloads) before start()."""
        self.app.router.add_routes(routes)

    async def start(self) -> None:
        self._runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, shutdown_timeout=self.cfg.shutdown_timeout_s
        )
        await self._runner.setup()
        site = web.TCPSite(
            self._runner,
            self.cfg.host,
            self.cfg.port,
            ssl_context=self._ssl,
            reuse_address=True,
            backlog=1024,
        )
        await site.start()
        server = getattr(site, "_server", None)
        if server is not None and server.sockets:
            self.port = server.sockets[0].getsockname()[1]  # the real port when configured as 0
        log.info("listening", extra={"host": self.cfg.host, "port": self.port, "ws_path": self.cfg.ws_path})

    async def stop(self) -> None:
        await self.endpoint.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def health(self) -> ComponentHealth:
        return ComponentHealth(
            name="websocket_server",
            healthy=self._runner is not None,
            status="listening" if self._runner else "stopped",
            details={"port": self.port, "connections": len(self.endpoint.connections)},
        )

    async def _health(self, _: web.Request) -> web.Response:
        components = self._status()
        healthy = all(c.healthy for c in components)
        body = {
            "status": "healthy" if healthy else "degraded",
            # Public: states only; the details (ids, pids, ports, paths) are for get_status as an unscoped
            # admin (security L3).
            "components": {c.name: {"healthy": c.healthy, "status": c.status} for c in components},
        }
        return web.json_response(body, status=200 if healthy else 503)

    async def _live(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def _ready_probe(self, _: web.Request) -> web.Response:
        ready = self._ready()
        # `status` for clients of the established protocol, which read status == "ready".
        body = {"ready": ready, "status": "ready" if ready else "not_ready"}
        return web.json_response(body, status=200 if ready else 503)

    async def _metrics(self, _: web.Request) -> web.Response:
        return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

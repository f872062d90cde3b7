"""The web console (clients/web, built into clients/web/dist by scripts/setup.sh), served at `/`.

Every console response carries a strict Content-Security-Policy: scripts, styles and fonts only from
this origin (no inline script, nothing from a CDN); media and fetches only to this origin and to
MediaMTX's WebRTC/HLS listeners on the configured public host (the stream URLs get_stream_urls hands out).
"""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web

from camera_service.config.sections import MediaMTXConfig, ServerConfig

log = logging.getLogger("camera_service.server")

DIST = Path(__file__).resolve().parents[2] / "clients" / "web" / "dist"


def content_security_policy(server: ServerConfig, mtx: MediaMTXConfig, request: web.Request) -> str:
    host = server.public_host if ":" not in server.public_host else f"[{server.public_host}]"
    web_scheme = server.public_scheme
    ws_scheme = "wss" if request.secure else "ws"
    media = [f"{web_scheme}://{host}:{port}" for port in (mtx.webrtc_port, mtx.hls_port)]
    connect = ["'self'", f"{ws_scheme}://{request.host}", *media]
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            "media-src 'self' blob: " + " ".join(media),
            "connect-src " + " ".join(connect),
            "font-src 'self'",
            "manifest-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
        ]
    )


class Console:
    def __init__(self, server: ServerConfig, mtx: MediaMTXConfig, dist: Path = DIST) -> None:
        self._server = server
        self._mtx = mtx
        self._dist = dist

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/", self._index),
            web.get("/assets/{name}", self._asset),
        ]

    def _headers(self, request: web.Request, response: web.StreamResponse) -> None:
        response.headers["Content-Security-Policy"] = content_security_policy(
            self._server, self._mtx, request
        )

    async def _index(self, request: web.Request) -> web.StreamResponse:
        index = self._dist / "index.html"
        if not index.is_file():
            raise web.HTTPServiceUnavailable(
                text="The web console is not built: run scripts/setup.sh (it builds clients/web).\n"
            )
        response = web.FileResponse(index, headers={"Cache-Control": "no-cache"})
        self._headers(request, response)
        return response

    async def _asset(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        assets = (self._dist / "assets").resolve()
        path = (assets / name).resolve()
        if path.parent != assets or not path.is_file():
            raise web.HTTPNotFound()
        # File names carry a content hash (Vite): cache for a year.
        response = web.FileResponse(path, headers={"Cache-Control": "public, max-age=31536000, immutable"})
        self._headers(request, response)
        return response

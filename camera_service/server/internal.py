"""The internal HTTP listener: 127.0.0.1 only, for MediaMTX callbacks (hooks, authMethod: http).

Separate from the public port on purpose: it must be up before MediaMTX starts (hooks fire at once),
it is never reachable from other machines, and every request must carry the per-run secret.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import shlex
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from urllib.parse import urlencode

from aiohttp import web

from camera_service.core.component import ComponentHealth
from camera_service.core.hooks import HookHandler
from camera_service.storage.secret_files import write_private

log = logging.getLogger("camera_service.internal")

SECRET_HEADER = "X-Internal-Secret"  # noqa: S105 (a header name, not a secret)


class InternalHttpServer:
    name = "internal_http"

    def __init__(self, port: int = 0, secret: str | None = None, header_file: Path | None = None) -> None:
        """`header_file`: hooks read the secret header from this file (0600, written here), so it never
        sits in a hook's command line where `ps` shows it (security L11); None: in the URL."""
        self._requested_port = port
        self.secret = secret or secrets.token_urlsafe(32)
        self.header_file = header_file
        if header_file is not None:
            write_private(header_file, f"{SECRET_HEADER}: {self.secret}\n")
        self.port = port
        self._hooks: dict[str, list[HookHandler]] = {}
        self.app = web.Application(middlewares=[self._check_secret])
        self.app.router.add_post("/hooks/{event}", self._hook)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_routes(self, routes: Sequence[web.AbstractRouteDef]) -> None:
        self.app.router.add_routes(routes)

    def on_hook(self, event: str, handler: HookHandler) -> None:
        """Run `handler(query params)` when MediaMTX fires hook `event` (see hook_command)."""
        self._hooks.setdefault(event, []).append(handler)

    def hook_command(self, event: str, **env_vars: str) -> str:
        """A MediaMTX runOn* command that reports `event` here. Values like "$MTX_PATH" are expanded by
        MediaMTX itself (it runs commands without a shell)."""
        query = urlencode({k: v for k, v in env_vars.items()}, safe="$")
        url = f"{self.url}/hooks/{event}?{query}"
        if self.header_file is not None:
            return shlex.join(["curl", "-fsS", "-m", "5", "-X", "POST", "-H", f"@{self.header_file}", url])
        return shlex.join(["curl", "-fsS", "-m", "5", "-X", "POST", f"{url}&secret={self.secret}"])

    def authenticated_url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.url}{path}{sep}secret={self.secret}"

    @web.middleware
    async def _check_secret(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        given = request.headers.get(SECRET_HEADER) or request.query.get("secret", "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            log.warning("internal request with a wrong secret refused", extra={"path": request.path})
            raise web.HTTPForbidden()
        return await handler(request)

    async def _hook(self, request: web.Request) -> web.Response:
        event = request.match_info["event"]
        params = {k: v for k, v in request.query.items() if k != "secret"}
        for handler in self._hooks.get(event, []):
            try:
                await handler(params)
            except Exception:
                log.exception("hook handler failed", extra={"hook": event})
        return web.Response(text="ok")

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._requested_port, reuse_address=True)
        await site.start()
        server = getattr(site, "_server", None)
        if server is not None and server.sockets:
            self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def health(self) -> ComponentHealth:
        return ComponentHealth(
            name=self.name,
            healthy=self._runner is not None,
            status="listening" if self._runner else "stopped",
            details={"port": self.port},
        )

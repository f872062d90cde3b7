"""Transport hardening: handshake bearer auth, Origin allow-list, per-address connection limit, the
unauthenticated-connection timeout, security headers on HTTP responses, and the optional TLS context."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aiohttp import web

from camera_service.auth.config import SecurityConfig
from camera_service.auth.store import AuditEntry
from camera_service.auth.tokens import TokenError
from camera_service.core.tasks import TaskSet, cancel_and_wait
from camera_service.rpc.context import ConnectionContext

if TYPE_CHECKING:
    from camera_service.auth.service import AuthService

log = logging.getLogger("camera_service.auth")

CLOSE_AUTH_TIMEOUT = 4001
TIMEOUT_TASK = "auth.timeout_task"
EXPIRY_TASK = "auth.expiry_task"
# How often a connection without an expiring identity is looked at again (it may authenticate later).
EXPIRY_POLL_S = 30.0
# ConnectionContext.notify_encoded drops pushes to connections carrying this flag until they authenticate.
REQUIRES_IDENTITY = "auth.required"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_ssl_context(cfg: SecurityConfig) -> ssl.SSLContext | None:
    if cfg.tls_cert is None or cfg.tls_key is None:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cfg.tls_cert), str(cfg.tls_key))
    return ctx


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


def _authenticated(conn: ConnectionContext) -> bool:
    return conn.identity is not None


class TransportSecurity:
    def __init__(self, auth: AuthService, connections: Iterable[ConnectionContext], *, tls: bool) -> None:
        self.auth = auth
        self.cfg = auth.cfg
        self.connections = connections
        self.tls = tls
        self._timeouts = TaskSet("auth-timeouts")

    # ---- WebSocket hooks (app.endpoint.on_connect / on_disconnect) -----------------------------------
    async def on_connect(self, request: web.Request, conn: ConnectionContext) -> None:
        from camera_service.auth.identity import ANONYMOUS

        self._check_origin(request)
        remote = conn.remote
        same_address = sum(1 for c in self.connections if c.remote == remote)
        if same_address >= self.cfg.max_connections_per_address:
            self.auth.metrics.connections_rejected.labels("per_address_limit").inc()
            raise web.HTTPTooManyRequests(text="too many connections from this address")
        if not self.auth.enabled:
            conn.identity = ANONYMOUS
            return
        conn.state[REQUIRES_IDENTITY] = True
        conn.state[EXPIRY_TASK] = self._timeouts.spawn(self._expiry_watch(conn), name="auth-expiry")
        token = bearer_token(request)
        if token is not None:
            throttled = self.auth.auth_attempts.peek(remote)  # a valid token still passes (L7)
            try:
                conn.identity = await self.auth.authenticate_token(token, allow_stream=False)
            except TokenError as exc:
                if throttled:
                    raise web.HTTPTooManyRequests(text="too many failed authentications") from None
                self.auth.auth_attempts.take(remote)
                self.auth.audit.record(
                    AuditEntry(
                        ts=time.time(),
                        actor="anonymous",
                        actor_kind="none",
                        method="handshake",
                        params={"reason": str(exc)},
                        outcome="auth_failed",
                        error_code=-32001,
                        remote=remote,
                    )
                )
                raise web.HTTPUnauthorized(text=f"authentication failed: {exc}") from None
            return
        # M2: sockets that have not authenticated get their own share of the connection limit, so
        # authenticated clients always find room; under pressure they also get less time to authenticate.
        pending = sum(1 for c in self.connections if c.identity is None)
        if pending >= self.cfg.max_unauthenticated_connections:
            self.auth.metrics.connections_rejected.labels("unauthenticated_limit").inc()
            raise web.HTTPServiceUnavailable(
                text="too many unauthenticated connections; authenticate with a bearer token"
            )
        wait_s = self.cfg.auth_timeout_s
        if pending * 2 > self.cfg.max_unauthenticated_connections:
            wait_s = min(wait_s, self.cfg.auth_timeout_under_pressure_s)
        conn.state[TIMEOUT_TASK] = self._timeouts.spawn(self._auth_timeout(conn, wait_s), name="auth-timeout")

    async def on_disconnect(self, conn: ConnectionContext) -> None:
        await cancel_and_wait(conn.state.pop(TIMEOUT_TASK, None))
        await cancel_and_wait(conn.state.pop(EXPIRY_TASK, None))

    async def _expiry_watch(self, conn: ConnectionContext) -> None:
        """Security L8: when a connection's identity expires, drop it (no more pushes, calls need a new
        authentication) and close the socket if it does not authenticate again within auth_timeout_s.
        The guard re-checks expiry on every call; this covers a socket that only listens."""
        clock = self.auth.clock
        while True:
            identity = conn.identity
            exp = identity.expires_at if identity is not None else None
            if identity is not None and exp is not None and clock.time() >= exp:
                conn.identity = None
                self.auth.metrics.connections_rejected.labels("identity_expired").inc()
                await self._auth_timeout(conn, self.cfg.auth_timeout_s)
                if not _authenticated(conn):  # (a call, not the attribute: it changed while we slept)
                    return
                continue
            wait = EXPIRY_POLL_S if exp is None else min(EXPIRY_POLL_S, max(0.05, exp - clock.time()))
            await clock.sleep(wait)

    async def _auth_timeout(self, conn: ConnectionContext, wait_s: float) -> None:
        await self.auth.clock.sleep(wait_s)  # the service's clock: expiry and this timeout share one time
        if conn.identity is None:
            self.auth.metrics.connections_rejected.labels("auth_timeout").inc()
            with contextlib.suppress(Exception):
                await conn.close(CLOSE_AUTH_TIMEOUT, "authentication timeout")

    def _check_origin(self, request: web.Request) -> None:
        origin = request.headers.get("Origin")
        if origin is None:
            return  # not a browser: Origin checks protect browsers from cross-site WebSockets
        if origin in self.cfg.allowed_origins or "*" in self.cfg.allowed_origins:
            return
        host = request.headers.get("Host", "")
        parts = urlsplit(origin)
        if parts.netloc == host and host and self._same_origin_allowed(parts.scheme, parts.hostname):
            return  # same origin (a page served by this host)
        self.auth.metrics.connections_rejected.labels("origin").inc()
        raise web.HTTPForbidden(text="origin not allowed")

    def _same_origin_allowed(self, scheme: str, hostname: str | None) -> bool:
        """Security L16: the Host header is the client's word, so a same-origin match only counts for the
        scheme this server speaks and for a host name it is known by (an IP literal, localhost,
        server.host, server.public_host); a rebound DNS name needs security.allowed_origins."""
        if scheme != ("https" if self.tls else "http") or not hostname:
            return False
        server = self.auth.settings.server
        if hostname in ("localhost", server.host, server.public_host):
            return True
        try:
            ipaddress.ip_address(hostname)
        except ValueError:
            return False
        return True

    # ---- HTTP ----------------------------------------------------------------------------------------
    @web.middleware
    async def security_headers(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            self._headers(exc)
            raise
        if not response.prepared:  # a WebSocket or streamed body has sent its headers already
            self._headers(response)
        return response

    def _headers(self, response: web.StreamResponse) -> None:
        h = response.headers
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "no-referrer")
        h.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
        h.setdefault("Cross-Origin-Resource-Policy", "same-site")
        if self.tls:
            h.setdefault("Strict-Transport-Security", "max-age=31536000")

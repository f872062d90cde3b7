"""MediaMTX `authMethod: http`: MediaMTX asks us before every publish/read/playback.

MediaMTX POSTs {user, password, token, ip, action, path, protocol, id, query}; any 2xx allows.
- api (security L11): only the service's internal credential (the API holds cameras' pull URLs with their
  passwords; its listener is 127.0.0.1-only, but any local user could read it). metrics/pprof are
  excluded in MediaMTX's config (127.0.0.1-only, no secrets).
- The service's own readers present the per-run internal credential (user/pass): read/playback only.
- publish (security M7): only a camera's configured source, whatever the address: a publisher camera's
  issued credential, or the service's own per-path publisher password (demo, device cameras); never into a
  pull camera's path or a path of no camera. MediaMTX runs with `overridePublisher: false`, so even a
  valid second publisher cannot kick the first.
- read/playback: a JWT, API key or stream token (as token, password, or `?token=`/`?jwt=` in the URL)
  whose scope includes the camera; reads also take a live-view lease under the agency quota.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from camera_service.auth.identity import Identity
from camera_service.auth.internal import InternalReaders
from camera_service.auth.publishers import PublishCredentials
from camera_service.auth.quota import LiveViewQuota
from camera_service.auth.scopes import in_scope
from camera_service.auth.store import AuditEntry

log = logging.getLogger("camera_service.auth.mediamtx")

AUTH_ROUTE = "/auth/mediamtx"
MAX_PENDING_READS = 10_000
Authenticator = Callable[[str], Awaitable[Identity]]  # raises on a bad token
CameraLookup = Callable[[str], Awaitable[Any | None]]
Auditor = Callable[[AuditEntry], None]


@dataclass
class Decision:
    allowed: bool
    reason: str
    identity: Identity | None = None


def credential_from(body: dict[str, Any]) -> str:
    """The token MediaMTX saw: Bearer token, a password (user name ignored), or ?token= / ?jwt=."""
    token = str(body.get("token") or "")
    if token:
        return token
    password = str(body.get("password") or "")
    if password:
        return password
    query = parse_qs(str(body.get("query") or ""))
    for name in ("token", "jwt"):
        values = query.get(name)
        if values and values[0]:
            return values[0]
    return ""


class MediaMTXAuth:
    def __init__(
        self,
        *,
        internal_user: str,
        internal_password: str,
        trusted_publish: list[str],
        internal_publishers: InternalReaders,
        publish_credentials: PublishCredentials,
        authenticate: Authenticator,
        lookup_camera: CameraLookup,
        quotas: LiveViewQuota,
        audit: Auditor,
        on_decision: Callable[[str, str], None] | None = None,
        on_live_view: Callable[[str, str], object] | None = None,
    ) -> None:
        self.internal_user = internal_user
        self._internal_password = internal_password
        self._trusted = [ipaddress.ip_network(n, strict=False) for n in trusted_publish]
        self._internal_publishers = internal_publishers
        self._publish_credentials = publish_credentials
        self._authenticate = authenticate
        self._lookup = lookup_camera
        self.quotas = quotas
        self._audit = audit
        self._on_decision = on_decision
        # Authorised external reads by MediaMTX session id, until runOnRead confirms the session started:
        # then `on_live_view(camera, reader type)` is told (get_statistics counts live views).
        # Bounded: ids MediaMTX never confirms (a client that gave up) fall out oldest first.
        self._external_reads: OrderedDict[str, str] = OrderedDict()
        self.on_live_view = on_live_view

    def route(self) -> web.RouteDef:
        return web.post(AUTH_ROUTE, self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400, text="bad request")
        if not isinstance(body, dict):
            return web.Response(status=400, text="bad request")
        decision = await self.decide(body)
        action = str(body.get("action") or "")
        if self._on_decision is not None:
            self._on_decision(action, "allow" if decision.allowed else decision.reason)
        if decision.allowed:
            return web.Response(text="ok")
        if credential_from(body) or body.get("user"):  # anonymous probes are the normal RTSP first try
            ident = decision.identity
            self._audit(
                AuditEntry(
                    ts=time.time(),
                    actor=ident.subject if ident else (str(body.get("user") or "anonymous")),
                    actor_kind=ident.kind if ident else "none",
                    method=f"mediamtx.{action}",
                    params={
                        "path": body.get("path"),
                        "protocol": body.get("protocol"),
                        "reason": decision.reason,
                    },
                    outcome="auth_failed" if decision.reason != "quota_exceeded" else "denied",
                    error_code=None,
                    remote=str(body.get("ip") or ""),
                )
            )
        return web.Response(status=401 if decision.reason != "quota_exceeded" else 403, text=decision.reason)

    def _is_internal(self, body: dict[str, Any]) -> bool:
        user, password = str(body.get("user") or ""), str(body.get("password") or "")
        return (
            bool(user)
            and hmac.compare_digest(user.encode(), self.internal_user.encode())
            and hmac.compare_digest(password.encode(), self._internal_password.encode())
        )

    def _trusted_ip(self, ip: str) -> bool:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(addr in net for net in self._trusted)

    async def decide(self, body: dict[str, Any]) -> Decision:
        action = str(body.get("action") or "")
        path = str(body.get("path") or "")
        ip = str(body.get("ip") or "")
        if action == "api":
            ok = self._is_internal(body)
            return Decision(ok, "internal" if ok else "api_needs_internal_credential")
        if action in ("metrics", "pprof"):
            # Normally excluded in MediaMTX's config; if asked anyway, loopback only.
            return Decision(ip in ("127.0.0.1", "::1"), "local_only")
        if action == "publish":
            return await self._decide_publish(body, path, ip)
        if self._is_internal(body):
            return Decision(True, "internal")
        token = credential_from(body)
        if not token:
            return Decision(False, "credentials_required")
        try:
            identity = await self._authenticate(token)
        except Exception:
            return Decision(False, "invalid_credentials")
        if identity.expires_at is not None and time.time() >= identity.expires_at:
            return Decision(False, "expired", identity)
        camera = await self._lookup(path)
        if camera is None or not in_scope(camera, identity):
            return Decision(False, "not_in_scope", identity)
        if action not in ("read", "playback"):
            return Decision(False, "unknown_action", identity)
        fingerprint = hashlib.sha256(f"{ip}|{path}|{token}".encode()).hexdigest()
        agency = getattr(camera, "agency", None)
        if action == "read" and not await self.quotas.acquire(
            str(body.get("id") or ""), camera.id, agency, fingerprint, holder=identity.subject
        ):
            return Decision(False, "quota_exceeded", identity)
        if action == "read" and body.get("id"):
            self._external_reads[str(body["id"])] = camera.id
            while len(self._external_reads) > MAX_PENDING_READS:
                self._external_reads.popitem(last=False)
        return Decision(True, action, identity)

    async def _decide_publish(self, body: dict[str, Any], path: str, ip: str) -> Decision:
        camera = await self._lookup(path)
        if camera is None:
            return Decision(False, "no_camera")
        # Pull cameras have no publisher (MediaMTX pulls them); the demo path is the service's own.
        kind = str(getattr(camera, "source_kind", "pull"))
        if path != camera.id:  # its substream's path "<id>.sub": pulled, or published with its credential
            kind = "publisher" if getattr(camera, "substream", None) == "publisher" else "pull"
        if kind not in ("publisher", "device", "demo"):
            return Decision(False, "not_a_publisher_path")
        user, password = str(body.get("user") or ""), str(body.get("password") or "")
        if self._internal_publishers.is_publisher(path, user, password):
            return Decision(True, "internal_publisher")
        if kind == "publisher":
            if self._publish_credentials.matches(camera.id, credential_from(body)):
                return Decision(True, "publish_credential")
            if self._trusted_ip(ip):  # opt-in only (security.trusted_publish_networks, empty by default)
                return Decision(True, "trusted_publisher")
        if not (user or credential_from(body)):
            return Decision(False, "credentials_required")
        return Decision(False, "invalid_publish_credential")

    # runOnRead / runOnUnread hooks (services.internal), params: reader, path
    async def on_read(self, params: dict[str, str]) -> None:
        await self.quotas.confirm(params.get("reader", ""))
        camera = self._external_reads.pop(params.get("reader", ""), None)
        if camera is not None and self.on_live_view is not None:
            self.on_live_view(camera, params.get("type", ""))

    async def on_unread(self, params: dict[str, str]) -> None:
        await self.quotas.release(params.get("reader", ""))

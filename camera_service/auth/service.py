"""The security component (identities, API keys, audit, limits, live-view checks).

Built after the camera registry (it looks cameras up for MediaMTX's auth callbacks), started BEFORE
MediaMTX: MediaMTX's first publish/read decisions arrive as soon as it runs (app.py), and its config
points `authHTTPAddress` at the internal listener (`mediamtx_auth_config`, a MediaMTX config contributor).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from camera_service.auth import apikeys
from camera_service.auth.audit import AuditLog
from camera_service.auth.config import SecurityConfig
from camera_service.auth.guards import AuthGuard
from camera_service.auth.identity import Identity
from camera_service.auth.internal import INTERNAL_USER, InternalReaders
from camera_service.auth.login import InlineToken
from camera_service.auth.mediamtx_auth import AUTH_ROUTE, MediaMTXAuth
from camera_service.auth.publishers import PUBLISH_USER, PublishCredentials
from camera_service.auth.quota import LiveViewQuota, LiveViewQuotas
from camera_service.auth.ratelimit import KeyedBuckets, TokenBucket
from camera_service.auth.roles import Role
from camera_service.auth.scopes import ScopedCamera
from camera_service.auth.store import MIGRATIONS, ApiKeyRecord, AuditEntry, AuthStore
from camera_service.auth.stream_tokens import StreamTokens
from camera_service.auth.tokens import STREAM_TOKEN_TYPE, TokenError, identity_from_claims
from camera_service.cameras.models import camera_of_path
from camera_service.cameras.streams import build_stream_urls
from camera_service.core.clock import Clock, SystemClock
from camera_service.core.component import ComponentHealth
from camera_service.core.tasks import cancel_and_wait
from camera_service.storage.secret_files import secrets_dir, write_private

if TYPE_CHECKING:
    from aiohttp import web

    from camera_service.cameras.ports import CameraDirectory
    from camera_service.config import Settings
    from camera_service.core.hooks import HookHandler, HookHost
    from camera_service.observability.metrics import Metrics
    from camera_service.storage.database import Database

log = logging.getLogger("camera_service.auth")

BOOTSTRAP_KEY_FILE = "admin-api-key"
KEY_REFRESH_S = 5.0  # CLI-made changes to API keys reach a running service within this time


def load_or_create_jwt_secret(settings: Settings) -> bytes:
    """The configured secret, else the one kept in <data_dir>/secrets/jwt_secret (created once)."""
    if settings.security.jwt_secret is not None:
        return settings.security.jwt_secret.get_secret_value().encode()
    path = secrets_dir(settings.storage.data_dir) / "jwt_secret"
    if path.exists():
        value = path.read_text().strip()
        if len(value.encode()) >= 32:
            return value.encode()
    value = secrets.token_urlsafe(48)
    write_private(path, value)
    log.info("generated a JWT secret", extra={"path": str(path)})
    return value.encode()


class AuthService:
    name = "auth"

    def __init__(
        self,
        settings: Settings,
        db: Database,
        metrics: Metrics,
        *,
        readers: InternalReaders,
        stream_tokens: StreamTokens,
        cameras: CameraDirectory,
        on_live_view: Callable[[str, str], object] | None = None,
        quotas: LiveViewQuota | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.settings = settings
        self.cfg: SecurityConfig = settings.security
        self.enabled = self.cfg.enabled
        self._readers = readers
        self._cameras = cameras
        self.metrics = metrics
        self._stream_tokens = stream_tokens
        self.verifier = stream_tokens.verifier
        db.register("auth", MIGRATIONS)
        self.store = AuthStore(db)
        self.audit = AuditLog(
            self.store,
            self.cfg.audit_retention_days,
            on_drop=lambda: metrics.auth_events.labels("audit_dropped").inc(),
        )
        self._keys: dict[str, ApiKeyRecord] = {}
        self._revoked: set[str] = set()
        self._refresh_task: asyncio.Task[None] | None = None
        self.identity_buckets = KeyedBuckets(self.cfg.rate_limit_identity)
        self.auth_attempts = KeyedBuckets(self.cfg.auth_attempts)
        self.guard = AuthGuard(
            connection_bucket=lambda: TokenBucket(
                self.cfg.rate_limit_connection.per_second, self.cfg.rate_limit_connection.burst
            ),
            identity_buckets=self.identity_buckets,
            is_revoked=self.is_revoked,
            on_limited=lambda scope: metrics.auth_events.labels(f"rate_limited_{scope}").inc(),
            clock=self.clock.time,
        )
        # Dispatcher params hook: `auth_token`/`token` in any call's params authenticates the connection.
        self.inline_token = InlineToken(self)
        # In memory (one instance) unless app.py passes the shared one (storage.redis_url).
        self.quotas: LiveViewQuota = quotas or LiveViewQuotas(self.cfg.agency_limits)
        self.publishers = PublishCredentials(self.store, self.clock)
        self.mediamtx_auth = MediaMTXAuth(
            internal_user=INTERNAL_USER,
            internal_password=readers.password,
            trusted_publish=self.cfg.trusted_publish_networks,
            internal_publishers=readers,
            publish_credentials=self.publishers,
            authenticate=self.authenticate_token,
            lookup_camera=self.lookup_camera,
            quotas=self.quotas,
            audit=self.audit.record,
            on_decision=lambda action, result: metrics.mediamtx_auth.labels(action, result).inc(),
            on_live_view=on_live_view,
        )

    def internal_routes(self) -> list[web.AbstractRouteDef]:
        """MediaMTX's auth callback (app.py serves it on the internal listener when security is on)."""
        return [self.mediamtx_auth.route()] if self.enabled else []

    def hook_handlers(self) -> dict[str, HookHandler]:
        """The MediaMTX hooks this component handles: live-view sessions opening and closing."""
        if not self.enabled:
            return {}
        return {"read": self.mediamtx_auth.on_read, "unread": self.mediamtx_auth.on_unread}

    # ---- lifecycle -----------------------------------------------------------------------------------
    async def _reload_keys(self) -> None:
        """Pick up keys created/revoked by the CLI (another process on the same database), and publish
        credentials issued by another instance sharing the database."""
        await self.publishers.load()
        for rec in await self.store.list_keys():
            known = self._keys.get(rec.key_id)
            if known is not None and known.last_used_at and not rec.last_used_at:
                rec.last_used_at = known.last_used_at
            self._keys[rec.key_id] = rec
            if rec.revoked_at is not None:
                self._revoked.add(rec.key_id)

    async def _refresh_loop(self) -> None:
        while True:
            await self.clock.sleep(KEY_REFRESH_S)
            try:
                await self._reload_keys()
            except Exception:
                log.exception("API key refresh failed")

    async def start(self) -> None:
        await self._reload_keys()
        self._refresh_task = asyncio.create_task(self._refresh_loop(), name="apikey-refresh")
        await self.audit.start()
        await self.quotas.start()
        if self.enabled and self.cfg.bootstrap_admin_key and not self._keys:
            await self._bootstrap_admin_key()

    async def stop(self) -> None:
        await cancel_and_wait(self._refresh_task)
        await self.quotas.stop()
        await self.audit.stop()

    def health(self) -> ComponentHealth:
        # Security on and the shared quota store unreachable: no new live view is admitted.
        quotas_ok = self.quotas.healthy or not self.enabled
        return ComponentHealth(
            name=self.name,
            healthy=quotas_ok,
            status=("enabled" if self.enabled else "disabled") if quotas_ok else "quota store unreachable",
            details={
                "api_keys": len(self._keys) - len(self._revoked),
                "audit_dropped": self.audit.dropped,
                **self.quotas.describe(),
            },
        )

    async def _bootstrap_admin_key(self) -> None:
        key, _ = await self.create_api_key("bootstrap-admin", Role.ADMIN, {}, created_by="bootstrap")
        path = secrets_dir(self.settings.storage.data_dir) / BOOTSTRAP_KEY_FILE
        write_private(path, key + "\n")
        log.warning(
            "created the first admin API key; it is in the file named here (shown once)",
            extra={"path": str(path)},
        )

    # ---- identities ----------------------------------------------------------------------------------
    async def authenticate_token(self, token: str, *, allow_stream: bool = True) -> Identity:
        """Identity for a JWT or an API key; raises TokenError (message safe for clients)."""
        token = token.strip()
        if not token:
            raise TokenError("empty token")
        if apikeys.looks_like_api_key(token):
            return self._identity_for_key(token)
        claims = await self.verifier.verify(token)
        if claims.get("typ") == STREAM_TOKEN_TYPE and not allow_stream:
            raise TokenError("stream tokens only open streams")
        return identity_from_claims(
            claims, kind="stream" if claims.get("typ") == STREAM_TOKEN_TYPE else "jwt"
        )

    def _identity_for_key(self, key: str) -> Identity:
        key_id = apikeys.split_key(key)
        rec = self._keys.get(key_id or "")
        if rec is None or not apikeys.matches(key, rec.key_hash):
            raise TokenError("unknown API key")
        if rec.revoked_at is not None or rec.key_id in self._revoked:
            raise TokenError("API key revoked")
        if rec.expires_at is not None and self.clock.time() >= rec.expires_at:
            raise TokenError("API key expired")
        rec.last_used_at = self.clock.time()
        return Identity(
            subject=f"apikey:{rec.name}",
            role=rec.role,
            kind="api_key",
            expires_at=rec.expires_at,
            key_id=rec.key_id,
            session_id=secrets.token_hex(8),
            cameras=frozenset(rec.scopes.get("cameras", ())),
            groups=frozenset(rec.scopes.get("groups", ())),
            tags=frozenset(rec.scopes.get("tags", ())),
            agencies=frozenset(rec.scopes.get("agencies", ())),
        )

    def is_revoked(self, key_id: str) -> bool:
        return key_id in self._revoked

    # ---- API keys ------------------------------------------------------------------------------------
    async def create_api_key(
        self,
        name: str,
        role: Role,
        scopes: dict[str, list[str]],
        *,
        created_by: str,
        ttl_s: float | None = None,
    ) -> tuple[str, ApiKeyRecord]:
        key_id, key, digest = apikeys.generate_key()
        rec = ApiKeyRecord(
            key_id=key_id,
            key_hash=digest,
            name=name,
            role=role,
            scopes={k: sorted(v) for k, v in scopes.items() if v},
            created_at=self.clock.time(),
            created_by=created_by,
            expires_at=self.clock.time() + ttl_s if ttl_s else None,
        )
        await self.store.add_key(rec)
        self._keys[key_id] = rec
        return key, rec

    async def list_audit(
        self,
        *,
        actor: str | None,
        method: str | None,
        start: float | None,
        end: float | None,
        limit: int,
        offset: int,
    ) -> tuple[list[AuditEntry], int]:
        """Audit entries, newest first, and the total matching."""
        return await self.store.list_audit(
            actor=actor, method=method, start=start, end=end, limit=limit, offset=offset
        )

    def list_api_keys(self) -> list[ApiKeyRecord]:
        return sorted(self._keys.values(), key=lambda r: r.created_at)

    async def revoke_api_key(self, key_id: str) -> bool:
        rec = self._keys.get(key_id)
        if rec is None:
            return False
        now = self.clock.time()
        await self.store.revoke_key(key_id, now)
        rec.revoked_at = rec.revoked_at or now
        self._revoked.add(key_id)
        return True

    # ---- live view -----------------------------------------------------------------------------------
    async def lookup_camera(self, path: str) -> ScopedCamera | None:
        camera = self._cameras.find(camera_of_path(path))  # "<id>.sub": the camera's substream
        if camera is not None:
            return camera
        demo = self.settings.demo
        if demo.enabled and path == demo.camera_id:
            return _DemoCamera(demo.camera_id)
        return None

    async def issue_publish_url(self, camera_id: str, *, created_by: str) -> tuple[str, str, str]:
        """(user, password, rtsp URL with both) for the publisher of `camera_id`; replaces the previous
        credential at once. The caller checks the camera is a publisher camera in the caller's scope."""
        secret = await self.publishers.issue(camera_id, created_by=created_by)
        plain = build_stream_urls(camera_id, self.settings.server, self.settings.mediamtx).rtsp
        return PUBLISH_USER, secret, plain.replace("rtsp://", f"rtsp://{PUBLISH_USER}:{secret}@", 1)

    def stream_token(self, identity: Identity | None, camera_id: str) -> tuple[str, float]:
        """A short-lived viewer token that opens exactly this camera's live/playback streams."""
        return self._stream_tokens.mint(identity, camera_id)

    async def check_live_quota(self, camera: ScopedCamera) -> None:
        """QUOTA_EXCEEDED when the camera's agency has no live view left (get_stream_urls calls this)."""
        await self.quotas.check(camera.agency, camera.id)


class _DemoCamera:
    """The demo path before (or without) a camera registry entry: unscoped, no agency."""

    def __init__(self, camera_id: str) -> None:
        self.id = camera_id
        self.source_kind = "demo"  # published by the service itself (security M7)
        self.group: str | None = None
        self.tags: list[str] = []
        self.agency: str | None = None


def mediamtx_auth_config(internal: HookHost) -> dict[str, Any]:
    """MediaMTX keys that route every publish/read/playback decision to us (a config contributor of the
    MediaMTX supervisor when security is on; rendered at each spawn, after the internal listener bound)."""
    hook = internal.hook_command
    return {
        "authMethod": "http",
        "authHTTPAddress": internal.authenticated_url(AUTH_ROUTE),
        # The API is asked about too (security L11): only the service's own client may use it.
        "authHTTPExclude": [{"action": "metrics"}, {"action": "pprof"}],
        "pathDefaults": {
            # Security M7: a second publisher never replaces the one publishing (config/mediamtx.yml says
            # the same; repeated so an older template cannot turn it back on).
            "overridePublisher": False,
            "runOnRead": hook("read", path="$MTX_PATH", reader="$MTX_READER_ID", type="$MTX_READER_TYPE"),
            "runOnUnread": hook("unread", path="$MTX_PATH", reader="$MTX_READER_ID"),
        },
    }

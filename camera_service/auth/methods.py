"""Security methods: authenticate, API keys, audit, quotas, stream tokens, whoami."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, model_validator

from camera_service.auth.login import login
from camera_service.auth.roles import Role
from camera_service.auth.store import AuditEntry
from camera_service.core.errors import Unauthenticated
from camera_service.rpc.context import CallContext
from camera_service.rpc.errors import ErrorCode, not_found, to_rpc_error
from camera_service.rpc.registry import MethodRegistry, Params
from camera_service.rpc.scope import CameraScope

if TYPE_CHECKING:
    from camera_service.auth.service import AuthService

router = MethodRegistry(tag="security")

PERMISSIONS = {
    Role.VIEWER: ["view"],
    Role.OPERATOR: ["view", "control"],
    Role.ADMIN: ["view", "control", "admin"],
}
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"


@dataclass(frozen=True)
class AuthApi:
    """What the security methods need (bound in app.py)."""

    auth: AuthService
    contract: MethodRegistry  # the API's method specs (a failed authenticate answered as a result is audited)
    failed_authenticate: str  # settings.compat.failed_authenticate: "error" or "result"


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat() if ts is not None else None


class AuthenticateParams(Params):
    auth_token: str | None = Field(None, max_length=16_384, description="A JWT or an API key.")
    token: str | None = Field(
        None, max_length=16_384, description="Alias of auth_token (established clients)."
    )
    auth_type: Literal["jwt", "api_key", "auto"] = Field(
        "auto", description="Accepted for compatibility; the kind is detected."
    )

    @model_validator(mode="after")
    def _one_token(self) -> AuthenticateParams:
        if not (self.auth_token or self.token):
            raise ValueError("auth_token (or token) is required")
        return self


class AuthenticateResult(BaseModel):
    authenticated: Literal[True] = Field(description="Always true: failure is error -32001.")
    role: str = Field(description="viewer, operator or admin.")
    permissions: list[str] = Field(description="view / control / admin, as the established protocol reports.")
    expires_at: str | None = Field(
        description="ISO 8601 expiry of the identity (null: API key without expiry)."
    )
    session_id: str = Field(description="Id of this authenticated session.")
    subject: str = Field(description="Who the connection now acts as.")
    scopes: dict[str, list[str]] = Field(
        description="Camera scope (cameras/groups/tags/agencies); empty: all."
    )


class AuthenticateFailed(BaseModel):
    authenticated: Literal[False] = Field(description="false: the token was not accepted.")
    error: str = Field(description='"Authentication failed".')
    reason: str = Field(description="Why (e.g. not a valid token, token expired).")


@router.method(role=Role.PUBLIC, errors=(ErrorCode.AUTH_REQUIRED, ErrorCode.RATE_LIMITED), compat=True)
async def authenticate(
    api: AuthApi, ctx: CallContext, params: AuthenticateParams
) -> AuthenticateResult | AuthenticateFailed:
    """Bind an identity (JWT or API key) to THIS connection only.

    Failure answers -32001 "Authentication failed" with `data.reason`, and is audited; repeated failures
    from one address are throttled (-32002). With config `compat.failed_authenticate: result` (a
    deployment serving the old SDKs, which drop error frames) a failure is instead the result
    `{authenticated: false, error, reason}` (still audited and throttled).
    Re-authenticating replaces the connection's identity.
    """
    auth = api.auth
    try:
        identity = await login(auth, ctx.connection, params.auth_token or params.token or "")
    except Unauthenticated as exc:
        as_result = api.failed_authenticate == "result"
        if not as_result:
            raise
        spec = api.contract.get(ctx.method)
        if spec is not None:  # the dispatcher's observer sees a success
            auth.audit.observe(ctx, spec, params, to_rpc_error(exc))
        reason = str((exc.data or {}).get("reason", ""))
        return AuthenticateFailed(authenticated=False, error=exc.message, reason=reason)
    return AuthenticateResult(
        authenticated=True,
        role=identity.role.label,
        permissions=PERMISSIONS[identity.role],
        expires_at=_iso(identity.expires_at),
        session_id=identity.session_id,
        subject=identity.subject,
        scopes=identity.scope_dict(),
    )


class WhoAmI(BaseModel):
    subject: str
    role: str
    kind: str = Field(description="jwt, api_key or anonymous (security disabled).")
    expires_at: str | None
    scopes: dict[str, list[str]]
    connection_id: int


@router.method(role=Role.VIEWER)
async def whoami(ctx: CallContext) -> WhoAmI:
    """The identity bound to this connection."""
    ident = ctx.connection.identity
    assert ident is not None  # the guard ensures it
    return WhoAmI(
        subject=ident.subject,
        role=ident.role.label,
        kind=ident.kind,
        expires_at=_iso(ident.expires_at),
        scopes=ident.scope_dict(),
        connection_id=ctx.connection.id,
    )


class ScopeParams(Params):
    cameras: list[str] = Field(default_factory=list, max_length=1000, description="Camera ids.")
    groups: list[str] = Field(default_factory=list, max_length=1000, description="Camera groups.")
    tags: list[str] = Field(default_factory=list, max_length=1000, description="Camera tags.")
    agencies: list[str] = Field(default_factory=list, max_length=1000, description="Camera agencies.")


class CreateApiKeyParams(ScopeParams):
    name: str = Field(pattern=ID_PATTERN, description="A label for the key (who/what uses it).")
    role: Literal["viewer", "operator", "admin"] = Field(description="Role the key acts with.")
    ttl_s: int | None = Field(None, ge=60, le=10 * 366 * 86_400, description="Lifetime; empty: no expiry.")


class ApiKeyInfo(BaseModel):
    key_id: str = Field(description="Public id of the key (part of the key; use it to revoke).")
    name: str
    role: str
    scopes: dict[str, list[str]]
    created_at: str
    created_by: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None


class CreatedApiKey(ApiKeyInfo):
    key: str = Field(description="The key itself. Shown ONCE: only its hash is stored.")


def _key_info(rec: object) -> dict[str, object]:
    from camera_service.auth.store import ApiKeyRecord

    assert isinstance(rec, ApiKeyRecord)
    return {
        "key_id": rec.key_id,
        "name": rec.name,
        "role": rec.role.label,
        "scopes": rec.scopes,
        "created_at": _iso(rec.created_at),
        "created_by": rec.created_by,
        "expires_at": _iso(rec.expires_at),
        "revoked_at": _iso(rec.revoked_at),
        "last_used_at": _iso(rec.last_used_at),
    }


@router.method(scope=CameraScope.UNRESTRICTED, role=Role.ADMIN, mutating=True)
async def create_api_key(api: AuthApi, ctx: CallContext, params: CreateApiKeyParams) -> CreatedApiKey:
    """Create an API key for automation; the key is in the result once and never again."""
    ident = ctx.connection.identity
    key, rec = await api.auth.create_api_key(
        params.name,
        Role[params.role.upper()],
        {
            "cameras": params.cameras,
            "groups": params.groups,
            "tags": params.tags,
            "agencies": params.agencies,
        },
        created_by=ident.subject if ident else "unknown",
        ttl_s=params.ttl_s,
    )
    return CreatedApiKey(key=key, **_key_info(rec))


class ApiKeyList(BaseModel):
    keys: list[ApiKeyInfo]


@router.method(scope=CameraScope.UNRESTRICTED, role=Role.ADMIN)
async def list_api_keys(api: AuthApi, ctx: CallContext) -> ApiKeyList:
    """Every API key (never the key itself)."""
    return ApiKeyList(keys=[ApiKeyInfo(**_key_info(r)) for r in api.auth.list_api_keys()])


class RevokeParams(Params):
    key_id: str = Field(
        pattern=r"^[0-9a-f]{12}$", description="The key_id from create_api_key/list_api_keys."
    )


class Revoked(BaseModel):
    key_id: str
    revoked: Literal[True]


@router.method(scope=CameraScope.UNRESTRICTED, role=Role.ADMIN, mutating=True, errors=(ErrorCode.NOT_FOUND,))
async def revoke_api_key(api: AuthApi, ctx: CallContext, params: RevokeParams) -> Revoked:
    """Revoke an API key at once: connections using it get -32001 on their next call."""
    if not await api.auth.revoke_api_key(params.key_id):
        raise not_found("api_key", params.key_id)
    return Revoked(key_id=params.key_id, revoked=True)


class ListAuditParams(Params):
    actor: str | None = Field(None, max_length=256, description="Only this subject.")
    method: str | None = Field(None, max_length=128, description="Only this method.")
    start: datetime | None = Field(None, description="From this time (ISO 8601).")
    end: datetime | None = Field(None, description="Until this time (ISO 8601).")
    limit: int = Field(100, ge=1, le=1000, description="Page size.")
    offset: int = Field(0, ge=0, description="Entries to skip.")


class AuditItem(BaseModel):
    id: int
    time: str
    actor: str
    actor_kind: str
    method: str
    params: dict[str, object] = Field(description="Call params with secrets redacted.")
    outcome: str = Field(description="ok, error, denied or auth_failed.")
    error_code: int | None
    remote: str


class AuditPage(BaseModel):
    entries: list[AuditItem]
    total: int
    limit: int
    offset: int


@router.method(scope=CameraScope.UNRESTRICTED, role=Role.ADMIN)
async def list_audit(api: AuthApi, ctx: CallContext, params: ListAuditParams) -> AuditPage:
    """The audit log, newest first: state-changing calls and authentication failures."""
    auth = api.auth
    await auth.audit.flush()
    entries, total = await auth.list_audit(
        actor=params.actor,
        method=params.method,
        start=params.start.timestamp() if params.start else None,
        end=params.end.timestamp() if params.end else None,
        limit=params.limit,
        offset=params.offset,
    )
    return AuditPage(
        entries=[_audit_item(e) for e in entries], total=total, limit=params.limit, offset=params.offset
    )


def _audit_item(e: AuditEntry) -> AuditItem:
    return AuditItem(
        id=e.id or 0,
        time=_iso(e.ts) or "",
        actor=e.actor,
        actor_kind=e.actor_kind,
        method=e.method,
        params=e.params,
        outcome=e.outcome,
        error_code=e.error_code,
        remote=e.remote,
    )


class AgencyQuota(BaseModel):
    agency: str
    limit: int = Field(description="Concurrent live views allowed.")
    in_use: int = Field(description="Live views open now.")
    available: int


class QuotaStatus(BaseModel):
    agencies: list[AgencyQuota]


@router.method(role=Role.VIEWER)
async def get_quota_status(api: AuthApi, ctx: CallContext) -> QuotaStatus:
    """Live-view quota use per agency (only agencies in the caller's scope)."""
    ident = ctx.connection.identity
    out = []
    for agency, (limit, used) in (await api.auth.quotas.status()).items():
        if ident is not None and (ident.unrestricted or agency in ident.agencies):
            out.append(AgencyQuota(agency=agency, limit=limit, in_use=used, available=max(0, limit - used)))
    return QuotaStatus(agencies=out)


class StreamTokenParams(Params):
    camera: str = Field(min_length=1, max_length=128, description="Camera id.")


class StreamToken(BaseModel):
    camera: str
    token: str = Field(
        description="Short-lived viewer token for this camera only: `?token=` on RTSP/HLS/WebRTC "
        "URLs, or as the password."
    )
    expires_at: str


@router.method(
    scope=CameraScope.CAMERAS, role=Role.VIEWER, errors=(ErrorCode.NOT_FOUND, ErrorCode.QUOTA_EXCEEDED)
)
async def create_stream_token(api: AuthApi, ctx: CallContext, params: StreamTokenParams) -> StreamToken:
    """A short-lived token that opens this camera's live and playback streams in MediaMTX."""
    auth = api.auth
    ident = ctx.connection.identity
    assert ident is not None
    camera = await auth.lookup_camera(params.camera)
    if camera is None or not ctx.scope.sees(camera):
        raise not_found("camera", params.camera)
    await auth.check_live_quota(camera)
    token, expires = auth.stream_token(ident, camera.id)
    return StreamToken(camera=camera.id, token=token, expires_at=_iso(expires) or "")

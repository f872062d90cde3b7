"""User methods: login, refresh, logout, change_password, and the admin's create/update/disable/list.

Domain errors of users/service.py become JSON-RPC errors here. `login` and `refresh` also bind the new
identity to the calling connection (like `authenticate`), so a console needs one call per sign-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from camera_service.auth.guards import rate_limited
from camera_service.auth.roles import Role
from camera_service.rpc.context import CallContext
from camera_service.rpc.errors import ErrorCode, RpcError, conflict, invalid_params, not_found
from camera_service.rpc.registry import MethodRegistry, Params
from camera_service.rpc.scope import CameraScope
from camera_service.users.passwords import MAX_PASSWORD_CHARS
from camera_service.users.service import (
    BadPassword,
    LoginFailed,
    LoginThrottled,
    Tokens,
    UnknownUser,
    UserError,
    UserExists,
)
from camera_service.users.store import UserRecord

if TYPE_CHECKING:
    from camera_service.users.service import UserService

router = MethodRegistry(tag="users")

USERNAME = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$"
RoleName = Literal["viewer", "operator", "admin"]


@dataclass(frozen=True)
class UsersApi:
    """What the user methods need (bound in app.py)."""

    users: UserService


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat() if ts is not None else None


def _rpc_error(exc: UserError) -> Exception:  # an RpcError or a DomainError (rpc/ maps it)
    if isinstance(exc, LoginThrottled):
        return rate_limited(exc.retry_after, "login_attempts")
    if isinstance(exc, LoginFailed):
        return RpcError(ErrorCode.AUTH_REQUIRED, str(exc).capitalize(), {"reason": str(exc)})
    if isinstance(exc, UnknownUser):
        return not_found("user", exc.username)
    if isinstance(exc, UserExists):
        return conflict("user_exists", f"user '{exc}' already exists", username=str(exc))
    if isinstance(exc, BadPassword):
        return invalid_params("password", str(exc))
    return RpcError(ErrorCode.INTERNAL_ERROR, "user operation failed")


class LoginParams(Params):
    username: str = Field(min_length=1, max_length=64, description="User name.")
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_CHARS, description="Password.")


class RefreshParams(Params):
    refresh_token: str = Field(min_length=1, max_length=200, description="From login or the last refresh.")


class Session(BaseModel):
    username: str
    role: str = Field(description="viewer, operator or admin.")
    scopes: dict[str, list[str]] = Field(
        description="Camera scope (cameras/groups/tags/agencies); empty: all."
    )
    access_token: str = Field(description="Short-lived JWT: `authenticate` with it on a new connection.")
    expires_at: str = Field(description="Expiry of the access token (ISO 8601); refresh before it.")
    refresh_token: str = Field(
        description="Rotating, revocable refresh token (single use: each refresh returns a new one). "
        "Keep it in memory, never in localStorage."
    )
    refresh_expires_at: str
    session_id: str


def _session(ctx: CallContext, tokens: Tokens) -> Session:
    ctx.connection.identity = tokens.identity
    return Session(
        username=tokens.user.username,
        role=tokens.user.role.label,
        scopes=tokens.user.scopes,
        access_token=tokens.access_token,
        expires_at=_iso(tokens.access_expires_at) or "",
        refresh_token=tokens.refresh_token,
        refresh_expires_at=_iso(tokens.refresh_expires_at) or "",
        session_id=tokens.identity.session_id,
    )


@router.method(role=Role.PUBLIC, mutating=True, errors=(ErrorCode.AUTH_REQUIRED, ErrorCode.RATE_LIMITED))
async def login(api: UsersApi, ctx: CallContext, params: LoginParams) -> Session:
    """Sign in with a user name and password; the connection then acts as that user.

    A wrong name or password answers -32001 (the same message for both) and is audited; repeated
    failures for one user name or from one address are throttled (-32002, `data.retry_after_s`).
    """
    try:
        tokens = await api.users.login(params.username, params.password, ctx.connection.remote)
    except UserError as exc:
        raise _rpc_error(exc) from None
    return _session(ctx, tokens)


@router.method(role=Role.PUBLIC, errors=(ErrorCode.AUTH_REQUIRED,))
async def refresh(api: UsersApi, ctx: CallContext, params: RefreshParams) -> Session:
    """Exchange a refresh token for a new access token and a new refresh token (the old one is spent).

    Reusing a spent refresh token ends the whole session (-32001): someone else holds a copy.
    """
    try:
        tokens = await api.users.refresh(params.refresh_token)
    except UserError as exc:
        raise _rpc_error(exc) from None
    return _session(ctx, tokens)


class LogoutParams(Params):
    refresh_token: str | None = Field(None, max_length=200, description="The session's refresh token.")


class Done(BaseModel):
    ok: Literal[True]


@router.method(role=Role.VIEWER, mutating=True)
async def logout(api: UsersApi, ctx: CallContext, params: LogoutParams) -> Done:
    """End this sign-in: the refresh token is revoked and the connection is unauthenticated again."""
    ident = ctx.connection.identity
    await api.users.logout(params.refresh_token, ident.session_id if ident and ident.kind == "jwt" else None)
    ctx.connection.identity = None
    return Done(ok=True)


class ChangePasswordParams(Params):
    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD_CHARS, description="Password now.")
    new_password: str = Field(
        min_length=1, max_length=MAX_PASSWORD_CHARS, description="New password (at least 8 characters)."
    )


@router.method(role=Role.VIEWER, mutating=True, errors=(ErrorCode.AUTH_REQUIRED, ErrorCode.INVALID_PARAMS))
async def change_password(api: UsersApi, ctx: CallContext, params: ChangePasswordParams) -> Done:
    """Change the signed-in user's password; every other session of the user is revoked."""
    ident = ctx.connection.identity
    assert ident is not None
    try:
        await api.users.change_password(
            ident.subject, params.current_password, params.new_password, ident.session_id
        )
    except UserError as exc:
        raise _rpc_error(exc) from None
    return Done(ok=True)


class UserScopes(Params):
    cameras: list[str] | None = Field(None, max_length=1000, description="Camera ids.")
    groups: list[str] | None = Field(None, max_length=1000, description="Camera groups.")
    tags: list[str] | None = Field(None, max_length=1000, description="Camera tags.")
    agencies: list[str] | None = Field(None, max_length=1000, description="Camera agencies.")

    def scope_dict(self) -> dict[str, list[str] | None]:
        return {"cameras": self.cameras, "groups": self.groups, "tags": self.tags, "agencies": self.agencies}


class UserInfo(BaseModel):
    username: str
    role: str
    scopes: dict[str, list[str]]
    disabled: bool
    created_at: str
    created_by: str
    updated_at: str
    password_changed_at: str
    last_login_at: str | None
    active_sessions: int


def _info(rec: UserRecord, sessions: int = 0) -> UserInfo:
    return UserInfo(
        username=rec.username,
        role=rec.role.label,
        scopes=rec.scopes,
        disabled=rec.disabled,
        created_at=_iso(rec.created_at) or "",
        created_by=rec.created_by,
        updated_at=_iso(rec.updated_at) or "",
        password_changed_at=_iso(rec.password_changed_at) or "",
        last_login_at=_iso(rec.last_login_at),
        active_sessions=sessions,
    )


class CreateUserParams(UserScopes):
    username: str = Field(pattern=USERNAME, description="User name (letters, digits, _ . @ -).")
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_CHARS, description="At least 8 characters.")
    role: RoleName = Field(description="viewer, operator or admin.")


@router.method(
    scope=CameraScope.UNRESTRICTED,
    role=Role.ADMIN,
    mutating=True,
    errors=(ErrorCode.CONFLICT, ErrorCode.INVALID_PARAMS),
)
async def create_user(api: UsersApi, ctx: CallContext, params: CreateUserParams) -> UserInfo:
    """Create a console user (argon2id password hash; the password is never returned)."""
    ident = ctx.connection.identity
    scopes = {k: v for k, v in params.scope_dict().items() if v}
    try:
        rec = await api.users.create(
            params.username,
            params.password,
            Role[params.role.upper()],
            scopes,
            created_by=ident.subject if ident else "unknown",
        )
    except UserError as exc:
        raise _rpc_error(exc) from None
    return _info(rec)


class UpdateUserParams(UserScopes):
    username: str = Field(pattern=USERNAME, description="The user.")
    role: RoleName | None = Field(None, description="New role; empty: unchanged.")
    disabled: bool | None = Field(None, description="True disables sign-in and ends every session.")


@router.method(scope=CameraScope.UNRESTRICTED, role=Role.ADMIN, mutating=True, errors=(ErrorCode.NOT_FOUND,))
async def update_user(api: UsersApi, ctx: CallContext, params: UpdateUserParams) -> UserInfo:
    """Change a user's role, camera scope (an empty list clears it) or disabled flag.

    The user's sessions are revoked; the change applies from the next sign-in.
    """
    try:
        rec = await api.users.update(
            params.username,
            role=Role[params.role.upper()] if params.role else None,
            scopes=params.scope_dict(),
            disabled=params.disabled,
        )
    except UserError as exc:
        raise _rpc_error(exc) from None
    return _info(rec)


class UsernameParams(Params):
    username: str = Field(pattern=USERNAME, description="The user.")


@router.method(scope=CameraScope.UNRESTRICTED, role=Role.ADMIN, mutating=True, errors=(ErrorCode.NOT_FOUND,))
async def disable_user(api: UsersApi, ctx: CallContext, params: UsernameParams) -> UserInfo:
    """Disable a user: sign-in refused and every refresh token revoked."""
    try:
        rec = await api.users.update(params.username, disabled=True)
    except UserError as exc:
        raise _rpc_error(exc) from None
    return _info(rec)


class UserList(BaseModel):
    users: list[UserInfo]


@router.method(scope=CameraScope.UNRESTRICTED, role=Role.ADMIN)
async def list_users(api: UsersApi, ctx: CallContext) -> UserList:
    """Every console user (never a password or token)."""
    users, sessions = await api.users.list_all()
    return UserList(users=[_info(u, sessions.get(u.username, 0)) for u in users])

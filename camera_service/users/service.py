"""`services.users`: accounts, sign-in, refresh-token sessions and the first admin user.

Tokens: `login` gives a short-lived access JWT (the same HS256 JWTs the rest of the service accepts, so
`authenticate`, the handshake bearer and MediaMTX checks need nothing new) and a refresh token
`csr_<session>_<secret>` of which only a SHA-256 is stored (it is 256 random bits: a slow hash adds
nothing). Each refresh rotates it; presenting an already-rotated token revokes the whole session (a
stolen copy was used). Failed sign-ins are throttled per user name and per client address.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from camera_service.auth.identity import Identity
from camera_service.auth.ratelimit import KeyedBuckets
from camera_service.auth.roles import Role
from camera_service.auth.tokens import identity_from_claims
from camera_service.core.component import ComponentHealth
from camera_service.storage.database import IntegrityError
from camera_service.storage.secret_files import secrets_dir, write_private
from camera_service.users import passwords
from camera_service.users.store import MIGRATIONS, SessionRecord, UserRecord, UserStore

if TYPE_CHECKING:
    from camera_service.auth.ports import TokenMinter
    from camera_service.config import Settings
    from camera_service.storage.database import Database

log = logging.getLogger("camera_service.users")

REFRESH_TTL_S = 7 * 86_400
ADMIN_USER = "admin"
ADMIN_PASSWORD_FILE = "admin-password"  # noqa: S105 - a file name
REFRESH_PREFIX = "csr_"
SCOPE_NAMES = ("cameras", "groups", "tags", "agencies")


class UserError(Exception):
    """Base of the users domain's errors (mapped to JSON-RPC in users/methods.py)."""


class LoginFailed(UserError):
    pass


class LoginThrottled(UserError):
    def __init__(self, retry_after: float) -> None:
        super().__init__("too many failed sign-ins")
        self.retry_after = retry_after


class UnknownUser(UserError):
    def __init__(self, username: str) -> None:
        super().__init__(username)
        self.username = username


class UserExists(UserError):
    pass


class BadPassword(UserError):
    pass


@dataclass
class Tokens:
    access_token: str
    access_expires_at: float
    refresh_token: str
    refresh_expires_at: float
    identity: Identity
    user: UserRecord


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class UserService:
    name = "users"

    def __init__(self, settings: Settings, db: Database, tokens: TokenMinter | None) -> None:
        """`tokens` signs access tokens (None: a CLI that manages users but never signs anyone in)."""
        self.settings = settings
        self.enabled = settings.security.enabled
        self._minter = tokens
        db.register("users", MIGRATIONS)
        self.store = UserStore(db)
        self.failures = KeyedBuckets(settings.security.auth_attempts)
        self._users = 0

    async def start(self) -> None:
        await self.store.prune_sessions(time.time())
        self._users = await self.store.count()
        if self.enabled:
            await passwords.prepare()
        if self.enabled and self._users == 0:
            await self._bootstrap_admin()

    async def stop(self) -> None:
        return None

    def health(self) -> ComponentHealth:
        return ComponentHealth(name=self.name, healthy=True, status="ok", details={"users": self._users})

    async def _bootstrap_admin(self) -> None:
        password = secrets.token_urlsafe(18)
        try:
            await self.create(ADMIN_USER, password, Role.ADMIN, {}, created_by="bootstrap")
        except (UserExists, IntegrityError):
            # Several instances started at once on one database: another one created it (its data dir
            # holds the password file).
            log.info("the first console user was created by another instance")
            self._users = await self.store.count()
            return
        path = secrets_dir(self.settings.storage.data_dir) / ADMIN_PASSWORD_FILE
        write_private(path, password + "\n")
        log.warning(
            "created the first console user 'admin'; its password is in the file named here",
            extra={"path": str(path)},
        )

    # ---- accounts ------------------------------------------------------------------------------------
    async def create(
        self, username: str, password: str, role: Role, scopes: dict[str, list[str]], *, created_by: str
    ) -> UserRecord:
        problem = passwords.check_policy(password)
        if problem:
            raise BadPassword(problem)
        if await self.store.get(username) is not None:
            raise UserExists(username)
        now = time.time()
        rec = UserRecord(
            username=username,
            password_hash=await passwords.hash_password(password),
            role=role,
            scopes={k: sorted(set(v)) for k, v in scopes.items() if v},
            created_at=now,
            created_by=created_by,
            updated_at=now,
            password_changed_at=now,
        )
        await self.store.add(rec)
        self._users += 1
        return rec

    async def get(self, username: str) -> UserRecord:
        rec = await self.store.get(username)
        if rec is None:
            raise UnknownUser(username)
        return rec

    async def list_all(self) -> tuple[list[UserRecord], dict[str, int]]:
        return await self.store.list(), await self.store.active_sessions(time.time())

    async def update(
        self,
        username: str,
        *,
        role: Role | None = None,
        scopes: dict[str, list[str] | None] | None = None,
        disabled: bool | None = None,
    ) -> UserRecord:
        rec = await self.get(username)
        if role is not None:
            rec.role = role
        for name, value in (scopes or {}).items():
            if value is None:
                continue
            if value:
                rec.scopes[name] = sorted(set(value))
            else:
                rec.scopes.pop(name, None)
        if disabled is not None:
            rec.disabled = disabled
        rec.updated_at = time.time()
        await self.store.update(rec)
        if rec.disabled or role is not None or scopes:
            # A changed role/scope takes effect at the next sign-in; a disabled user cannot refresh.
            await self.store.revoke_user_sessions(username, rec.updated_at)
        return rec

    async def set_password(self, username: str, password: str, *, keep_session: str | None = None) -> None:
        problem = passwords.check_policy(password)
        if problem:
            raise BadPassword(problem)
        rec = await self.get(username)
        rec.password_hash = await passwords.hash_password(password)
        rec.password_changed_at = rec.updated_at = time.time()
        await self.store.update(rec)
        await self.store.revoke_user_sessions(username, rec.updated_at, keep=keep_session)

    async def change_password(self, username: str, current: str, new: str, session_id: str) -> None:
        rec = await self.store.get(username)
        if rec is None or not await passwords.verify_password(rec.password_hash, current):
            raise LoginFailed("current password is wrong")
        await self.set_password(username, new, keep_session=session_id)

    # ---- sign-in -------------------------------------------------------------------------------------
    def _throttle_keys(self, username: str, remote: str) -> tuple[str, str]:
        return f"user:{username.lower()}", f"addr:{remote}"

    async def login(self, username: str, password: str, remote: str) -> Tokens:
        keys = self._throttle_keys(username, remote)
        wait = max(self.failures.peek(k) for k in keys)
        if wait:
            raise LoginThrottled(wait)
        rec = await self.store.get(username)
        ok = await passwords.verify_password(rec.password_hash if rec else None, password)
        if rec is None or not ok or rec.disabled:
            for k in keys:
                self.failures.take(k)
            raise LoginFailed("invalid user name or password")
        now = time.time()
        rec.last_login_at = now
        await self.store.update(rec)
        session_id = secrets.token_hex(12)
        refresh = f"{REFRESH_PREFIX}{session_id}_{secrets.token_urlsafe(32)}"
        await self.store.add_session(
            SessionRecord(
                session_id=session_id,
                username=rec.username,
                token_hash=_digest(refresh),
                created_at=now,
                expires_at=now + REFRESH_TTL_S,
                last_used_at=now,
                remote=remote,
            )
        )
        return self._tokens(rec, session_id, refresh, now + REFRESH_TTL_S)

    async def refresh(self, refresh_token: str) -> Tokens:
        found = await self.store.session_by_hash(_digest(refresh_token))
        now = time.time()
        if found is None:
            raise LoginFailed("unknown refresh token")
        session, current = found
        if not current:
            await self.store.revoke_session(session.session_id, now)
            log.warning(
                "a rotated refresh token was reused; session revoked", extra={"user": session.username}
            )
            raise LoginFailed("refresh token already used; sign in again")
        if session.revoked_at is not None or session.expires_at <= now:
            raise LoginFailed("session ended; sign in again")
        rec = await self.store.get(session.username)
        if rec is None or rec.disabled:
            raise LoginFailed("user disabled")
        new = f"{REFRESH_PREFIX}{session.session_id}_{secrets.token_urlsafe(32)}"
        if not await self.store.rotate(session.session_id, session.token_hash, _digest(new), now):
            raise LoginFailed("refresh token already used; sign in again")
        return self._tokens(rec, session.session_id, new, session.expires_at)

    async def logout(self, refresh_token: str | None, session_id: str | None) -> None:
        now = time.time()
        if refresh_token:
            found = await self.store.session_by_hash(_digest(refresh_token))
            if found is not None:
                await self.store.revoke_session(found[0].session_id, now)
        if session_id:
            await self.store.revoke_session(session_id, now)

    def _tokens(self, rec: UserRecord, session_id: str, refresh: str, refresh_expires: float) -> Tokens:
        # An access JWT outlives a logout or a disable by at most this long.
        ttl = min(self.settings.security.access_token_ttl_s, self.settings.security.max_token_ttl_s)
        claims: dict[str, object] = {
            "sub": rec.username,
            "role": rec.role.label,
            "typ": "access",
            "sid": session_id,
            **{k: v for k, v in rec.scopes.items() if k in SCOPE_NAMES and v},
        }
        if self._minter is None:
            raise RuntimeError("this UserService cannot sign tokens (built without a TokenMinter)")
        access = self._minter.mint(claims, ttl)
        identity = identity_from_claims({**claims, "jti": session_id, "exp": time.time() + ttl})
        return Tokens(access, time.time() + ttl, refresh, refresh_expires, identity, rec)

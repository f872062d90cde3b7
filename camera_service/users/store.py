"""SQL of the users domain: accounts and refresh-token sessions (token hashes only)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from camera_service.auth.roles import Role
from camera_service.storage.database import Database, Migration

MIGRATIONS = [
    Migration(
        1,
        """
CREATE TABLE users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    scopes TEXT NOT NULL DEFAULT '{}',
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    created_by TEXT NOT NULL,
    updated_at REAL NOT NULL,
    password_changed_at REAL NOT NULL,
    last_login_at REAL
);
CREATE TABLE user_sessions (
    session_id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    previous_hash TEXT,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    last_used_at REAL NOT NULL,
    revoked_at REAL,
    remote TEXT NOT NULL
);
CREATE INDEX user_sessions_user ON user_sessions(username);
CREATE INDEX user_sessions_token ON user_sessions(token_hash);
CREATE INDEX user_sessions_previous ON user_sessions(previous_hash);
""",
    )
]


@dataclass
class UserRecord:
    username: str
    password_hash: str
    role: Role
    scopes: dict[str, list[str]]
    created_at: float
    created_by: str
    updated_at: float
    password_changed_at: float
    disabled: bool = False
    last_login_at: float | None = None


@dataclass
class SessionRecord:
    session_id: str
    username: str
    token_hash: str
    created_at: float
    expires_at: float
    last_used_at: float
    remote: str
    previous_hash: str | None = None
    revoked_at: float | None = field(default=None)


def _user(r: object) -> UserRecord:
    row = dict(r)  # type: ignore[call-overload]
    return UserRecord(
        username=row["username"],
        password_hash=row["password_hash"],
        role=Role[row["role"].upper()],
        scopes=json.loads(row["scopes"]),
        created_at=row["created_at"],
        created_by=row["created_by"],
        updated_at=row["updated_at"],
        password_changed_at=row["password_changed_at"],
        disabled=bool(row["disabled"]),
        last_login_at=row["last_login_at"],
    )


def _session(r: object) -> SessionRecord:
    row = dict(r)  # type: ignore[call-overload]
    return SessionRecord(**row)


class UserStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- users ---------------------------------------------------------------------------------------
    async def add(self, u: UserRecord) -> None:
        await self.db.execute(
            "INSERT INTO users (username, password_hash, role, scopes, disabled, created_at, created_by,"
            " updated_at, password_changed_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                u.username,
                u.password_hash,
                u.role.label,
                json.dumps(u.scopes),
                int(u.disabled),
                u.created_at,
                u.created_by,
                u.updated_at,
                u.password_changed_at,
            ),
        )

    async def get(self, username: str) -> UserRecord | None:
        row = await self.db.fetch_one("SELECT * FROM users WHERE username = ?", (username,))
        return _user(row) if row is not None else None

    async def list(self) -> list[UserRecord]:
        return [_user(r) for r in await self.db.fetch_all("SELECT * FROM users ORDER BY username")]

    async def count(self) -> int:
        row = await self.db.fetch_one("SELECT COUNT(*) AS n FROM users")
        return int(row["n"]) if row else 0

    async def update(self, u: UserRecord) -> None:
        await self.db.execute(
            "UPDATE users SET password_hash=?, role=?, scopes=?, disabled=?, updated_at=?,"
            " password_changed_at=?, last_login_at=? WHERE username=?",
            (
                u.password_hash,
                u.role.label,
                json.dumps(u.scopes),
                int(u.disabled),
                u.updated_at,
                u.password_changed_at,
                u.last_login_at,
                u.username,
            ),
        )

    # ---- sessions ------------------------------------------------------------------------------------
    async def add_session(self, s: SessionRecord) -> None:
        await self.db.execute(
            "INSERT INTO user_sessions (session_id, username, token_hash, previous_hash, created_at,"
            " expires_at, last_used_at, revoked_at, remote) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                s.session_id,
                s.username,
                s.token_hash,
                s.previous_hash,
                s.created_at,
                s.expires_at,
                s.last_used_at,
                s.revoked_at,
                s.remote,
            ),
        )

    async def session_by_hash(self, token_hash: str) -> tuple[SessionRecord, bool] | None:
        """The session whose current (True) or previous, already rotated (False) token has this hash."""
        row = await self.db.fetch_one("SELECT * FROM user_sessions WHERE token_hash = ?", (token_hash,))
        if row is not None:
            return _session(row), True
        row = await self.db.fetch_one("SELECT * FROM user_sessions WHERE previous_hash = ?", (token_hash,))
        return (_session(row), False) if row is not None else None

    async def rotate(self, session_id: str, old_hash: str, new_hash: str, now: float) -> bool:
        """Swap the token (compare-and-set: a concurrent refresh with the same token loses)."""
        n = await self.db.execute(
            "UPDATE user_sessions SET previous_hash=token_hash, token_hash=?, last_used_at=?"
            " WHERE session_id=? AND token_hash=? AND revoked_at IS NULL",
            (new_hash, now, session_id, old_hash),
        )
        return n > 0

    async def revoke_session(self, session_id: str, now: float) -> None:
        await self.db.execute(
            "UPDATE user_sessions SET revoked_at=? WHERE session_id=? AND revoked_at IS NULL",
            (now, session_id),
        )

    async def revoke_user_sessions(self, username: str, now: float, *, keep: str | None = None) -> int:
        return await self.db.execute(
            "UPDATE user_sessions SET revoked_at=? WHERE username=? AND revoked_at IS NULL"
            " AND session_id IS DISTINCT FROM ?",
            (now, username, keep),
        )

    async def active_sessions(self, now: float) -> dict[str, int]:
        rows = await self.db.fetch_all(
            "SELECT username, COUNT(*) AS n FROM user_sessions WHERE revoked_at IS NULL AND expires_at > ?"
            " GROUP BY username",
            (now,),
        )
        return {r["username"]: int(r["n"]) for r in rows}

    async def prune_sessions(self, older_than: float) -> int:
        return await self.db.execute("DELETE FROM user_sessions WHERE expires_at < ?", (older_than,))

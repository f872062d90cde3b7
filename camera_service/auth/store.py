"""SQL of the security domain: API keys and the audit log. Everything else talks to this class."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from camera_service.auth.roles import Role
from camera_service.core.jsonlimits import load_stored
from camera_service.storage.database import Database, Migration

MIGRATIONS = [
    Migration(
        1,
        """
CREATE TABLE auth_api_keys (
    key_id TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    scopes TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    created_by TEXT NOT NULL,
    expires_at REAL,
    revoked_at REAL,
    last_used_at REAL
);
CREATE TABLE auth_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    actor TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    method TEXT NOT NULL,
    params TEXT NOT NULL,
    outcome TEXT NOT NULL,
    error_code INTEGER,
    remote TEXT NOT NULL,
    connection_id INTEGER
);
CREATE INDEX auth_audit_ts ON auth_audit(ts);
CREATE INDEX auth_audit_actor ON auth_audit(actor, ts);
CREATE INDEX auth_audit_method ON auth_audit(method, ts);
""",
    ),
    # Security M7: one publish credential per publisher camera, stored as SHA-256 only.
    Migration(
        2,
        """
CREATE TABLE auth_publish_credentials (
    camera_id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    created_at REAL NOT NULL,
    created_by TEXT NOT NULL
);
""",
    ),
]


@dataclass
class ApiKeyRecord:
    key_id: str
    key_hash: str
    name: str
    role: Role
    scopes: dict[str, list[str]]
    created_at: float
    created_by: str
    expires_at: float | None = None
    revoked_at: float | None = None
    last_used_at: float | None = None


@dataclass
class AuditEntry:
    ts: float
    actor: str
    actor_kind: str
    method: str
    params: dict[str, Any]
    outcome: str  # ok | error | denied
    error_code: int | None
    remote: str
    connection_id: int | None = None
    id: int | None = field(default=None)


class AuthStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- API keys ----------------------------------------------------------------------------------
    async def add_key(self, rec: ApiKeyRecord) -> None:
        await self.db.execute(
            "INSERT INTO auth_api_keys (key_id, key_hash, name, role, scopes, created_at, created_by,"
            " expires_at) VALUES (?,?,?,?,?,?,?,?)",
            (
                rec.key_id,
                rec.key_hash,
                rec.name,
                rec.role.label,
                json.dumps(rec.scopes),
                rec.created_at,
                rec.created_by,
                rec.expires_at,
            ),
        )

    async def list_keys(self) -> list[ApiKeyRecord]:
        rows = await self.db.fetch_all("SELECT * FROM auth_api_keys ORDER BY created_at")
        return [
            ApiKeyRecord(
                key_id=r["key_id"],
                key_hash=r["key_hash"],
                name=r["name"],
                role=Role[r["role"].upper()],
                scopes=json.loads(r["scopes"]),
                created_at=r["created_at"],
                created_by=r["created_by"],
                expires_at=r["expires_at"],
                revoked_at=r["revoked_at"],
                last_used_at=r["last_used_at"],
            )
            for r in rows
        ]

    async def revoke_key(self, key_id: str, when: float) -> bool:
        n = await self.db.execute(
            "UPDATE auth_api_keys SET revoked_at=? WHERE key_id=? AND revoked_at IS NULL", (when, key_id)
        )
        return n > 0

    async def touch_key(self, key_id: str, when: float) -> None:
        await self.db.execute("UPDATE auth_api_keys SET last_used_at=? WHERE key_id=?", (when, key_id))

    # ---- publish credentials -----------------------------------------------------------------------
    async def put_publish_credential(self, camera_id: str, secret_hash: str, at: float, by: str) -> None:
        await self.db.execute(
            "INSERT INTO auth_publish_credentials (camera_id, secret_hash, created_at, created_by)"
            " VALUES (?,?,?,?) ON CONFLICT(camera_id) DO UPDATE SET secret_hash=excluded.secret_hash,"
            " created_at=excluded.created_at, created_by=excluded.created_by",
            (camera_id, secret_hash, at, by),
        )

    async def publish_credentials(self) -> dict[str, str]:
        rows = await self.db.fetch_all("SELECT camera_id, secret_hash FROM auth_publish_credentials")
        return {r["camera_id"]: r["secret_hash"] for r in rows}

    # ---- audit -------------------------------------------------------------------------------------
    async def add_audit(self, entries: list[AuditEntry]) -> None:
        await self.db.execute_many(
            "INSERT INTO auth_audit (ts, actor, actor_kind, method, params, outcome, error_code, remote,"
            " connection_id) VALUES (?,?,?,?,?,?,?,?,?)",
            [
                (
                    e.ts,
                    e.actor,
                    e.actor_kind,
                    e.method,
                    json.dumps(e.params, default=str),
                    e.outcome,
                    e.error_code,
                    e.remote,
                    e.connection_id,
                )
                for e in entries
            ],
        )

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
        where, args = ["1=1"], []
        for clause, value in (
            ("actor = ?", actor),
            ("method = ?", method),
            ("ts >= ?", start),
            ("ts <= ?", end),
        ):
            if value is not None:
                where.append(clause)
                args.append(value)
        cond = " AND ".join(where)
        total_row = await self.db.fetch_one(f"SELECT COUNT(*) AS n FROM auth_audit WHERE {cond}", args)  # noqa: S608
        rows = await self.db.fetch_all(
            f"SELECT * FROM auth_audit WHERE {cond} ORDER BY ts DESC, id DESC LIMIT ? OFFSET ?",  # noqa: S608
            [*args, limit, offset],
        )
        entries = [
            AuditEntry(
                ts=r["ts"],
                actor=r["actor"],
                actor_kind=r["actor_kind"],
                method=r["method"],
                params=load_stored(r["params"]),
                outcome=r["outcome"],
                error_code=r["error_code"],
                remote=r["remote"],
                connection_id=r["connection_id"],
                id=r["id"],
            )
            for r in rows
        ]
        return entries, int(total_row["n"]) if total_row else 0

    async def prune_audit(self, older_than: float) -> int:
        return await self.db.execute("DELETE FROM auth_audit WHERE ts < ?", (older_than,))


def now() -> float:
    return time.time()

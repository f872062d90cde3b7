"""Embedded SQLite (WAL) behind a narrow async interface, with versioned per-domain migrations.

aiosqlite runs every statement on its own thread, so the event loop never blocks on disk. Each domain
owns a list of migrations under its own name (`schema_migrations(domain, version)`), so domains evolve
their tables independently. Keep SQL inside the domain's store module so a PostgreSQL backend can later
implement the same store interfaces.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from camera_service.core.component import ComponentHealth

log = logging.getLogger("camera_service.storage")
# aiosqlite logs every statement WITH its parameters at DEBUG (webhook secrets, key hashes): never let
# that reach the log, whatever the service's log level (security: no secret in any log line).
logging.getLogger("aiosqlite").setLevel(logging.INFO)


@dataclass(frozen=True)
class Migration:
    version: int
    sql: str  # one or more statements, run in one transaction
    # Optional data step (e.g. encrypting existing rows), run after `sql` inside the same transaction on
    # the raw connection: a failure rolls the whole migration back and it is retried on the next start.
    run: Callable[[aiosqlite.Connection], Awaitable[None]] | None = None


class Database:
    name = "database"

    def __init__(self, path: Path, migrations: dict[str, Sequence[Migration]] | None = None) -> None:
        self.path = path
        self._migrations: dict[str, Sequence[Migration]] = dict(migrations or {})
        self._conn: aiosqlite.Connection | None = None
        # One shared connection: a statement run while another task's BEGIN..COMMIT is open would join
        # (and could be rolled back with) that transaction, and a second BEGIN fails. Writes take turns.
        self._write_lock = asyncio.Lock()

    def register(self, domain: str, migrations: Sequence[Migration]) -> None:
        """Add a domain's migrations; call before start()."""
        if domain in self._migrations:
            raise ValueError(f"migrations for {domain} registered twice")
        self._migrations[domain] = migrations

    def schema_versions(self) -> dict[str, int]:
        """The newest migration version of every registered domain: the schema this code reads."""
        return {d: max((m.version for m in migs), default=0) for d, migs in self._migrations.items()}

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = await aiosqlite.connect(self.path, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        await self._conn.execute("PRAGMA journal_mode=WAL")
        await self._conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across app crashes
        await self._conn.execute("PRAGMA foreign_keys=ON")
        await self._conn.execute("PRAGMA busy_timeout=5000")
        await self._conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (domain TEXT NOT NULL, version INTEGER NOT NULL, "
            "applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')), "
            "PRIMARY KEY(domain, version))"
        )
        for domain, migrations in self._migrations.items():
            await self._migrate(domain, migrations)

    async def _migrate(self, domain: str, migrations: Sequence[Migration]) -> None:
        conn = self.conn
        async with conn.execute(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE domain=?", (domain,)
        ) as cur:
            row = await cur.fetchone()
        current = int(row[0]) if row else 0
        for mig in sorted(migrations, key=lambda m: m.version):
            if mig.version <= current:
                continue
            await conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _split_sql(mig.sql):
                    await conn.execute(statement)
                if mig.run is not None:
                    await mig.run(conn)
                await conn.execute(
                    "INSERT INTO schema_migrations(domain, version) VALUES (?, ?)", (domain, mig.version)
                )
                await conn.execute("COMMIT")
            except Exception:
                await conn.execute("ROLLBACK")
                raise
            log.info("applied migration", extra={"domain": domain, "version": mig.version})

    async def stop(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    def health(self) -> ComponentHealth:
        return ComponentHealth(
            name=self.name,
            healthy=self._conn is not None,
            status="open" if self._conn else "closed",
            details={"path": str(self.path)},
        )

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not started")
        return self._conn

    async def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """Run one statement in autocommit; returns the number of changed rows."""
        async with self._write_lock, self.conn.execute(sql, params) as cur:
            return cur.rowcount

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self._write_lock:
            await self._execute_many(sql, rows)

    async def _execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self.conn.execute("BEGIN")
        try:
            await self.conn.executemany(sql, rows)
            await self.conn.execute("COMMIT")
        except Exception:
            await self.conn.execute("ROLLBACK")
            raise

    async def transaction(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Run several statements atomically."""
        async with self._write_lock:
            await self._transaction(statements)

    async def _transaction(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        await self.conn.execute("BEGIN IMMEDIATE")
        try:
            for sql, params in statements:
                await self.conn.execute(sql, params)
            await self.conn.execute("COMMIT")
        except Exception:
            await self.conn.execute("ROLLBACK")
            raise

    async def fetch_all(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        async with self.conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def fetch_one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Row | None:
        async with self.conn.execute(sql, params) as cur:
            row: sqlite3.Row | None = await cur.fetchone()
            return row


def _split_sql(sql: str) -> list[str]:
    return [s.strip() for s in sql.split(";") if s.strip()]

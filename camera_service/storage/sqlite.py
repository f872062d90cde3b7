"""Embedded SQLite (WAL): the default Database (camera_service/storage/database.py), one file under data_dir.

aiosqlite runs every statement on its own thread, so the event loop never blocks on disk.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

import aiosqlite

from camera_service.core.component import ComponentHealth
from camera_service.storage.database import (
    IntegrityError,
    Migration,
    MigrationSet,
    Params,
    Row,
    Tx,
    split_sql,
)

log = logging.getLogger("camera_service.storage")
# aiosqlite logs every statement WITH its parameters at DEBUG (webhook secrets, key hashes): never let
# that reach the log, whatever the service's log level (security: no secret in any log line).
logging.getLogger("aiosqlite").setLevel(logging.INFO)


class _SqliteTx:
    """Statements on the shared connection while SqliteDatabase.tx() holds its BEGIN..COMMIT."""

    dialect: Literal["sqlite"] = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        # No `async with` here: closing the cursor is one more hop to aiosqlite's thread per statement
        # (twice the time of a batch of writes); the finished cursor is freed with the object.
        try:
            cur = await self._conn.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc
        return cur.rowcount

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        try:
            async with self._conn.execute(sql, params) as cur:
                row: sqlite3.Row | None = await cur.fetchone()
                return row
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        try:
            async with self._conn.execute(sql, params) as cur:
                return list(await cur.fetchall())
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc


class SqliteDatabase:
    name = "database"
    dialect: Literal["sqlite"] = "sqlite"

    def __init__(self, path: Path, migrations: dict[str, Sequence[Migration]] | None = None) -> None:
        self.path = path
        self._migrations = MigrationSet(migrations)
        self._conn: aiosqlite.Connection | None = None
        # One shared connection: a statement run while another task's BEGIN..COMMIT is open would join
        # (and could be rolled back with) that transaction, and a second BEGIN fails. Writes take turns.
        self._write_lock = asyncio.Lock()

    def register(self, domain: str, migrations: Sequence[Migration]) -> None:
        self._migrations.register(domain, migrations)

    def schema_versions(self) -> dict[str, int]:
        return self._migrations.versions()

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
        for domain, migrations in self._migrations.by_domain.items():
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
                for statement in split_sql(mig.sql):
                    await conn.execute(statement)
                if mig.run is not None:
                    await mig.run(_SqliteTx(conn))
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
            details={"engine": "sqlite", "path": str(self.path)},
        )

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not started")
        return self._conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        try:
            async with self._write_lock, self.conn.execute(sql, params) as cur:
                return cur.rowcount
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc

    async def execute_many(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        async with self._write_lock:
            await self.conn.execute("BEGIN")
            try:
                await self.conn.executemany(sql, rows)
                await self.conn.execute("COMMIT")
            except sqlite3.IntegrityError as exc:
                await self.conn.execute("ROLLBACK")
                raise IntegrityError(str(exc)) from exc
            except Exception:
                await self.conn.execute("ROLLBACK")
                raise

    async def transaction(self, statements: Sequence[tuple[str, Sequence[object]]]) -> None:
        async with self.tx() as tx:
            for sql, params in statements:
                await tx.execute(sql, params)

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[Tx]:
        async with self._write_lock:
            conn = self.conn
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTx(conn)
                await conn.execute("COMMIT")
            except BaseException:
                await conn.execute("ROLLBACK")
                raise

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        async with self.conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        async with self.conn.execute(sql, params) as cur:
            row: sqlite3.Row | None = await cur.fetchone()
            return row

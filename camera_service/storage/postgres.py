"""PostgreSQL Database (camera_service/storage/database.py): psycopg 3 async with a psycopg-pool pool.

Chosen by `storage.database_url = postgresql://...` (docs/scale-out.md, ADR 0021). The
stores' SQL is translated by storage/dialect.py (`?` -> `%s`, SQLite column types in migrations).
Connections run in autocommit; `tx()`, `transaction` and `execute_many` open an explicit transaction.
Several instances may start at once on one database: migrations run under an advisory lock.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, Literal, cast

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import RowMaker
from psycopg_pool import AsyncConnectionPool

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
from camera_service.storage.dialect import ddl_for_postgres, qmark_to_pyformat

log = logging.getLogger("camera_service.storage")

# pg_advisory_lock key of the migration pass (any constant: "camsvc" in ASCII).
_MIGRATION_LOCK = 0x63616D737663
_SCHEMA_MIGRATIONS = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (domain TEXT NOT NULL, version BIGINT NOT NULL, "
    "applied_at TEXT NOT NULL DEFAULT to_char(now() AT TIME ZONE 'UTC', "
    '\'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"\'), PRIMARY KEY(domain, version))'
)


class PgRow:
    """A row by column name or position, like sqlite3.Row (the first column of a repeated name wins)."""

    __slots__ = ("_index", "_values")

    def __init__(self, values: Sequence[object], index: dict[str, int]) -> None:
        self._values = values
        self._index = index

    def __getitem__(self, key: int | str, /) -> Any:  # dynamically typed values, like sqlite3.Row
        if isinstance(key, str):
            return self._values[self._index[key]]
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._index)

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[object]:
        return iter(self._values)

    def __repr__(self) -> str:
        return f"PgRow({dict(zip(self._index, self._values, strict=False))!r})"


Connection = psycopg.AsyncConnection[PgRow]


def pg_row_factory(cursor: psycopg.AsyncCursor[PgRow]) -> RowMaker[PgRow]:
    index: dict[str, int] = {}
    for i, column in enumerate(cursor.description or ()):
        index.setdefault(column.name, i)
    return partial(PgRow, index=index)


def _args(params: Params) -> Sequence[object]:
    if not isinstance(params, Sequence):
        raise TypeError("named parameters are not portable: use ? placeholders")
    return params


class _PgTx:
    dialect: Literal["postgresql"] = "postgresql"

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        try:
            cur = await self._conn.execute(qmark_to_pyformat(sql), _args(params))
        except psycopg.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc
        return cur.rowcount

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        try:
            cur = await self._conn.execute(qmark_to_pyformat(sql), _args(params))
        except psycopg.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc
        row: PgRow | None = await cur.fetchone()
        return row

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        try:
            cur = await self._conn.execute(qmark_to_pyformat(sql), _args(params))
        except psycopg.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc
        return list(await cur.fetchall())


def describe(url: str) -> dict[str, str | int]:
    """Where a URL points, without its password (health details, logs)."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return {"engine": "postgresql"}
    found = {k: info.get(k) for k in ("host", "port", "dbname", "user")}
    return {"engine": "postgresql", **{k: v for k, v in found.items() if isinstance(v, str | int)}}


class PostgresDatabase:
    name = "database"
    dialect: Literal["postgresql"] = "postgresql"

    def __init__(
        self,
        url: str,
        migrations: dict[str, Sequence[Migration]] | None = None,
        *,
        pool_size: int = 10,
        connect_timeout_s: float = 30.0,
    ) -> None:
        self._url = url
        self._migrations = MigrationSet(migrations)
        self._pool_size = pool_size
        self._connect_timeout_s = connect_timeout_s
        self._pool: AsyncConnectionPool[Connection] | None = None

    def register(self, domain: str, migrations: Sequence[Migration]) -> None:
        self._migrations.register(domain, migrations)

    def schema_versions(self) -> dict[str, int]:
        return self._migrations.versions()

    async def start(self) -> None:
        # kwargs' row_factory makes every connection an AsyncConnection[PgRow]; the pool's type cannot see it.
        pool = cast(
            "AsyncConnectionPool[Connection]",
            AsyncConnectionPool(
                self._url,
                min_size=1,
                max_size=self._pool_size,
                open=False,
                name="camera-service",
                kwargs={"autocommit": True, "row_factory": pg_row_factory},
            ),
        )
        try:
            await pool.open(wait=True, timeout=self._connect_timeout_s)
        except Exception as exc:
            await pool.close()
            where = describe(self._url)
            raise RuntimeError(f"cannot connect to PostgreSQL at {where}: {exc}") from None
        self._pool = pool
        async with pool.connection() as conn:
            # One migrating instance at a time; the others then find the schema up to date.
            await conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
            try:
                await conn.execute(_SCHEMA_MIGRATIONS)
                for domain, migrations in self._migrations.by_domain.items():
                    await self._migrate(conn, domain, migrations)
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))

    async def _migrate(self, conn: Connection, domain: str, migrations: Sequence[Migration]) -> None:
        cur = await conn.execute(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE domain=%s", (domain,)
        )
        row = await cur.fetchone()
        current = int(row[0]) if row else 0
        for mig in sorted(migrations, key=lambda m: m.version):
            if mig.version <= current:
                continue
            async with conn.transaction():
                for statement in split_sql(mig.sql):
                    await conn.execute(ddl_for_postgres(statement))
                if mig.run is not None:
                    await mig.run(_PgTx(conn))
                await conn.execute(
                    "INSERT INTO schema_migrations(domain, version) VALUES (%s, %s)", (domain, mig.version)
                )
            log.info("applied migration", extra={"domain": domain, "version": mig.version})

    async def stop(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def health(self) -> ComponentHealth:
        details = describe(self._url)
        if self._pool is not None:
            stats = self._pool.get_stats()
            details |= {
                "pool_size": stats.get("pool_size", 0),
                "pool_available": stats.get("pool_available", 0),
            }
        return ComponentHealth(
            name=self.name,
            healthy=self._pool is not None,
            status="open" if self._pool is not None else "closed",
            details=details,
        )

    @property
    def pool(self) -> AsyncConnectionPool[Connection]:
        if self._pool is None:
            raise RuntimeError("database is not started")
        return self._pool

    async def execute(self, sql: str, params: Params = ()) -> int:
        async with self.pool.connection() as conn:
            return await _PgTx(conn).execute(sql, params)

    async def execute_many(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        async with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            try:
                await cur.executemany(qmark_to_pyformat(sql), list(rows))
            except psycopg.IntegrityError as exc:
                raise IntegrityError(str(exc)) from exc

    async def transaction(self, statements: Sequence[tuple[str, Sequence[object]]]) -> None:
        # Pipeline mode: every statement is sent without waiting for the one before (an event batch and
        # its outbox rows in one round trip, not one each; 10 updates x200 took 0.61 s instead of 1.51 s
        # here, alternating in one run).
        try:
            async with self.pool.connection() as conn, conn.transaction(), conn.pipeline():
                for sql, params in statements:
                    await conn.execute(qmark_to_pyformat(sql), _args(params))
        except psycopg.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[Tx]:
        async with self.pool.connection() as conn, conn.transaction():
            yield _PgTx(conn)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(qmark_to_pyformat(sql), _args(params))
            return list(await cur.fetchall())

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(qmark_to_pyformat(sql), _args(params))
            row: PgRow | None = await cur.fetchone()
            return row

"""The database port: what every store uses, implemented by SQLite (default) and PostgreSQL.

Stores write their SQL once, with `?` placeholders, and call `execute`, `execute_many`, `transaction`,
`fetch_all`, `fetch_one` or `tx()`. Each domain owns a list of migrations under its own name
(`schema_migrations(domain, version)`), written in the portable subset documented in
`camera_service/storage/dialect.py`; the PostgreSQL backend translates the few SQLite-only DDL words.
Rows answer `row["col"]`, `row[0]`, `keys()` and `dict(row)` on both engines.
Implementations: `storage/sqlite.py` (aiosqlite), `storage/postgres.py` (psycopg 3 + psycopg-pool);
`storage/factory.py` picks one from `storage.database_url`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from camera_service.core.component import ComponentHealth

Dialect = Literal["sqlite", "postgresql"]
Params = Sequence[object] | Mapping[str, object]


class IntegrityError(Exception):
    """A constraint (unique, primary key, foreign key, not null) refused a write, on either engine."""


class Row(Protocol):
    """One result row: by column name or position (sqlite3.Row on SQLite, PgRow on PostgreSQL)."""

    def __getitem__(self, key: int | str, /) -> Any: ...  # column values are dynamically typed
    def keys(self) -> list[str]: ...
    def __len__(self) -> int: ...


class Tx(Protocol):
    """Statements inside ONE open transaction (`async with db.tx() as tx`), committed when the block
    ends, rolled back when it raises. Statements may use RETURNING on both engines."""

    @property
    def dialect(self) -> Dialect: ...

    async def execute(self, sql: str, params: Params = ()) -> int: ...
    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None: ...
    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]: ...


@dataclass(frozen=True)
class Migration:
    version: int
    sql: str  # one or more statements (portable DDL, `;`-separated), run in one transaction
    # Optional data step (e.g. encrypting existing rows), run after `sql` inside the same transaction:
    # a failure rolls the whole migration back and it is retried on the next start.
    run: Callable[[Tx], Awaitable[None]] | None = None


class Database(Protocol):
    name: str

    @property
    def dialect(self) -> Dialect:
        """ "sqlite" or "postgresql": for the rare statement that differs (e.g. a SQLite PRAGMA)."""
        ...

    def register(self, domain: str, migrations: Sequence[Migration]) -> None:
        """Add a domain's migrations; call before start()."""
        ...

    def schema_versions(self) -> dict[str, int]:
        """The newest migration version of every registered domain: the schema this code reads."""
        ...

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    def health(self) -> ComponentHealth: ...

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement in autocommit; returns the number of changed rows."""
        ...

    async def execute_many(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        """One statement for each parameter row, all in one transaction."""
        ...

    async def transaction(self, statements: Sequence[tuple[str, Sequence[object]]]) -> None:
        """Run several statements atomically."""
        ...

    def tx(self) -> AbstractAsyncContextManager[Tx]:
        """One transaction; use only the yielded object inside the block (not the database itself)."""
        ...

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]: ...
    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None: ...


def split_sql(sql: str) -> list[str]:
    """A migration's statements (no `;` inside the DDL of this project's migrations)."""
    return [s.strip() for s in sql.split(";") if s.strip()]


class MigrationSet:
    """The registry both backends share: domain -> migrations."""

    def __init__(self, migrations: dict[str, Sequence[Migration]] | None = None) -> None:
        self.by_domain: dict[str, Sequence[Migration]] = dict(migrations or {})

    def register(self, domain: str, migrations: Sequence[Migration]) -> None:
        if domain in self.by_domain:
            raise ValueError(f"migrations for {domain} registered twice")
        self.by_domain[domain] = migrations

    def versions(self) -> dict[str, int]:
        return {d: max((m.version for m in migs), default=0) for d, migs in self.by_domain.items()}

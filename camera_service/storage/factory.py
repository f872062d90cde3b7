"""Builds the Database that `storage.database_url` names (the composition root and the CLIs call this).

psycopg is imported only for a postgresql:// URL, so the SQLite default never loads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from camera_service.storage.database import Database

if TYPE_CHECKING:
    from camera_service.config.sections import StorageConfig


def open_database(storage: StorageConfig) -> Database:
    """The configured database, not yet started (domains register their migrations, then start())."""
    url = storage.database_url.get_secret_value() if storage.database_url else None
    return database_for_url(url, default_path=storage.database_path, pool_size=storage.database_pool_size)


def database_for_url(url: str | None, *, default_path: Path | None = None, pool_size: int = 10) -> Database:
    """sqlite:///PATH, postgresql://... (or postgres://), or None for the SQLite file `default_path`."""
    if url and url.startswith(("postgresql://", "postgres://")):
        from camera_service.storage.postgres import PostgresDatabase

        return PostgresDatabase(url, pool_size=pool_size)
    from camera_service.storage.sqlite import SqliteDatabase

    if url and url.startswith("sqlite:///"):
        return SqliteDatabase(Path(url.removeprefix("sqlite:///")))
    if url or default_path is None:
        raise ValueError("database URL must start with sqlite:///, postgresql:// or postgres://")
    return SqliteDatabase(default_path)

"""Persistence: the Database port and its migrations (SQLite default, PostgreSQL optional)."""

from camera_service.storage.database import Database, IntegrityError, Migration

__all__ = ["Database", "IntegrityError", "Migration"]

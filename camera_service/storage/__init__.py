"""Persistence: the embedded database and its migrations."""

from camera_service.storage.database import Database, Migration

__all__ = ["Database", "Migration"]

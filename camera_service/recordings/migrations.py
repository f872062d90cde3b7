"""The recordings domain's tables (registered as "recordings" by RecordingsService; SQL in store.py).

Every change is a new numbered migration, in the portable subset storage/dialect.py documents.
"""

from __future__ import annotations

from camera_service.storage.database import Migration

MIGRATIONS = [
    Migration(
        1,
        """
CREATE TABLE rec_segments (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  camera TEXT NOT NULL, path TEXT NOT NULL UNIQUE, start REAL NOT NULL, duration_s REAL NOT NULL,
  size INTEGER NOT NULL, codec TEXT, width INTEGER, height INTEGER, kind TEXT NOT NULL DEFAULT 'continuous');
CREATE INDEX rec_segments_cam_start ON rec_segments(camera, start);
CREATE INDEX rec_segments_start ON rec_segments(start);
CREATE TABLE rec_clips (
  id TEXT PRIMARY KEY, camera TEXT NOT NULL, name TEXT NOT NULL, start REAL NOT NULL, "end" REAL NOT NULL,
  path TEXT NOT NULL, thumbnail TEXT, size INTEGER NOT NULL DEFAULT 0, duration_s REAL NOT NULL DEFAULT 0,
  codec TEXT, width INTEGER, height INTEGER, locked INTEGER NOT NULL DEFAULT 0,
  kind TEXT NOT NULL DEFAULT 'manual', created_at REAL NOT NULL);
CREATE INDEX rec_clips_cam ON rec_clips(camera, created_at);
CREATE TABLE rec_snapshots (
  id TEXT PRIMARY KEY, camera TEXT NOT NULL, path TEXT NOT NULL, format TEXT NOT NULL, width INTEGER NOT NULL,
  height INTEGER NOT NULL, size INTEGER NOT NULL, created_at REAL NOT NULL);
CREATE INDEX rec_snapshots_cam ON rec_snapshots(camera, created_at);
CREATE TABLE rec_sessions (
  id TEXT PRIMARY KEY, camera TEXT NOT NULL, started_at REAL NOT NULL, duration_s REAL, stop_at REAL,
  stopped_at REAL, stop_reason TEXT, requested_by TEXT);
CREATE INDEX rec_sessions_active ON rec_sessions(camera, stopped_at);
CREATE TABLE rec_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)
""",
    ),
    # Compat (issue 17): a client-chosen `filename` of a recording session (start_recording {filename}).
    Migration(
        2,
        """
CREATE TABLE rec_session_names (name TEXT PRIMARY KEY, session_id TEXT NOT NULL UNIQUE);
""",
    ),
    # Scale-out (issue 16): the instance that recorded a segment and its lease epoch on the camera (the
    # fencing token); both NULL on a single instance.
    Migration(
        3,
        """
ALTER TABLE rec_segments ADD COLUMN owner TEXT;
ALTER TABLE rec_segments ADD COLUMN epoch INTEGER
""",
    ),
    # Scale-out: the instance whose disk holds a clip or snapshot file (NULL on a single instance).
    Migration(
        4,
        """
ALTER TABLE rec_clips ADD COLUMN owner TEXT;
ALTER TABLE rec_snapshots ADD COLUMN owner TEXT
""",
    ),
]

"""Backup and restore of a data directory: the SQLite database (online backup API, consistent while the
service runs), the keys and secrets beside it, the config, and optionally the media files.

Archive layout (tar.gz, mode 0600 — it holds the keys):
  manifest.json              format, service version, schema version per domain, what is included
  database/camera-service.db the database copy
  data/...                   everything else under the data dir (secret.key, secrets/, download.key, ...)
  media/<root>/...           recordings, snapshots, clips (--with-media only)
  config/<file>, config/environment   the config file and the CAMERA_SERVICE_* variables in effect
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

FORMAT = 1
DB_MEMBER = "database/camera-service.db"
RUNTIME_DIRS = {"run"}  # per-run state (MediaMTX runtime config, pid files): never restored
DB_SUFFIXES = ("", "-wal", "-shm", "-journal")


class BackupError(Exception):
    """The backup cannot be made or restored; the message says why and what to do."""


@dataclass(frozen=True)
class Layout:
    """Where a service's data lives (from its settings)."""

    data_dir: Path
    database: Path
    media: Mapping[str, Path]  # recordings, snapshots, clips


def _schema(db: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        try:
            rows = conn.execute(
                "SELECT domain, MAX(version) FROM schema_migrations GROUP BY domain"
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{db} is not a camera-service database ({exc})") from exc
    return {str(d): int(v) for d, v in rows}


def _files(root: Path, skip: set[Path]) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if here / d not in skip)
        for name in sorted(filenames):
            path = here / name
            if path not in skip and path.is_file() and not path.is_symlink():
                yield path


def create_backup(
    layout: Layout,
    out: Path,
    *,
    with_media: bool,
    version: str,
    config_file: Path | None = None,
    environment: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Write the archive to `out` (atomically) and return its manifest."""
    if not layout.database.is_file():
        raise BackupError(f"no database at {layout.database} (is storage.data_dir right?)")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cs-backup-") as tmp:
        snapshot = Path(tmp) / "camera-service.db"
        # SQLite's online backup API: a consistent copy even while the service writes (WAL included).
        with (
            contextlib.closing(sqlite3.connect(layout.database)) as src,
            contextlib.closing(sqlite3.connect(snapshot)) as dst,
        ):
            src.backup(dst)
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "created_at": time.time(),
            "version": version,
            "schema": _schema(snapshot),
            "with_media": with_media,
            "media_roots": sorted(layout.media) if with_media else [],
        }
        skip = {layout.database.with_name(layout.database.name + s) for s in DB_SUFFIXES}
        skip |= {layout.data_dir / d for d in RUNTIME_DIRS} | {p.resolve() for p in layout.media.values()}
        skip |= {layout.data_dir / p.name for p in layout.media.values()}
        partial = out.with_name(out.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
            tar.addfile(info, io.BytesIO(data))
            tar.add(snapshot, DB_MEMBER)
            for path in _files(layout.data_dir, skip):
                if path.resolve() != out.resolve() and path != partial:
                    tar.add(path, f"data/{path.relative_to(layout.data_dir).as_posix()}")
            if with_media:
                for name, root in sorted(layout.media.items()):
                    if root.is_dir():
                        for path in _files(root, set()):
                            tar.add(path, f"media/{name}/{path.relative_to(root).as_posix()}")
            if config_file is not None and config_file.is_file():
                tar.add(config_file, f"config/{config_file.name}")
            env_text = "".join(f"{k}={v}\n" for k, v in sorted((environment or {}).items()))
            info = tarfile.TarInfo("config/environment")
            info.size, info.mtime, info.mode = len(env_text.encode()), int(time.time()), 0o600
            tar.addfile(info, io.BytesIO(env_text.encode()))
        partial.replace(out)
    return manifest


def read_manifest(archive: Path) -> dict[str, Any]:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile("manifest.json")
            if member is None:
                raise KeyError("manifest.json")
            manifest: dict[str, Any] = json.loads(member.read())
    except (OSError, tarfile.TarError, KeyError, json.JSONDecodeError) as exc:
        raise BackupError(f"{archive} is not a camera-service backup ({exc})") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(
            f"{archive}: unsupported backup format {manifest.get('format')!r} (expected {FORMAT})"
        )
    return manifest


def check_schema(backup: Mapping[str, int], supported: Mapping[str, int]) -> None:
    """Refuse a backup written by a newer camera-service: this one could not read its tables."""
    newer = [
        f"{domain} is at version {v}, this camera-service knows up to {supported.get(domain, 0)}"
        for domain, v in sorted(backup.items())
        if v > supported.get(domain, 0)
    ]
    if newer:
        raise BackupError(
            "the backup comes from a newer camera-service schema ("
            + "; ".join(newer)
            + "). Install that camera-service version (or newer), then restore."
        )


def _safe_target(name: str, prefix: str, root: Path) -> Path:
    rel = PurePosixPath(name).relative_to(prefix)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise BackupError(f"refusing unsafe path in the backup: {name}")
    return root / Path(*rel.parts)


def _target(member: tarfile.TarInfo, layout: Layout) -> Path | None:
    """Where an archive entry goes; None for entries that are not restored (manifest, config)."""
    if member.isdir():
        return None
    if not member.isfile():
        raise BackupError(f"refusing non-file entry in the backup: {member.name}")
    if member.name == DB_MEMBER:
        return layout.data_dir / ".restore-db.partial"
    if member.name.startswith("data/"):
        return _safe_target(member.name, "data", layout.data_dir)
    if member.name.startswith("media/"):
        parts = PurePosixPath(member.name).parts
        if len(parts) < 3 or parts[1] not in layout.media:
            raise BackupError(f"unknown media root in the backup: {member.name}")
        return _safe_target(member.name, f"media/{parts[1]}", layout.media[parts[1]])
    return None  # manifest and config: for the operator, never restored over the live config


def restore_backup(
    layout: Layout, archive: Path, *, supported: Mapping[str, int], force: bool = False
) -> dict[str, Any]:
    """Put the archive's database, keys and (if present) media back. The service must be stopped."""
    manifest = read_manifest(archive)
    check_schema(manifest.get("schema", {}), supported)
    existing = [layout.database.with_name(layout.database.name + s) for s in DB_SUFFIXES]
    if any(p.exists() for p in existing) and not force:
        raise BackupError(
            f"{layout.data_dir} already holds a database; stop the service and pass --force to replace it"
        )
    restored = 0
    with tarfile.open(archive, "r:gz") as tar:
        # Every entry is checked before anything is written: a refused archive changes nothing.
        plan = [(m, t) for m in tar.getmembers() if (t := _target(m, layout)) is not None]
        if not any(m.name == DB_MEMBER for m, _ in plan):
            raise BackupError(f"{archive} holds no database")
        layout.data_dir.mkdir(parents=True, exist_ok=True)
        for member, target in plan:
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            if source is None:
                raise BackupError(f"unreadable entry in the backup: {member.name}")
            with source, open(target, "wb") as dst:
                shutil.copyfileobj(source, dst)
            os.chmod(target, member.mode & 0o777)
            restored += 1
    for path in existing:
        path.unlink(missing_ok=True)
    (layout.data_dir / ".restore-db.partial").replace(layout.database)
    return {**manifest, "files_restored": restored}

"""Backup archives: what is refused (foreign archives, unsafe paths, newer schemas) and what is left out."""

from __future__ import annotations

import io
import json
import sqlite3
import tarfile
from pathlib import Path

import pytest

from camera_service.storage.backup import BackupError, Layout, check_schema, create_backup, restore_backup


def _layout(root: Path) -> Layout:
    media = {n: root / n for n in ("recordings", "snapshots", "clips")}
    return Layout(data_dir=root, database=root / "camera-service.db", media=media)


def _data_dir(root: Path) -> Layout:
    layout = _layout(root)
    root.mkdir(parents=True)
    with sqlite3.connect(layout.database) as conn:
        conn.execute("CREATE TABLE schema_migrations(domain TEXT, version INTEGER)")
        conn.execute("INSERT INTO schema_migrations VALUES ('events', 4), ('cameras', 1)")
    (root / "secret.key").write_text("k")
    (root / "run").mkdir()
    (root / "run" / "mediamtx.pid").write_text("1")
    (root / "recordings" / "cam").mkdir(parents=True)
    (root / "recordings" / "cam" / "seg.mp4").write_bytes(b"\0" * 10)
    return layout


def _names(archive: Path) -> set[str]:
    with tarfile.open(archive) as tar:
        return set(tar.getnames())


def test_backup_holds_database_keys_and_media_only_when_asked(tmp_path: Path) -> None:
    layout = _data_dir(tmp_path / "d")
    manifest = create_backup(layout, tmp_path / "a.tar.gz", with_media=False, version="t")
    assert manifest["schema"] == {"events": 4, "cameras": 1}
    names = _names(tmp_path / "a.tar.gz")
    assert {"manifest.json", "database/camera-service.db", "data/secret.key"} <= names
    assert not any(n.startswith(("data/run", "data/recordings", "media/")) for n in names)
    create_backup(layout, tmp_path / "m.tar.gz", with_media=True, version="t")
    assert "media/recordings/cam/seg.mp4" in _names(tmp_path / "m.tar.gz")


def test_restore_refuses_unsafe_paths_and_foreign_archives(tmp_path: Path) -> None:
    layout = _data_dir(tmp_path / "d")
    create_backup(layout, tmp_path / "a.tar.gz", with_media=False, version="t")
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(tmp_path / "a.tar.gz") as src, tarfile.open(evil, "w:gz") as dst:
        for member in src:
            dst.addfile(member, src.extractfile(member))
        info = tarfile.TarInfo("data/../../escaped")
        info.size = 1
        dst.addfile(info, io.BytesIO(b"x"))
    target = _layout(tmp_path / "t")
    with pytest.raises(BackupError, match="unsafe path"):
        restore_backup(target, evil, supported={"events": 4, "cameras": 1})
    assert not (tmp_path / "escaped").exists()
    assert not (tmp_path / "t" / "secret.key").exists()  # checked before anything was written

    foreign = tmp_path / "foreign.tar.gz"
    with tarfile.open(foreign, "w:gz") as tar:
        data = json.dumps({"hello": 1}).encode()
        info = tarfile.TarInfo("notes.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(BackupError, match="not a camera-service backup"):
        restore_backup(target, foreign, supported={})


def test_newer_schema_names_domain_and_versions() -> None:
    check_schema({"events": 4, "cameras": 1}, {"events": 4, "cameras": 2})  # older or equal: fine
    with pytest.raises(BackupError) as err:
        check_schema({"events": 5, "analytics": 1}, {"events": 4})
    assert "events is at version 5, this camera-service knows up to 4" in str(err.value)
    assert "analytics is at version 1, this camera-service knows up to 0" in str(err.value)

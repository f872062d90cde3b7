"""Encryption at rest of stored secrets (Fernet: AES-128-CBC + HMAC-SHA256, from `cryptography`).

Used for camera credentials and webhook signing secrets: values the service must read back in clear
(so they cannot be hashed) but that must not sit readable in the database files or backups. One key
serves all of them: `cameras.secret_key` (e.g. CAMERA_SERVICE_CAMERAS__SECRET_KEY) or, when unset,
<data_dir>/secret.key, created with 0600 permissions on first run.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

log = logging.getLogger("camera_service.storage")

KEY_FILE_NAME = "secret.key"
CONFIG_KEY = "cameras.secret_key"


class CredentialKeyError(RuntimeError):
    """The configured or stored key cannot be used."""


class DecryptError(Exception):
    """A stored secret could not be decrypted (the key changed or the data is corrupt)."""


def load_or_create_key(configured: SecretStr | None, data_dir: Path) -> bytes:
    if configured is not None:
        key = configured.get_secret_value().strip().encode()
        _check_key(key, CONFIG_KEY)
        return key
    path = data_dir / KEY_FILE_NAME
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes().strip()
        _check_key(key, str(path))
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning("tightening permissions of the at-rest key file", extra={"file": str(path)})
            path.chmod(0o600)
        return key
    key = Fernet.generate_key()
    with os.fdopen(fd, "wb") as f:
        f.write(key + b"\n")
    log.info("generated a new at-rest encryption key", extra={"file": str(path)})
    return key


def _check_key(key: bytes, origin: str) -> None:
    try:
        Fernet(key)
    except (ValueError, TypeError):
        raise CredentialKeyError(
            f"{origin}: not a valid Fernet key (32 url-safe base64-encoded bytes; "
            "generate one with `python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'`)"
        ) from None


class SecretBox:
    """Seals small JSON objects (credentials, a signing secret) into opaque Fernet tokens."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, data: dict[str, Any]) -> bytes | None:
        """Encrypt a small JSON object; None when there is nothing to store."""
        clean = {k: v for k, v in data.items() if v not in (None, "", {})}
        if not clean:
            return None
        return self._fernet.encrypt(json.dumps(clean, separators=(",", ":")).encode())

    def open(self, token: bytes | None) -> dict[str, Any]:
        if not token:
            return {}
        try:
            out: dict[str, Any] = json.loads(self._fernet.decrypt(token))
        except (InvalidToken, ValueError):
            raise DecryptError("stored credentials cannot be decrypted (was the key changed?)") from None
        return out


def lazy_box(configured: SecretStr | None, data_dir: Path) -> Callable[[], SecretBox]:
    """A SecretBox factory that loads (or creates) the key on first call and then reuses it."""
    return functools.cache(lambda: SecretBox(load_or_create_key(configured, data_dir)))

"""Encryption at rest of camera credentials (Fernet: AES-128-CBC + HMAC-SHA256, from `cryptography`).

The key comes from config (`cameras.secret_key`, e.g. via CAMERA_SERVICE_CAMERAS__SECRET_KEY) or from
<data_dir>/secret.key, created with 0600 permissions on first run.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

log = logging.getLogger("camera_service.cameras")

KEY_FILE_NAME = "secret.key"


class CredentialKeyError(RuntimeError):
    """The configured or stored key cannot be used."""


class DecryptError(Exception):
    """Stored credentials could not be decrypted (the key changed or the data is corrupt)."""


def load_or_create_key(configured: SecretStr | None, data_dir: Path) -> bytes:
    if configured is not None:
        key = configured.get_secret_value().strip().encode()
        _check_key(key, "cameras.secret_key")
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
            log.warning("tightening permissions of the credentials key file", extra={"file": str(path)})
            path.chmod(0o600)
        return key
    key = Fernet.generate_key()
    with os.fdopen(fd, "wb") as f:
        f.write(key + b"\n")
    log.info("generated a new credentials key", extra={"file": str(path)})
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

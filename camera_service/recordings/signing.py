"""Short-lived signed download URLs: HMAC-SHA256 over "<kind>/<path>\\n<expiry>[\\n<key id>]" with a
service-held key. A URL minted for an API key names it (`kid`, covered by the signature) so revoking the
key kills its URLs, and no URL outlives the identity that asked for it (security L17)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from urllib.parse import quote

from pydantic import SecretStr

KEY_FILE = "download.key"


def load_or_create_key(configured: SecretStr | None, data_dir: Path) -> bytes:
    """The configured key, else <data_dir>/download.key (created once, mode 0600)."""
    if configured is not None and configured.get_secret_value():
        return configured.get_secret_value().encode()
    path = data_dir / KEY_FILE
    if path.exists():
        return path.read_bytes().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


class UrlSigner:
    def __init__(self, key: bytes, ttl_s: int) -> None:
        self._key = key
        self.ttl_s = ttl_s

    def signature(self, kind: str, rel_path: str, expires: int, key_id: str = "") -> str:
        message = f"{kind}/{rel_path}\n{expires}" + (f"\n{key_id}" if key_id else "")
        mac = hmac.new(self._key, message.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def sign(
        self,
        kind: str,
        rel_path: str,
        now: float | None = None,
        *,
        key_id: str | None = None,
        not_after: float | None = None,
    ) -> str:
        """Path + query of a signed URL (relative to the public base URL). `key_id`: the API key it is
        minted for (revoking the key kills the URL); `not_after`: the identity's expiry (caps the URL's)."""
        expires = int((now if now is not None else time.time()) + self.ttl_s)
        if not_after is not None:
            expires = min(expires, int(not_after))
        sig = self.signature(kind, rel_path, expires, key_id or "")
        kid = f"&kid={quote(key_id, safe='')}" if key_id else ""
        return f"/downloads/{kind}/{quote(rel_path, safe='/')}?expires={expires}{kid}&sig={sig}"

    def verify(
        self, kind: str, rel_path: str, expires: str, sig: str, now: float | None = None, *, key_id: str = ""
    ) -> bool:
        try:
            exp = int(expires)
        except ValueError:
            return False
        if exp < (now if now is not None else time.time()):
            return False
        return hmac.compare_digest(self.signature(kind, rel_path, exp, key_id), sig)

"""The service's own MediaMTX credentials. One random reader password per run: its readers (snapshots,
probes, fps sampling, recording pulls) and its API client. Its own publishers (the demo camera, device
cameras MediaMTX runs) get a per-path publish password derived from a key kept in
<data_dir>/secrets/publish_key, so it is stable across restarts (an adopted MediaMTX keeps its device
commands) and one leaked password (a command line in `ps`) opens one path only. Built first in app.py:
cameras, recordings, MediaMTX and the security component all take it at construction."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from pathlib import Path
from urllib.parse import quote

from camera_service.config.sections import MediaMTXConfig
from camera_service.storage.secret_files import write_private

INTERNAL_USER = "camera-service"
INTERNAL_PUBLISHER = "camera-service-publisher"
PUBLISH_KEY_FILE = "publish_key"


def load_or_create_key(path: Path) -> bytes:
    """A 256-bit key kept in `path` (0600; created once)."""
    if path.exists():
        value = path.read_text().strip()
        if len(value) >= 43:
            return value.encode()
    value = secrets.token_urlsafe(32)
    write_private(path, value + "\n")
    return value.encode()


class InternalReaders:
    def __init__(self, mediamtx: MediaMTXConfig, *, enabled: bool, publish_key: bytes | None = None) -> None:
        self._mtx = mediamtx
        self.enabled = enabled  # False: security off, MediaMTX admits everyone (no credential)
        self.user = INTERNAL_USER
        self.password = secrets.token_urlsafe(24)
        self._publish_key = publish_key or secrets.token_bytes(32)

    @property
    def credentials(self) -> tuple[str, str] | None:
        """user, password for MediaMTX's API; None when security is off."""
        return (self.user, self.password) if self.enabled else None

    @property
    def _host(self) -> str:
        return "127.0.0.1" if self._mtx.host in ("0.0.0.0", "") else self._mtx.host

    def rtsp_url(self, path: str) -> str:
        """rtsp://user:pass@127.0.0.1:PORT/path for the service's OWN readers (read and playback only,
        never publish). Never log it, never hand it to a client."""
        if not self.enabled:
            return f"rtsp://{self._host}:{self._mtx.rtsp_port}/{path}"
        return f"rtsp://{self.user}:{quote(self.password, safe='')}@{self._host}:{self._mtx.rtsp_port}/{path}"

    # ---- the service's own publishers (security M7) ----------------------------------------------------
    def publish_password(self, path: str) -> str:
        digest = hmac.new(self._publish_key, b"publish\0" + path.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def is_publisher(self, path: str, user: str, password: str) -> bool:
        return hmac.compare_digest(user.encode(), INTERNAL_PUBLISHER.encode()) and hmac.compare_digest(
            password.encode(), self.publish_password(path).encode()
        )

    def publish_userinfo(self, path: str) -> str:
        """`user:password@` for publishing into `path` ("" when security is off)."""
        if not self.enabled:
            return ""
        return f"{INTERNAL_PUBLISHER}:{self.publish_password(path)}@"

    def publish_url(self, path: str) -> str:
        """rtsp://publisher:pass@127.0.0.1:PORT/path for the service's OWN publisher of `path`."""
        return f"rtsp://{self.publish_userinfo(path)}{self._host}:{self._mtx.rtsp_port}/{path}"

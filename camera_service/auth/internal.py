"""The service's own MediaMTX credential: its readers (snapshots, probes, fps sampling, recording pulls)
and its API client. One random password per run. Built first in app.py: cameras, recordings, MediaMTX
and the security component all take it at construction."""

from __future__ import annotations

import secrets
from urllib.parse import quote

from camera_service.config.sections import MediaMTXConfig

INTERNAL_USER = "camera-service"


class InternalReaders:
    def __init__(self, mediamtx: MediaMTXConfig, *, enabled: bool) -> None:
        self._mtx = mediamtx
        self.enabled = enabled  # False: security off, MediaMTX admits everyone (no credential)
        self.user = INTERNAL_USER
        self.password = secrets.token_urlsafe(24)

    @property
    def credentials(self) -> tuple[str, str] | None:
        """user, password for MediaMTX's API; None when security is off."""
        return (self.user, self.password) if self.enabled else None

    def rtsp_url(self, path: str) -> str:
        """rtsp://user:pass@127.0.0.1:PORT/path for the service's OWN readers. Never log it, never hand
        it to a client."""
        host = "127.0.0.1" if self._mtx.host in ("0.0.0.0", "") else self._mtx.host
        if not self.enabled:
            return f"rtsp://{host}:{self._mtx.rtsp_port}/{path}"
        return f"rtsp://{self.user}:{quote(self.password, safe='')}@{host}:{self._mtx.rtsp_port}/{path}"

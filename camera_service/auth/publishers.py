"""Publish credentials of publisher cameras (security M7).

Only a camera's configured source may publish into its MediaMTX path:
- `source: publisher` cameras: the credential an admin issued with `create_publish_url` (shown once;
  issuing again replaces it at once). 256 random bits, stored as SHA-256 only (like API keys: nothing to
  brute-force, so no slow hash), compared in constant time.
- the service's own publishers (demo camera, device cameras): a derived per-path password
  (`InternalReaders.publish_password`).
- pull cameras: nobody; MediaMTX pulls them itself. Paths of no camera: nobody.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from camera_service.auth.store import AuthStore
from camera_service.core.clock import Clock

PUBLISH_USER = "publisher"
SECRET_PREFIX = "csp_"  # noqa: S105 (a prefix, not a secret)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class PublishCredentials:
    def __init__(self, store: AuthStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._hashes: dict[str, str] = {}  # camera id -> SHA-256 of its credential
        self._issued = 0

    async def load(self) -> None:
        """(Re)read every credential (at start, then every few seconds: another instance sharing the
        database may issue one). A credential issued here meanwhile is not overwritten by an older read."""
        issued = self._issued
        stored = await self._store.publish_credentials()
        if issued == self._issued:
            self._hashes = stored

    async def issue(self, camera_id: str, *, created_by: str) -> str:
        """A new credential for `camera_id` (replaces the previous one). Shown once: never logged."""
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        digest = _hash(secret)
        await self._store.put_publish_credential(camera_id, digest, self._clock.time(), created_by)
        self._hashes[camera_id] = digest
        self._issued += 1
        return secret

    def matches(self, camera_id: str, secret: str) -> bool:
        """`secret` (the password, whatever the user name, or `?token=`) is `camera_id`'s credential."""
        stored = self._hashes.get(camera_id)
        if stored is None or not secret:
            return False
        return hmac.compare_digest(_hash(secret).encode(), stored.encode())

    def has(self, camera_id: str) -> bool:
        return camera_id in self._hashes

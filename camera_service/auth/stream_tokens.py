"""Short-lived viewer tokens that open exactly one camera's live and playback streams in MediaMTX.

Needs only the JWT signer, so it is built before the camera registry (whose compat results and pushes
carry tokens) and before the security component (which also hands them out: create_stream_token).
"""

from __future__ import annotations

from camera_service.auth.config import SecurityConfig
from camera_service.auth.identity import ANONYMOUS, Identity
from camera_service.auth.tokens import STREAM_TOKEN_TYPE, TokenVerifier
from camera_service.core.clock import Clock, SystemClock


class StreamTokens:
    def __init__(self, verifier: TokenVerifier, cfg: SecurityConfig, clock: Clock | None = None) -> None:
        self.verifier = verifier
        self.cfg = cfg
        self.clock: Clock = clock or SystemClock()

    def mint(self, identity: Identity | None, camera_id: str) -> tuple[str, float]:
        """(token, expiry): a viewer token for this camera only, never outliving `identity`."""
        identity = identity or ANONYMOUS
        ttl = self.cfg.stream_token_ttl_s
        if identity.expires_at is not None:
            ttl = max(1, min(ttl, int(identity.expires_at - self.clock.time())))
        token = self.verifier.mint(
            {"sub": identity.subject, "role": "viewer", "typ": STREAM_TOKEN_TYPE, "cameras": [camera_id]}, ttl
        )
        return token, self.clock.time() + ttl

"""What the security domain offers the others (typed; app.py passes the AuthService)."""

from __future__ import annotations

from typing import Protocol

from camera_service.auth.identity import Identity
from camera_service.auth.scopes import ScopedCamera


class StreamAccess(Protocol):
    """Live-view access for clients: the agency quota and short-lived stream tokens."""

    @property
    def enabled(self) -> bool: ...
    async def check_live_quota(self, camera: ScopedCamera) -> None: ...
    def stream_token(self, identity: Identity | None, camera_id: str) -> tuple[str, float]: ...


class TokenMinter(Protocol):
    """Signs access tokens with the service's JWT secret (users: console sign-in)."""

    def mint(self, claims: dict[str, object], ttl_s: float) -> str: ...

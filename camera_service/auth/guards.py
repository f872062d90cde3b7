"""The dispatcher guard: central enforcement of rate limits, authentication and each method's role.

Runs before parameters are parsed (after the inline-token params hook, auth/login.py), for every call,
in this order:
1. per-connection token bucket (so an unauthenticated flood is bounded too)        -> -32002
2. PUBLIC methods (ping, authenticate, rpc.discover) pass
3. no identity                                                                       -> -32001
4. expired identity or revoked API key: the identity is dropped from the connection -> -32001
5. per-identity token bucket (across that subject's connections)                    -> -32002
6. role below the method's declared role                                            -> -32003
7. a camera-scoped identity calling a method declared `scope=UNRESTRICTED`           -> -32003
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from camera_service.auth.ratelimit import KeyedBuckets, TokenBucket
from camera_service.auth.roles import Role
from camera_service.auth.scopes import unrestricted_required
from camera_service.core.errors import Forbidden, RateLimited, Unauthenticated
from camera_service.rpc.context import CallContext
from camera_service.rpc.registry import MethodSpec
from camera_service.rpc.scope import CameraScope

BUCKET_STATE = "auth.bucket"


def rate_limited(retry_after: float, scope: str) -> RateLimited:
    retry = math.ceil(retry_after * 1000) / 1000
    return RateLimited(
        f"Rate limit exceeded ({scope}); retry after {retry} s",
        {"retry_after_s": retry, "scope": scope},
    )


def auth_required(method: str, reason: str | None = None) -> Unauthenticated:
    msg = reason or (
        f"Authentication required for {method} - call authenticate, pass auth_token in params, "
        "or connect with a bearer token"
    )
    return Unauthenticated(msg, {"method": method})


class AuthGuard:
    def __init__(
        self,
        *,
        connection_bucket: Callable[[], TokenBucket],
        identity_buckets: KeyedBuckets,
        is_revoked: Callable[[str], bool],
        on_limited: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._connection_bucket = connection_bucket
        self._identity_buckets = identity_buckets
        self._is_revoked = is_revoked
        self._on_limited = on_limited
        self._clock = clock

    async def __call__(self, ctx: CallContext, spec: MethodSpec) -> None:
        conn = ctx.connection
        bucket = conn.state.get(BUCKET_STATE)
        if bucket is None:
            bucket = conn.state[BUCKET_STATE] = self._connection_bucket()
        wait = bucket.take()
        if wait:
            self._limited("connection")
            raise rate_limited(wait, "connection")
        if spec.role == Role.PUBLIC:
            return
        identity = conn.identity
        if identity is None:
            raise auth_required(spec.name)
        if identity.expires_at is not None and self._clock() >= identity.expires_at:
            conn.identity = None
            raise auth_required(spec.name, "Authentication expired - call authenticate again")
        if identity.key_id is not None and self._is_revoked(identity.key_id):
            conn.identity = None
            raise auth_required(spec.name, "API key revoked - call authenticate again")
        wait = self._identity_buckets.take(identity.subject)
        if wait:
            self._limited("identity")
            raise rate_limited(wait, "identity")
        if identity.role < spec.role:
            raise Forbidden(
                f"Insufficient permissions - {spec.role.label} role required for {spec.name}",
                {"required_role": spec.role.label, "role": identity.role.label, "method": spec.name},
            )
        if spec.scope is CameraScope.UNRESTRICTED and not identity.unrestricted:
            raise unrestricted_required(spec.name)

    def _limited(self, scope: str) -> None:
        if self._on_limited is not None:
            self._on_limited(scope)

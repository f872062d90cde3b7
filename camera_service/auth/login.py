"""Binding an identity to a connection: the `authenticate` method and inline tokens share one path.

Inline tokens (established protocol): a client may put `auth_token` (or `token`) in the params of ANY
call; the connection is authenticated with it, then the call runs as that identity. `InlineToken` is a
dispatcher params hook (camera_service/rpc/dispatcher.py), so it runs before the guard and before params
validation, in one place for every method. It takes only members the method's params model does not
declare (`authenticate` keeps its own `auth_token`/`token`; other methods keep rejecting any other unknown
member with -32602). A bad token answers -32001 (audited by the audit observer as an auth failure of that
call) and the call does not run.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from camera_service.auth.guards import rate_limited
from camera_service.auth.identity import Identity
from camera_service.auth.tokens import TokenError
from camera_service.core.errors import Unauthenticated, invalid_input
from camera_service.rpc.context import CallContext, ConnectionContext
from camera_service.rpc.registry import MethodSpec

if TYPE_CHECKING:
    from camera_service.auth.service import AuthService

AUTH_FAILED = "Authentication failed"
TOKEN_MEMBERS = ("auth_token", "token")  # in order of precedence, as `authenticate` reads them
MAX_TOKEN_CHARS = 16_384  # as AuthenticateParams
# (sha256 of the inline token, the identity it gave): a client that repeats its token on every call is
# not re-verified each time while the connection still holds that identity (the guard re-checks expiry
# and revocation on every call regardless).
INLINE_STATE = "auth.inline"


async def login(auth: AuthService, conn: ConnectionContext, token: str) -> Identity:
    """Authenticate `conn` with `token` (JWT or API key; stream tokens refused).

    Failures are throttled per client address (-32002 once over the limit) and answer -32001; success
    replaces the connection's identity (this connection only).
    """
    remote = conn.remote
    # Security L7: a throttled address may still present a valid token or key (256-bit secrets: the
    # throttle cannot protect them from guessing, so it only answers the failures); a bad one is -32002.
    wait = auth.auth_attempts.peek(remote)
    try:
        identity = await auth.authenticate_token(token, allow_stream=False)
    except TokenError as exc:
        if wait:
            raise rate_limited(wait, "auth_attempts") from None
        auth.auth_attempts.take(remote)
        auth.metrics.auth_events.labels("auth_failed").inc()
        # The documented message of the established protocol, exactly; the detail is in data.reason.
        raise Unauthenticated(AUTH_FAILED, {"reason": str(exc)}) from None
    conn.identity = identity
    auth.metrics.auth_events.labels("authenticated").inc()
    return identity


class InlineToken:
    """Dispatcher params hook: `auth_token`/`token` in any call's params authenticates the connection."""

    def __init__(self, auth: AuthService) -> None:
        self._auth = auth
        self._declared: dict[str, frozenset[str]] = {}

    def _declared_members(self, spec: MethodSpec) -> frozenset[str]:
        names = self._declared.get(spec.name)
        if names is None:
            fields = spec.params_model.model_fields
            names = frozenset(fields) | {f.alias for f in fields.values() if f.alias}
            self._declared[spec.name] = names
        return names

    async def __call__(self, ctx: CallContext, spec: MethodSpec, raw: Any) -> Any:
        if not isinstance(raw, dict):
            return raw
        declared = self._declared_members(spec)
        members = [m for m in TOKEN_MEMBERS if m in raw and m not in declared]
        if not members:
            return raw
        params = dict(raw)
        token: str | None = None
        for member in members:
            value = params.pop(member)
            if value is not None and not isinstance(value, str):
                raise invalid_input(member, f"{member} must be a string (a JWT or an API key)")
            if value is not None and len(value) > MAX_TOKEN_CHARS:
                raise invalid_input(member, f"{member} is longer than {MAX_TOKEN_CHARS} characters")
            token = token or value or None  # auth_token first, then token; empty means none
        if token is None:
            return params
        conn = ctx.connection
        digest = hashlib.sha256(token.encode()).digest()
        previous = conn.state.get(INLINE_STATE)
        if previous is not None and previous[0] == digest and conn.identity is previous[1]:
            return params
        identity = await login(self._auth, conn, token)
        conn.state[INLINE_STATE] = (digest, identity)
        return params

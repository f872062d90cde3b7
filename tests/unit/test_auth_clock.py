"""Token expiry on a simulated clock: JWT exp/nbf are judged by the injected clock (with the configured
leeway), and the auth guard drops an identity the moment it expires. No sleeping."""

from __future__ import annotations

import jwt
import pytest

from camera_service.auth.config import SecurityConfig
from camera_service.auth.guards import AuthGuard
from camera_service.auth.identity import Identity
from camera_service.auth.ratelimit import KeyedBuckets, TokenBucket
from camera_service.auth.roles import Role
from camera_service.auth.tokens import TokenError, TokenVerifier
from camera_service.core.errors import Unauthenticated
from camera_service.rpc.context import CallContext, ConnectionContext
from camera_service.rpc.registry import MethodRegistry, NoParams
from tests.harness.clock import FakeClock

SECRET = b"unit-test-secret-0123456789abcdef-0123456789abcdef"


def verifier(clock: FakeClock, leeway_s: float = 0.0) -> TokenVerifier:
    cfg = SecurityConfig(enabled=True, jwt_secret=SECRET.decode(), leeway_s=leeway_s)
    return TokenVerifier(cfg, SECRET, clock)


async def test_jwt_expiry_follows_the_injected_clock() -> None:
    clock = FakeClock(start=1_900_000_000.0)  # 2030: the real clock would call it not yet issued
    v = verifier(clock, leeway_s=2)
    token = v.mint({"sub": "alice", "role": "viewer"}, ttl_s=60)
    claims = await v.verify(token)
    assert claims["exp"] == 1_900_000_060 and claims["iat"] == 1_900_000_000
    await clock.advance(61)  # past exp, inside the leeway
    assert (await v.verify(token))["sub"] == "alice"
    await clock.advance(1.5)
    with pytest.raises(TokenError, match="token expired"):
        await v.verify(token)


async def test_nbf_and_malformed_times() -> None:
    clock = FakeClock(start=1_900_000_000.0)
    v = verifier(clock)
    later = jwt.encode({"sub": "a", "exp": 1_900_000_100, "nbf": 1_900_000_010}, SECRET, algorithm="HS256")
    with pytest.raises(TokenError, match="not yet valid"):
        await v.verify(later)
    await clock.advance(10)
    assert (await v.verify(later))["sub"] == "a"
    for bad in ("soon", True):
        token = jwt.encode({"sub": "a", "exp": 1_900_000_100, "nbf": bad}, SECRET, algorithm="HS256")
        with pytest.raises(TokenError):
            await v.verify(token)
    no_exp = jwt.encode({"sub": "a"}, SECRET, algorithm="HS256")
    with pytest.raises(TokenError, match="'exp'"):
        await v.verify(no_exp)


async def test_guard_drops_an_identity_when_it_expires() -> None:
    clock = FakeClock(start=1_900_000_000.0)
    guard = AuthGuard(
        connection_bucket=lambda: TokenBucket(1000, 1000),
        identity_buckets=KeyedBuckets(SecurityConfig().rate_limit_identity),
        is_revoked=lambda _key: False,
        clock=clock.time,
    )
    api = MethodRegistry()

    @api.method(role=Role.VIEWER)
    async def whoami(ctx: CallContext, params: NoParams) -> str:
        return "me"

    spec = api.get("whoami")
    assert spec is not None
    conn = ConnectionContext(remote="127.0.0.1")
    conn.identity = Identity(subject="bob", role=Role.VIEWER, expires_at=clock.time() + 30)
    ctx = CallContext(connection=conn, request_id="r1", method="whoami")
    await guard(ctx, spec)
    await clock.advance(29.5)
    await guard(ctx, spec)
    await clock.advance(0.5)
    with pytest.raises(Unauthenticated, match="expired"):
        await guard(ctx, spec)
    assert conn.identity is None

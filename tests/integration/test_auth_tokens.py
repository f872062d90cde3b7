"""Identities against the real server: bad tokens refused (-32001) and audited, identity per connection,
expiry and revocation re-checked per call, handshake bearer, auth timeout, limits, headers."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.harness.clock import JumpClock
from tests.harness.rpc_client import RpcCallError, RpcClient
from tests.harness.service import TEST_JWT_SECRET, RunningService

pytestmark = pytest.mark.integration

AUD = "camsvc-test"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs_manual(header: dict[str, Any], claims: dict[str, Any], key: bytes) -> str:
    head = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    return head + "." + _b64(hmac.new(key, head.encode(), hashlib.sha256).digest())


@pytest.fixture
def rsa_keys(tmp_path: Path) -> tuple[Any, Path, bytes]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    path = tmp_path / "pub.pem"
    path.write_bytes(pem)
    return private, path, pem


async def _expect_auth_error(client: RpcClient, token: str) -> None:
    with pytest.raises(RpcCallError) as err:
        await client.call("authenticate", {"auth_token": token})
    assert err.value.code == -32001, err.value


async def test_bad_tokens_refused_and_audited(
    service_factory: Any, rsa_keys: tuple[Any, Path, bytes]
) -> None:
    private, pub_path, pem = rsa_keys
    overrides = {"security": {"audience": AUD, "jwt_public_key": str(pub_path)}}
    async with service_factory(overrides=overrides) as svc:
        now = int(time.time())
        good = {"sub": "alice", "role": "viewer", "aud": AUD, "exp": now + 600}
        secret = TEST_JWT_SECRET.encode()
        admin_token = jwt.encode({**good, "sub": "root", "role": "admin"}, secret, algorithm="HS256")
        admin = await svc.client(None)
        await admin.call("authenticate", {"auth_token": admin_token})
        created = await admin.call("create_api_key", {"name": "soon-revoked", "role": "viewer"})
        await admin.call("revoke_api_key", {"key_id": created["key_id"]})

        bad = {
            "expired": jwt.encode({**good, "exp": now - 120}, secret, algorithm="HS256"),
            "not_yet_valid": jwt.encode({**good, "nbf": now + 3600}, secret, algorithm="HS256"),
            "wrong_signature": jwt.encode(good, "another-secret-that-is-32-bytes-long!!", algorithm="HS256"),
            "alg_none": _b64(b'{"alg":"none","typ":"JWT"}') + "." + _b64(json.dumps(good).encode()) + ".",
            "hs256_with_rs_public_key": _hs_manual({"alg": "HS256", "typ": "JWT"}, good, pem),
            "missing_exp": jwt.encode(
                {k: v for k, v in good.items() if k != "exp"}, secret, algorithm="HS256"
            ),
            "wrong_aud": jwt.encode({**good, "aud": "someone-else"}, secret, algorithm="HS256"),
            "revoked_api_key": created["key"],
            "random_32_chars": secrets.token_hex(16),
        }
        assert len(bad["random_32_chars"]) == 32
        probe = await svc.client(None)
        for name, token in bad.items():
            try:
                await _expect_auth_error(probe, token)
            except AssertionError as exc:
                raise AssertionError(f"{name}: {exc}") from exc
        # the same tokens at the handshake are refused before the upgrade
        with pytest.raises(InvalidStatus) as refused:
            await svc.client(None, additional_headers={"Authorization": f"Bearer {bad['alg_none']}"})
        assert refused.value.response.status_code == 401

        # positive controls: RS256 with the configured public key; HS256 with the secret
        rs = jwt.encode({**good, "sub": "rs-user"}, private, algorithm="RS256")
        assert (await probe.call("authenticate", {"token": rs}))["role"] == "viewer"
        assert (await probe.call("whoami"))["subject"] == "rs-user"

        audit = await admin.call("list_audit", {"method": "authenticate", "limit": 100})
        failures = [e for e in audit["entries"] if e["outcome"] == "auth_failed"]
        assert len(failures) == len(bad)
        assert all(e["params"].get("auth_token") == "***" for e in failures)
        dumped = json.dumps(audit)
        assert all(tok not in dumped for tok in bad.values())
        handshake = await admin.call("list_audit", {"method": "handshake"})
        assert handshake["total"] == 1 and handshake["entries"][0]["outcome"] == "auth_failed"


@pytest.fixture
async def clocked(service_factory: Any) -> AsyncIterator[tuple[RunningService, JumpClock]]:
    clock = JumpClock()  # token expiry is a jump of the service's clock, not a wait
    async with service_factory(clock=clock) as svc:
        yield svc, clock


async def test_identity_is_per_connection_and_rechecked(clocked: tuple[RunningService, JumpClock]) -> None:
    service, clock = clocked
    a = await service.client(None)
    b = await service.client(None)
    with pytest.raises(RpcCallError) as err:
        await a.call("get_status")
    assert err.value.code == -32001
    await b.call("authenticate", {"auth_token": service.token("admin", subject="bob")})
    assert (await b.call("whoami"))["subject"] == "bob"
    with pytest.raises(RpcCallError) as err:  # B's authentication changed nothing for A
        await a.call("get_status")
    assert err.value.code == -32001
    await a.call("authenticate", {"token": service.token("viewer", subject="ann")})
    assert (await a.call("whoami"))["role"] == "viewer"
    with pytest.raises(RpcCallError) as err:
        await a.call("list_api_keys")
    assert err.value.code == -32003 and err.value.data["required_role"] == "admin"
    assert (await b.call("list_api_keys"))["keys"] == []
    assert (await b.call("whoami"))["subject"] == "bob"

    # expiry is re-checked on every call (10 s: authenticate and whoami must fit in it on a loaded machine;
    # its end is a jump)
    short = await service.client(None)
    await short.call("authenticate", {"auth_token": service.token("viewer", ttl_s=10)})
    assert (await short.call("whoami"))["role"] == "viewer"
    # Security L8: a socket that only listens is dropped when its identity expires: pushes stop, and it is
    # closed (4001) if it does not authenticate again within auth_timeout_s. Both are the service's clock.
    listener = await connect(
        service.ws_url, additional_headers={"Authorization": f"Bearer {service.token('viewer', ttl_s=10)}"}
    )
    await listener.send('{"jsonrpc":"2.0","method":"subscribe_events","params":{"topics":["*"]},"id":1}')
    assert "result" in json.loads(await listener.recv())
    clock.jump(10.5)
    with pytest.raises(RpcCallError) as err:
        await short.call("whoami")
    assert err.value.code == -32001
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(15):
            while True:  # each jump passes auth_timeout_s once the expiry watch has begun waiting it out
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.2):
                        await listener.recv()
                clock.jump(31)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001

    # a revoked API key stops working on the connection's next call
    created = await b.call("create_api_key", {"name": "bot", "role": "operator"})
    bot = await service.client(None)
    assert (await bot.call("authenticate", {"auth_token": created["key"]}))["role"] == "operator"
    assert (await bot.call("whoami"))["kind"] == "api_key"
    listed = await b.call("list_api_keys")
    assert created["key"] not in json.dumps(listed)
    await b.call("revoke_api_key", {"key_id": created["key_id"]})
    with pytest.raises(RpcCallError) as err:
        await bot.call("whoami")
    assert err.value.code == -32001


async def test_transport_limits_and_headers(service_factory: Any) -> None:
    overrides = {
        "security": {
            "auth_timeout_s": 1.0,
            "max_connections_per_address": 4,
            "allowed_origins": ["https://ops.example"],
            "rate_limit_connection": {"per_second": 20, "burst": 20},
            "rate_limit_identity": {"per_second": 1000, "burst": 1000},
            "auth_attempts": {"per_second": 0.01, "burst": 3},
        }
    }
    async with service_factory(overrides=overrides) as svc:
        # unauthenticated connections are closed with 4001 after auth_timeout_s
        idle = await svc.client(None)
        await asyncio.wait_for(idle.ws.wait_closed(), 10)
        assert idle.ws.close_code == 4001
        assert idle.notifications.empty()  # nothing was pushed to it
        await idle.close()
        # Origin allow-list: a foreign browser origin is refused, the configured one accepted
        with pytest.raises(InvalidStatus) as refused:
            await svc.client("viewer", additional_headers={"Origin": "https://evil.example"})
        assert refused.value.response.status_code == 403
        ok = await svc.client("viewer", additional_headers={"Origin": "https://ops.example"})
        assert await ok.call("ping") == "pong"

        # flooding one connection gets it rate-limited; another client's calls all succeed
        flood = await svc.client("admin")  # subject test-admin
        calm = await svc.client("viewer")  # subject test-viewer
        replies = await asyncio.gather(*(flood.request("ping") for _ in range(200)))
        limited = [r for r in replies if r.get("error", {}).get("code") == -32002]
        assert limited and all(r["error"]["data"]["retry_after_s"] > 0 for r in limited)
        for _ in range(10):
            assert await calm.call("get_status")
            await asyncio.sleep(0.1)

        # max connections per client address (5 open now incl. ok, flood, calm -> 3; fill to 4)
        extra = await svc.client("viewer")
        with pytest.raises(InvalidStatus) as refused:
            await svc.client("viewer")
        assert refused.value.response.status_code == 429
        await extra.close()

        # failed authentications are throttled per address
        probe = await svc.client(None)
        codes = []
        for _ in range(5):
            try:
                await probe.call("authenticate", {"auth_token": "x" * 32})
            except RpcCallError as exc:
                codes.append(exc.code)
        assert codes[:3] == [-32001] * 3 and codes[3:] == [-32002] * 2

        # security headers on HTTP responses
        import aiohttp

        async with aiohttp.ClientSession() as s, s.get(svc.http_url + "/health/live") as resp:
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            assert resp.headers["X-Frame-Options"] == "DENY"
            assert "frame-ancestors" in resp.headers["Content-Security-Policy"]

"""Inline authentication (established protocol) over a real WebSocket: `auth_token` (or `token`) in the
params of any call authenticates the connection, then the call runs; a bad token is -32001 (audited) and
the call does not run; other unknown params are still -32602."""

from __future__ import annotations

import json

import pytest

from tests.harness.rpc_client import RpcCallError
from tests.harness.service import RunningService

pytestmark = pytest.mark.integration


async def test_inline_tokens_authenticate_the_connection(service: RunningService) -> None:
    admin = await service.client("admin")
    viewer_token = service.token("viewer", subject="inline-viewer")

    # Unauthenticated: refused without a token ...
    anon = await service.client(None)
    with pytest.raises(RpcCallError) as err:
        await anon.call("get_camera_list")
    assert err.value.code == -32001
    # ... and served with one; the connection stays authenticated for the next call.
    listing = await anon.call("get_camera_list", {"auth_token": viewer_token})
    assert listing["cameras"] == [] and listing["total"] == 0
    assert (await anon.call("whoami"))["subject"] == "inline-viewer"
    assert (await anon.call("get_camera_list", {"auth_token": viewer_token}))["total"] == 0  # repeated
    with pytest.raises(RpcCallError) as err:  # a viewer stays a viewer
        await anon.call("list_api_keys", {"auth_token": viewer_token})
    assert err.value.code == -32003

    # `token` works too, also on a public method; a new token replaces the identity.
    other = await service.client(None)
    assert await other.call("ping", {"token": service.token("operator", subject="inline-op")}) == "pong"
    assert (await other.call("whoami"))["role"] == "operator"
    await other.call("whoami", {"auth_token": viewer_token})
    assert (await other.call("whoami"))["subject"] == "inline-viewer"

    # A bad token: -32001, the call does not run, nothing is bound, and it is audited.
    bad = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJldmUifQ.not-a-valid-signature-at-all"
    probe = await service.client(None)
    with pytest.raises(RpcCallError) as err:
        await probe.call("create_event", {"type": "alarm.inline", "auth_token": bad})
    assert err.value.code == -32001 and "Authentication failed" in err.value.message
    with pytest.raises(RpcCallError) as err:
        await probe.call("whoami")
    assert err.value.code == -32001
    events = await admin.call("list_events", {"type": "alarm.inline"})
    assert events["events"] == []
    # A bad token on an authenticated connection also fails the call (the old identity stays).
    with pytest.raises(RpcCallError) as err:
        await anon.call("get_camera_list", {"token": bad})
    assert err.value.code == -32001
    assert (await anon.call("whoami"))["subject"] == "inline-viewer"

    audit = await admin.call("list_audit", {"method": "create_event"})
    failed = [e for e in audit["entries"] if e["outcome"] == "auth_failed"]
    assert len(failed) == 1 and failed[0]["error_code"] == -32001 and failed[0]["actor"] == "anonymous"
    audit = await admin.call("list_audit", {"method": "get_camera_list"})
    assert [e["outcome"] for e in audit["entries"]].count("auth_failed") >= 2  # no token, then bad token
    assert bad not in json.dumps(audit) and viewer_token not in json.dumps(audit)

    # Only auth_token/token are taken: other unknown members are still invalid params.
    with pytest.raises(RpcCallError) as err:
        await anon.call("get_camera_list", {"auth_token": viewer_token, "bogus": 1})
    assert err.value.code == -32602 and err.value.data["errors"][0]["field"] == "bogus"
    with pytest.raises(RpcCallError) as err:
        await anon.call("get_camera_list", {"bogus": 1})
    assert err.value.code == -32602
    with pytest.raises(RpcCallError) as err:  # not a string
        await probe.call("ping", {"auth_token": 42})
    assert err.value.code == -32602 and err.value.data["errors"][0]["field"] == "auth_token"

    # `authenticate` declares auth_token itself: handled by the method, not by the hook.
    fresh = await service.client(None)
    result = await fresh.call("authenticate", {"auth_token": viewer_token})
    assert result["authenticated"] is True and result["role"] == "viewer"

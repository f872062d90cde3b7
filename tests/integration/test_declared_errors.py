"""Every method, driven with bad and plausible-but-wrong input by three identities, answers only with
error codes it declares (or the envelope/auth codes any call can get), and never with -32603.

The methods and their params come from `rpc.discover`, so a method added later is covered without
touching this test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.harness.rpc_client import RpcClient
from tests.harness.service import RunningService, run_service, service_config

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

CAM = "declared-cam"  # exists, but nothing publishes it: calls on it get past "not found"
MISSING = "no-such-thing"
CAMERA = {"id": CAM, "name": "declared", "source": "rtsp://127.0.0.1:9/none"}

# Any call can get these: envelope, params validation (also `auth_token` of any call), an unknown or
# failed identity, rate limits. -32003 for a role below the method's is generic too (see the test).
GENERIC = {-32700, -32600, -32601, -32602, -32001, -32002}

# Not driven: they end the connection's identity or need a device on a network (ONVIF discovery
# sends multicast probes and waits for its timeout).
SKIP = {"discover_cameras"}


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _sample(name: str, schema: dict[str, Any], defs: dict[str, Any], depth: int = 0) -> Any:
    """A value of the right type that names nothing that exists (or the one test camera)."""
    schema = _resolve(schema, defs)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if _resolve(o, defs).get("type") != "null"]
            return _sample(name, options[0], defs, depth) if options else None
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "string":
        if schema.get("format") == "date-time":
            return "2026-01-01T00:01:00Z" if name == "end" else "2026-01-01T00:00:00Z"
        if name == "source" or schema.get("format") == "uri" or name == "url":
            return "rtsp://127.0.0.1:9/none" if name == "source" else "http://127.0.0.1:9/none"
        return CAM if name in ("camera", "device") else MISSING
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), int(schema.get("exclusiveMinimum", 0)) + 1)
    if kind == "number":
        return max(float(schema.get("minimum", 1.0)), 1.0)
    if kind == "boolean":
        return False
    if kind == "array":
        item = _sample(name, schema.get("items", {}), defs, depth + 1) if depth < 3 else None
        return [] if item is None else [item] * max(1, int(schema.get("minItems", 1)))
    if kind == "object" or "properties" in schema:
        if depth >= 3:
            return {}
        required = schema.get("required", [])
        return {
            k: _sample(k, v, defs, depth + 1)
            for k, v in schema.get("properties", {}).items()
            if k in required
        }
    return MISSING


def _variants(method: dict[str, Any], defs: dict[str, Any]) -> list[Any]:
    params = method["params"]
    required = {p["name"]: _sample(p["name"], p["schema"], defs) for p in params if p["required"]}
    every = {p["name"]: _sample(p["name"], p["schema"], defs) for p in params}
    # Required plus one optional member at a time: gets past "give exactly one of id or filename".
    one_more = [{**required, p["name"]: every[p["name"]]} for p in params if not p["required"]]
    out: list[Any] = [{}, {"unknown_member": 1}, required, every, *one_more, ["positional"] * 20]
    missing_cam = [
        {k: (MISSING if v == CAM else v) for k, v in v.items()} for v in out if isinstance(v, dict)
    ]
    return out + [v for v in missing_cam if v not in out]


class Env:
    def __init__(self, service: RunningService, doc: dict[str, Any]) -> None:
        self.service = service
        self.doc = doc


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    tmp = tmp_path_factory.mktemp("declared-errors")
    # Short waits: a snapshot or export of the unpublished camera fails fast.
    overrides = {"recordings": {"snapshot_timeout_s": 1.0, "export_timeout_s": 1.0}}
    async with run_service(service_config(tmp / "svc", overrides=overrides)) as service:
        admin = await service.client()
        await admin.call("add_camera", CAMERA)
        doc = await admin.call("rpc.discover")
        await admin.close()
        yield Env(service, doc)


RANK = {"public": 0, "viewer": 1, "operator": 2, "admin": 3}

IDENTITIES: dict[str, tuple[str | None, dict[str, list[str]] | None]] = {
    "admin": ("admin", None),
    "scoped-admin": ("admin", {"cameras": ["somewhere-else"]}),
    "viewer": ("viewer", None),
    "anonymous": (None, None),
}


async def _drive(env: Env, who: str) -> list[str]:
    role, scopes = IDENTITIES[who]
    defs = env.doc["components"]["schemas"]
    problems: list[str] = []
    for method in env.doc["methods"]:
        name = method["name"]
        if name in SKIP or RANK[method["x-role"]] > RANK[role or "public"]:
            continue  # above the caller's role: only -32001/-32003 (test_dispatcher, test_auth_matrix)
        declared = {e["code"] for e in method.get("errors", [])}
        client: RpcClient = await env.service.client(role, scopes=scopes)
        try:
            for params in _variants(method, defs):
                reply = await client.request(name, params, timeout=60)
                err = reply.get("error")
                if err is None:
                    continue
                code, data = err["code"], err.get("data") or {}
                role_denied = code == -32003 and "required_role" in data and "reason" not in data
                if code in GENERIC or code in declared or (role_denied and method["x-role"] != "public"):
                    continue
                problems.append(f"{name} as {who} with {params!r}: undeclared {code} {err['message']!r}")
        finally:
            await client.close()
        await _ensure_camera(env)  # remove_camera may have succeeded
    return problems


async def _ensure_camera(env: Env) -> None:
    admin = await env.service.client()
    try:
        cameras = await admin.call("list_cameras", {})
        if CAM not in {c["id"] for c in cameras["cameras"]}:
            await admin.call("add_camera", CAMERA)
    finally:
        await admin.close()


@pytest.mark.parametrize("who", list(IDENTITIES))
async def test_every_method_answers_only_declared_errors(env: Env, who: str) -> None:
    assert len(env.doc["methods"]) > 60  # the whole API is driven, not an empty list
    problems = await _drive(env, who)
    assert problems == [], "\n".join(problems)

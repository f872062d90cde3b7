"""Forwarding camera-local calls to the camera's owner (several instances).

PTZ, snapshots, probes and on-demand recording act on the camera's MediaMTX path or device connection,
which only its owner has. Any instance accepts such a call, checks the caller's role and scope as
usual (the dispatcher's guards ran), then, if another instance owns the camera, sends the same call to
the owner's advertised WebSocket and returns its answer (result or error) unchanged. The owner checks
again: the call carries a short-lived JWT of the caller's own identity (subject, role, scope) signed
with the shared `security.jwt_secret`, so forwarding never widens what a caller may do.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Callable

import aiohttp
import orjson

from camera_service.auth.identity import Identity
from camera_service.cluster.routing import Directory
from camera_service.core.errors import CameraUnavailable, DomainError
from camera_service.core.types import JsonObject, JsonValue
from camera_service.rpc.context import CallContext
from camera_service.rpc.errors import RpcError
from camera_service.rpc.registry import MethodSpec

log = logging.getLogger("camera_service.cluster.forward")

# Methods whose work happens where the camera's path or device connection lives.
CAMERA_LOCAL = frozenset(
    {
        "ptz",
        "start_patrol",
        "stop_patrol",
        "take_snapshot",
        "probe_camera",
        "start_recording",
        "stop_recording",
        "get_recording_status",  # the recorder's live state (session, policy) is the owner's
    }
)
_CAMERA_KEYS = ("camera", "camera_id", "device")
FORWARD_TOKEN_TTL_S = 60.0


def identity_claims(identity: Identity) -> dict[str, object]:
    """JWT claims that authenticate as `identity` on another instance (same subject, role, scope)."""
    claims: dict[str, object] = {"sub": identity.subject, "role": identity.role.label}
    if identity.scope_claimed:
        # Every list, empty ones too: a scope claim with empty lists means no camera, never all.
        for name in ("cameras", "groups", "tags", "agencies"):
            claims[name] = sorted(getattr(identity, name))
    else:
        claims.update(identity.scope_dict())
    return claims


def camera_param(spec: MethodSpec, raw: JsonValue) -> str | None:
    if isinstance(raw, list):
        raw = dict(zip(spec.positional_fields, raw, strict=False))
    if not isinstance(raw, dict):
        return None
    for key in _CAMERA_KEYS:
        value = raw.get(key)
        if isinstance(value, str):
            return value
    return None


class OwnerForwarder:
    def __init__(
        self,
        directory: Directory,
        *,
        resolve: Callable[[str], str],
        mint: Callable[[Identity], str] | None,
        timeout_s: float = 30.0,
        methods: frozenset[str] = CAMERA_LOCAL,
    ) -> None:
        """`resolve`: a camera id or compat name -> our id; `mint`: a token for an identity (None:
        security is off, calls go without credentials)."""
        self.directory = directory
        self.resolve = resolve
        self.mint = mint
        self.timeout_s = timeout_s
        self.methods = methods
        self.forwarded = 0
        self._ids = itertools.count(1)

    async def __call__(self, ctx: CallContext, spec: MethodSpec, raw: JsonValue) -> orjson.Fragment | None:
        if spec.name not in self.methods:
            return None
        camera = camera_param(spec, raw)
        if camera is None:
            return None
        try:
            camera_id = self.resolve(camera)
        except DomainError:
            return None  # the local handler answers NOT_FOUND
        owner = self.directory.owner(camera_id)
        if owner is None or owner.id == self.directory.me.id:
            return None
        headers: dict[str, str] = {}
        identity = ctx.connection.identity
        if self.mint is not None and identity is not None:
            headers["Authorization"] = f"Bearer {self.mint(identity)}"
        req_id = next(self._ids)
        body: JsonObject = {"jsonrpc": "2.0", "id": req_id, "method": spec.name, "params": raw}
        try:
            async with asyncio.timeout(self.timeout_s):
                reply = await self._send(owner.ws_url, headers, body, req_id)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            log.warning("forward to %s failed: %s", owner.id, exc, extra={"camera": camera_id})
            raise CameraUnavailable(
                f"the instance that owns camera '{camera_id}' is not reachable",
                {"camera": camera_id, "owner": owner.id},
            ) from None
        self.forwarded += 1
        error = reply.get("error")
        if isinstance(error, dict):
            code = error.get("code")
            data = error.get("data")
            raise RpcError(
                int(code) if isinstance(code, int) else -32603,
                str(error.get("message", "")),
                data if isinstance(data, dict) else None,
            )
        # Pre-encoded: the owner already shaped the result by the method's model.
        return orjson.Fragment(orjson.dumps(reply.get("result")))

    @staticmethod
    async def _send(url: str, headers: dict[str, str], body: JsonObject, req_id: int) -> JsonObject:
        async with aiohttp.ClientSession() as session, session.ws_connect(url, headers=headers) as ws:
            await ws.send_str(json.dumps(body))
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                reply = json.loads(msg.data)
                if isinstance(reply, dict) and reply.get("id") == req_id:
                    return reply
        raise aiohttp.ClientError("connection closed before the reply")

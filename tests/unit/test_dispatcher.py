"""The dispatcher on fakes (no socket, no service): envelopes, batches, params, the mapping of domain
and MediaMTX errors, internal errors, guards and observers. Table-driven: microseconds per case."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, Field

from camera_service.auth.roles import Role
from camera_service.core.errors import Forbidden, NotFound, conflict
from camera_service.mediamtx.errors import MediaMTXUnavailable
from camera_service.rpc.context import CallContext, ConnectionContext
from camera_service.rpc.dispatcher import Dispatcher
from camera_service.rpc.errors import RpcError
from camera_service.rpc.registry import MethodRegistry, MethodSpec, Params


class EchoParams(Params):
    text: str = Field(description="Echoed.")
    times: int = Field(1, ge=1, le=3, description="How often.")


class Echoed(BaseModel):
    text: str


def build() -> tuple[Dispatcher, list[tuple[str, int | None]]]:
    api = MethodRegistry()

    @api.method(role=Role.PUBLIC)
    async def echo(ctx: CallContext, params: EchoParams) -> Echoed:
        """Echo."""
        return Echoed(text=params.text * params.times)

    @api.method(role=Role.PUBLIC)
    async def missing(ctx: CallContext) -> str:
        """A domain NotFound."""
        raise NotFound("thing 'x' not found", {"resource": "thing", "id": "x"})

    @api.method(role=Role.PUBLIC)
    async def busy(ctx: CallContext) -> str:
        """A domain Conflict built by the helper."""
        raise conflict("exists", "already there", id="x")

    @api.method(role=Role.PUBLIC)
    async def mtx_down(ctx: CallContext) -> str:
        """MediaMTX unreachable."""
        raise MediaMTXUnavailable("connection refused to rtsp://u:secret@h/")

    @api.method(role=Role.PUBLIC)
    async def crash(ctx: CallContext) -> str:
        """An unexpected exception."""
        raise RuntimeError("secret detail")

    @api.method(role=Role.PUBLIC)
    async def legacy(ctx: CallContext) -> str:
        """An RpcError raised directly (handlers may)."""
        raise RpcError(-32013, "not now", {"reason": "later"})

    @api.method(role=Role.ADMIN)
    async def guarded(ctx: CallContext) -> str:
        """Behind the fake guard."""
        return "ran"

    seen: list[tuple[str, int | None]] = []

    async def guard(ctx: CallContext, spec: MethodSpec) -> None:
        if spec.role is Role.ADMIN:
            raise Forbidden("admin only", {"required_role": "admin"})

    def observer(
        ctx: CallContext, spec: MethodSpec, params: BaseModel | None, error: RpcError | None
    ) -> None:
        seen.append((spec.name, error.code if error else None))

    dispatcher = Dispatcher(
        api,
        max_batch_size=3,
        guards=[guard],
        observers=[observer],
    )
    return dispatcher, seen


async def call(dispatcher: Dispatcher, msg: Any) -> Any:
    raw = msg if isinstance(msg, str) else json.dumps(msg)
    reply = await dispatcher.handle(raw, ConnectionContext(remote="test"))
    return None if reply is None else json.loads(reply)


def req(method: str, params: Any = None, id_: Any = 1) -> dict[str, Any]:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": id_}
    if params is not None:
        msg["params"] = params
    return msg


@pytest.mark.parametrize(
    ("msg", "code", "data"),
    [
        ('{"jsonrpc": "2.0", "method"', -32700, None),
        ("[]", -32600, None),
        ([req("echo", {"text": "a"}, i) for i in range(4)], -32600, {"max_batch_size": 3, "size": 4}),
        ({"jsonrpc": "1.0", "method": "echo", "id": 1}, -32600, None),
        ({"jsonrpc": "2.0", "method": 5, "id": 1}, -32600, None),
        ({"jsonrpc": "2.0", "method": "echo", "params": "x", "id": 1}, -32600, None),
        ({"jsonrpc": "2.0", "method": "echo", "id": 1, "extra": 1}, -32600, None),
        (req("nope"), -32601, {"method": "nope"}),
        (req("echo", {}), -32602, None),
        (req("echo", {"text": "a", "times": 9}), -32602, None),
        (req("echo", {"text": "a", "zzz": 1}), -32602, None),
        (req("echo", ["a", 1, "too many"]), -32602, None),
        (req("missing"), -32004, {"resource": "thing", "id": "x"}),
        (req("busy"), -32005, {"reason": "exists", "id": "x"}),
        (req("mtx_down"), -32006, {"upstream": "mediamtx"}),
        (req("legacy"), -32013, {"reason": "later"}),
        (req("guarded"), -32003, {"required_role": "admin"}),
    ],
)
async def test_errors(msg: Any, code: int, data: dict[str, Any] | None) -> None:
    dispatcher, _ = build()
    reply = await call(dispatcher, msg)
    err = reply["error"]
    assert err["code"] == code and isinstance(err["message"], str) and err["message"], reply
    if data is not None:
        assert err["data"] == data
    assert "secret" not in json.dumps(reply)


async def test_params_by_name_and_by_position_and_ids_echoed_exactly() -> None:
    dispatcher, _ = build()
    assert (await call(dispatcher, req("echo", {"text": "ab", "times": 2}, 2**70)))["result"] == {
        "text": "abab"
    }
    reply = await call(dispatcher, req("echo", ["x", 3], "id-ü"))
    assert reply == {"jsonrpc": "2.0", "result": {"text": "xxx"}, "id": "id-ü"}
    field = (await call(dispatcher, req("echo", {"text": "a", "times": 9})))["error"]["data"]["errors"][0]
    assert field["field"] == "times" and field["type"] == "less_than_equal"


async def test_notifications_get_no_reply_and_batches_keep_only_requests() -> None:
    dispatcher, seen = build()
    assert await call(dispatcher, {"jsonrpc": "2.0", "method": "echo", "params": {"text": "a"}}) is None
    batch = [req("echo", {"text": "a"}, 1), {"jsonrpc": "2.0", "method": "missing"}, req("missing", None, 3)]
    replies = await call(dispatcher, batch)
    assert [r["id"] for r in replies] == [1, 3] and replies[1]["error"]["code"] == -32004
    assert ("missing", -32004) in seen  # the notification ran (and failed) too: observers see it


async def test_internal_error_hides_the_exception_and_observers_see_every_outcome() -> None:
    dispatcher, seen = build()
    err = (await call(dispatcher, req("crash")))["error"]
    assert err["code"] == -32603 and set(err["data"]) == {"request_id"}
    assert err["message"] == "Internal error"
    await call(dispatcher, req("echo", {"text": "a"}))
    await call(dispatcher, req("guarded"))
    assert seen == [("crash", -32603), ("echo", None), ("guarded", -32003)]

"""A spec-exact JSON-RPC 2.0 dispatcher over pydantic models (see docs/adr/0001-own-dispatcher.md).

Parsing, validation, batches, notifications and error mapping live here; transports hand it raw text
and send back whatever bytes it returns (None: nothing to send).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Literal, TypedDict, TypeGuard

import orjson
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from camera_service.core.errors import DomainError
from camera_service.core.types import JsonObject, JsonValue
from camera_service.mediamtx.errors import MediaMTXError
from camera_service.observability.logging import request_id_var
from camera_service.observability.rpc_metrics import MethodStats
from camera_service.rpc.context import CallContext, ConnectionContext, ScopeResolver
from camera_service.rpc.errors import ErrorCode, RpcError, to_rpc_error
from camera_service.rpc.registry import MethodRegistry, MethodSpec, call

if TYPE_CHECKING:
    from camera_service.observability.metrics import Metrics

log = logging.getLogger("camera_service.rpc")

_MISSING = object()  # an absent `id` (a notification), unlike `"id": null`
_REQUEST_KEYS = frozenset({"jsonrpc", "method", "params", "id"})

# A guard runs before the handler (authentication, authorization, rate limits) and may raise a
# core.errors.DomainError (mapped by rpc/errors.py like any handler's).
Guard = Callable[[CallContext, MethodSpec], Awaitable[None]]
# A params hook runs first, before the guards and before params validation: it sees the raw params and
# returns the params to validate (e.g. without a member it consumed); it may raise a DomainError, and then the
# call does not run. The auth component registers one that takes `auth_token`/`token` out of any call's
# params and authenticates the connection with it (the established protocol's inline authentication).
ParamsHook = Callable[[CallContext, MethodSpec, JsonValue], Awaitable[JsonValue]]
# A forwarder runs after the guards and params validation: it may answer the call elsewhere (several
# instances: camera-local work runs on the camera's owner, camera_service/cluster/forward.py) and return
# the result pre-encoded, or return None to run the handler here. It may raise an RpcError or a DomainError.
Forwarder = Callable[[CallContext, MethodSpec, JsonValue], Awaitable[orjson.Fragment | None]]
# An observer sees every finished call (audit): (ctx, spec, params, error or None).
Observer = Callable[[CallContext, MethodSpec, BaseModel | None, RpcError | None], None]


RequestId = str | int | float | None


class ResultReply(TypedDict):
    jsonrpc: Literal["2.0"]
    result: JsonValue | orjson.Fragment  # a Fragment: pre-encoded JSON (rpc.discover)
    id: RequestId


class ErrorReply(TypedDict):
    jsonrpc: Literal["2.0"]
    error: JsonObject
    id: RequestId


Reply = ResultReply | ErrorReply
# What `invoke` returns: the JSON-ready result, or the error to send.
Outcome = JsonValue | orjson.Fragment | RpcError


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


# stdlib json, not orjson: orjson turns integers beyond 64 bits into floats, and ids must be echoed
# exactly. NaN/Infinity are not JSON and are refused. One decoder, built once (hot path).
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def loads(raw: str | bytes) -> JsonValue:
    value: JsonValue = _DECODER.decode(raw.decode() if isinstance(raw, bytes) else raw)
    return value


def _fragment_default(obj: object) -> JsonValue:
    if isinstance(obj, orjson.Fragment):
        value: JsonValue = orjson.loads(obj.contents)
        return value
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def dumps(obj: object) -> bytes:
    """Encode JSON-ready data (JSON values, reply envelopes, orjson Fragments inside them)."""
    try:
        return orjson.dumps(obj)
    except TypeError:
        return json.dumps(obj, separators=(",", ":"), default=_fragment_default).encode()


def encode_notification(method: str, params: BaseModel | JsonValue) -> bytes:
    """A server-to-client JSON-RPC notification, encoded once (broadcasts reuse the bytes)."""
    body = params.model_dump(mode="json") if isinstance(params, BaseModel) else params
    return dumps({"jsonrpc": "2.0", "method": method, "params": body})


def _valid_id(value: object) -> TypeGuard[RequestId]:
    return value is None or (isinstance(value, (str, int, float)) and not isinstance(value, bool))


def _error(req_id: RequestId, err: RpcError) -> ErrorReply:
    return {"jsonrpc": "2.0", "error": err.to_dict(), "id": req_id}


def _field_errors(exc: ValidationError) -> list[ErrorDetails]:
    # include_input=False: the input may hold secrets (passwords, tokens).
    return exc.errors(include_url=False, include_input=False, include_context=False)


def _field(error: ErrorDetails) -> str:
    return ".".join(str(p) for p in error["loc"]) or "params"


def validation_error_data(exc: ValidationError) -> JsonObject:
    return {
        "errors": [{"field": _field(e), "message": e["msg"], "type": e["type"]} for e in _field_errors(exc)]
    }


class Dispatcher:
    def __init__(
        self,
        registry: MethodRegistry,
        *,
        max_batch_size: int,
        metrics: Metrics | None = None,
        guards: Sequence[Guard] = (),
        observers: Sequence[Observer] = (),
        params_hooks: Sequence[ParamsHook] = (),
        scope_resolver: ScopeResolver | None = None,
        batch_limit: Callable[[ConnectionContext], int] | None = None,
        forwarders: Sequence[Forwarder] = (),
    ) -> None:
        self.registry = registry
        self.forwarders = list(forwarders)
        self.scope_resolver = scope_resolver
        self.max_batch_size = max_batch_size
        # Per connection (e.g. fewer members before authentication); never above max_batch_size.
        self.batch_limit = batch_limit
        self.metrics = metrics
        self.params_hooks = list(params_hooks)
        self.guards = list(guards)
        self.observers = list(observers)
        self._method_stats: dict[str, MethodStats] = {}

    async def handle(self, raw: str | bytes, conn: ConnectionContext) -> bytes | None:
        """Answer one WebSocket message: a request, a notification, or a batch."""
        try:
            msg = loads(raw)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            return dumps(
                _error(None, RpcError(ErrorCode.PARSE_ERROR, "Parse error: message is not valid JSON"))
            )
        if isinstance(msg, list):
            if not msg:
                return dumps(
                    _error(None, RpcError(ErrorCode.INVALID_REQUEST, "Invalid Request: empty batch"))
                )
            limit = self.max_batch_size
            if self.batch_limit is not None:
                limit = min(limit, self.batch_limit(conn))
            if len(msg) > limit:
                return dumps(
                    _error(
                        None,
                        RpcError(
                            ErrorCode.INVALID_REQUEST,
                            f"Invalid Request: batch of {len(msg)} exceeds the limit",
                            {"max_batch_size": limit, "size": len(msg)},
                        ),
                    )
                )
            replies = await asyncio.gather(*(self._one(m, conn) for m in msg))
            answered = [r for r in replies if r is not None]
            return dumps(answered) if answered else None
        reply = await self._one(msg, conn)
        return None if reply is None else dumps(reply)

    async def _one(self, msg: JsonValue, conn: ConnectionContext) -> Reply | None:
        if not isinstance(msg, dict):
            return _error(None, RpcError(ErrorCode.INVALID_REQUEST, "Invalid Request: not a JSON object"))
        req_id: object = msg.get("id", _MISSING)
        reply_id = req_id if req_id is not _MISSING and _valid_id(req_id) else None
        problem = self._check_envelope(msg, req_id)
        if problem is not None:
            return _error(
                reply_id,
                RpcError(ErrorCode.INVALID_REQUEST, f"Invalid Request: {problem}", {"reason": problem}),
            )
        is_notification = req_id is _MISSING
        method = msg["method"]
        assert isinstance(method, str)  # checked by _check_envelope
        result = await self.invoke(method, msg.get("params"), conn)
        if is_notification:
            return None
        if isinstance(result, RpcError):
            return _error(reply_id, result)
        return {"jsonrpc": "2.0", "result": result, "id": reply_id}

    @staticmethod
    def _check_envelope(msg: JsonObject, req_id: object) -> str | None:
        if msg.get("jsonrpc") != "2.0":
            return "'jsonrpc' must be exactly \"2.0\""
        if not isinstance(msg.get("method"), str):
            return "'method' must be a string"
        if "params" in msg and not isinstance(msg["params"], (dict, list)):
            return "'params' must be an object or an array"
        if req_id is not _MISSING and not _valid_id(req_id):
            return "'id' must be a string, a number or null"
        extra = msg.keys() - _REQUEST_KEYS
        if extra:
            return f"unknown member(s): {', '.join(sorted(extra))}"
        return None

    async def invoke(self, method: str, raw_params: JsonValue, conn: ConnectionContext) -> Outcome:
        """Run one call; returns the JSON-ready result or an RpcError (never raises)."""
        spec = self.registry.get(method)
        if spec is None:
            self._count("(unknown)", ErrorCode.METHOD_NOT_FOUND, 0.0)
            return RpcError(ErrorCode.METHOD_NOT_FOUND, f"Method not found: {method}", {"method": method})
        request_id = conn.next_request_id()
        token = request_id_var.set(request_id)
        ctx = CallContext(
            connection=conn,
            request_id=request_id,
            method=method,
            resolve_scope=self.scope_resolver,
        )
        started = time.perf_counter()
        params: BaseModel | None = None
        outcome: Outcome
        try:
            for hook in self.params_hooks:
                raw_params = await hook(ctx, spec, raw_params)
            ctx.raw_params = raw_params
            for guard in self.guards:
                await guard(ctx, spec)
            params = self._parse_params(spec, raw_params)
            forwarded = await self._forward(ctx, spec, raw_params)
            result = forwarded if forwarded is not None else await call(spec, ctx, params)
            if isinstance(result, orjson.Fragment):  # pre-encoded (rpc.discover): no per-call encode
                outcome = result
            else:
                outcome = spec.result_adapter.dump_python(result, mode="json", by_alias=True)
            error = None
        except RpcError as exc:
            outcome = error = exc
        except (DomainError, MediaMTXError) as exc:
            outcome = error = to_rpc_error(exc)
        except Exception:
            log.exception("internal error in %s", method, extra={"method": method, "request_id": request_id})
            outcome = error = RpcError(ErrorCode.INTERNAL_ERROR, "Internal error", {"request_id": request_id})
        finally:
            request_id_var.reset(token)
        self._count(method, error.code if error else None, time.perf_counter() - started)
        for observer in self.observers:
            try:
                observer(ctx, spec, params, error)
            except Exception:
                log.exception("call observer failed")
        return outcome

    async def _forward(self, ctx: CallContext, spec: MethodSpec, raw: JsonValue) -> orjson.Fragment | None:
        for forward in self.forwarders:
            result = await forward(ctx, spec, raw)
            if result is not None:
                return result
        return None

    @staticmethod
    def _parse_params(spec: MethodSpec, raw: JsonValue) -> BaseModel:
        if isinstance(raw, list):
            if len(raw) > len(spec.positional_fields):
                raise RpcError(
                    ErrorCode.INVALID_PARAMS,
                    f"Invalid params: {spec.name} takes at most {len(spec.positional_fields)} "
                    f"positional params, got {len(raw)}",
                    {
                        "errors": [
                            {"field": "params", "message": "too many positional params", "type": "too_long"}
                        ]
                    },
                )
            raw = dict(zip(spec.positional_fields, raw, strict=False))
        try:
            return spec.params_model.model_validate(raw or {})
        except ValidationError as exc:
            first = _field_errors(exc)[0]
            raise RpcError(
                ErrorCode.INVALID_PARAMS,
                f"Invalid params: {_field(first)}: {first['msg']}",
                validation_error_data(exc),
            ) from None

    def _count(self, method: str, code: int | None, elapsed: float) -> None:
        if self.metrics is None:
            return
        stats = self._method_stats.get(method)
        if stats is None:
            stats = self._method_stats[method] = self.metrics.rpc.stats(method)
        self.metrics.rpc.record(stats, code, elapsed)

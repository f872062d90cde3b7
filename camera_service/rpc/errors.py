"""The API's error codes: one table for the whole API, rendered into docs/api/json-rpc-methods.md.

Codes -32001..-32003 follow the established MediaMTX Camera Service protocol so its clients keep working.
Every error carries a message a person can act on and machine-readable `data` naming the field or id.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from types import MappingProxyType

from camera_service.core import errors as _errors
from camera_service.core.types import JsonObject
from camera_service.mediamtx.errors import MediaMTXError, MediaMTXNotFound, MediaMTXUnavailable


class ErrorCode(IntEnum):
    PARSE_ERROR = -32700
    INVALID_REQUEST = -32600
    METHOD_NOT_FOUND = -32601
    INVALID_PARAMS = -32602
    INTERNAL_ERROR = -32603
    AUTH_REQUIRED = -32001
    RATE_LIMITED = -32002
    PERMISSION_DENIED = -32003
    NOT_FOUND = -32004
    CONFLICT = -32005
    MEDIAMTX_UNAVAILABLE = -32006
    STORAGE_ERROR = -32007
    NOT_SUPPORTED = -32008
    CAMERA_UNAVAILABLE = -32009
    TIMEOUT = -32010
    QUOTA_EXCEEDED = -32011
    UPSTREAM_ERROR = -32012
    INVALID_STATE = -32013


ERROR_DESCRIPTIONS: dict[ErrorCode, str] = {
    ErrorCode.PARSE_ERROR: "The message is not valid JSON.",
    ErrorCode.INVALID_REQUEST: "Not a valid JSON-RPC 2.0 request object (or an empty/oversized batch).",
    ErrorCode.METHOD_NOT_FOUND: "No such method. `data.method` names it.",
    ErrorCode.INVALID_PARAMS: "Params failed validation. `data.errors` lists each field, message and type.",
    ErrorCode.INTERNAL_ERROR: "Unexpected server fault. `data.request_id` finds it in the server log.",
    ErrorCode.AUTH_REQUIRED: "Authentication required, failed, or expired: call `authenticate` again.",
    ErrorCode.RATE_LIMITED: "Too many requests. `data.retry_after_s` says when to retry.",
    ErrorCode.PERMISSION_DENIED: "Role too low. `data.required_role` names the role needed.",
    ErrorCode.NOT_FOUND: "No such resource (or outside your scope). `data.resource`, `data.id`.",
    ErrorCode.CONFLICT: "Already exists or already in progress. `data.reason`; `data.current` where useful.",
    ErrorCode.MEDIAMTX_UNAVAILABLE: "MediaMTX is not reachable right now; retry shortly.",
    ErrorCode.STORAGE_ERROR: "Storage full or blocked by the low-disk guard, or a file operation failed.",
    ErrorCode.NOT_SUPPORTED: "The camera or the server does not support this. `data.capability`.",
    ErrorCode.CAMERA_UNAVAILABLE: "The camera is offline or not streaming. `data.camera`, `data.status`.",
    ErrorCode.TIMEOUT: "The operation did not finish in time. `data.timeout_s`.",
    ErrorCode.QUOTA_EXCEEDED: "A quota (e.g. live views per agency) is used up. `data.limit`, `data.in_use`.",
    ErrorCode.UPSTREAM_ERROR: "A device or MediaMTX refused the request. `data.upstream` and its message.",
    ErrorCode.INVALID_STATE: "The resource is not in a state that allows this (e.g. not recording).",
}


class RpcError(Exception):
    """An error returned to the client as a JSON-RPC error object."""

    def __init__(self, code: ErrorCode | int, message: str, data: JsonObject | None = None) -> None:
        super().__init__(message)
        self.code = int(code)
        self.message = message
        self.data = data

    def to_dict(self) -> JsonObject:
        err: JsonObject = {"code": self.code, "message": self.message}
        if self.data is not None:
            err["data"] = self.data
        return err


# Domain code raises core.errors kinds; these helpers stay importable from here for handlers.
not_found = _errors.not_found
conflict = _errors.conflict
invalid_params = _errors.invalid_input

_CODES: dict[type[_errors.DomainError], ErrorCode] = {
    _errors.InvalidInput: ErrorCode.INVALID_PARAMS,
    _errors.Unauthenticated: ErrorCode.AUTH_REQUIRED,
    _errors.RateLimited: ErrorCode.RATE_LIMITED,
    _errors.Forbidden: ErrorCode.PERMISSION_DENIED,
    _errors.NotFound: ErrorCode.NOT_FOUND,
    _errors.Conflict: ErrorCode.CONFLICT,
    _errors.MediaServerUnavailable: ErrorCode.MEDIAMTX_UNAVAILABLE,
    _errors.StorageFailure: ErrorCode.STORAGE_ERROR,
    _errors.NotSupported: ErrorCode.NOT_SUPPORTED,
    _errors.CameraUnavailable: ErrorCode.CAMERA_UNAVAILABLE,
    _errors.TimedOut: ErrorCode.TIMEOUT,
    _errors.QuotaExceeded: ErrorCode.QUOTA_EXCEEDED,
    _errors.UpstreamFailure: ErrorCode.UPSTREAM_ERROR,
    _errors.InvalidState: ErrorCode.INVALID_STATE,
}

# The codes a kind of failure is sent as; a method's declared errors are checked against these.
CODE_OF_KIND: Mapping[type[_errors.DomainError], ErrorCode] = MappingProxyType(_CODES)


def code_of(kind: type[_errors.DomainError]) -> ErrorCode:
    for cls in kind.__mro__:
        if cls in _CODES:
            return _CODES[cls]
    raise TypeError(f"{kind.__name__} has no JSON-RPC code: add it to rpc/errors.py")


def mediamtx_error(exc: MediaMTXError) -> RpcError:
    """The one mapping of a failed MediaMTX call onto the error table."""
    if isinstance(exc, MediaMTXUnavailable):
        return RpcError(
            ErrorCode.MEDIAMTX_UNAVAILABLE,
            "MediaMTX is not reachable right now; retry shortly",
            {"upstream": "mediamtx"},
        )
    if isinstance(exc, MediaMTXNotFound):
        return RpcError(
            ErrorCode.NOT_FOUND,
            f"not found in MediaMTX: {exc.message}",
            {"upstream": "mediamtx", "detail": exc.message},
        )
    return RpcError(
        ErrorCode.UPSTREAM_ERROR,
        f"MediaMTX refused the request: {exc.message}",
        {"upstream": "mediamtx", "detail": exc.message},
    )


# Everything a call can fail with that has an error object: handlers that answer a failure as a
# result (compat shapes) catch these and turn them into one with to_rpc_error.
CALL_FAILURES = (RpcError, _errors.DomainError, MediaMTXError)


def to_rpc_error(exc: RpcError | _errors.DomainError | MediaMTXError) -> RpcError:
    """The JSON-RPC error a domain failure is answered with (the only place that decides)."""
    if isinstance(exc, RpcError):
        return exc
    if isinstance(exc, MediaMTXError):
        return mediamtx_error(exc)
    return RpcError(code_of(type(exc)), exc.message, exc.data)

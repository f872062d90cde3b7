"""The API's error codes: one table for the whole API, rendered into docs/api/json-rpc-methods.md.

Codes -32001..-32003 follow the established MediaMTX Camera Service protocol so its clients keep working.
Every error carries a message a person can act on and machine-readable `data` naming the field or id.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


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

    def __init__(self, code: ErrorCode | int, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = int(code)
        self.message = message
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            err["data"] = self.data
        return err


def not_found(resource: str, ident: str) -> RpcError:
    return RpcError(
        ErrorCode.NOT_FOUND, f"{resource} '{ident}' not found", {"resource": resource, "id": ident}
    )


def conflict(reason: str, message: str, **data: Any) -> RpcError:
    return RpcError(ErrorCode.CONFLICT, message, {"reason": reason, **data})


def invalid_params(field: str, message: str, error_type: str = "value_error") -> RpcError:
    return RpcError(
        ErrorCode.INVALID_PARAMS,
        f"invalid params: {field}: {message}",
        {"errors": [{"field": field, "message": message, "type": error_type}]},
    )

"""Client exceptions. A JSON-RPC error reply becomes `RpcError` with the server's code, message, data."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from camera_service.core.types import JsonValue


# The server's error codes (camera_service/rpc/errors.py), repeated here so the client needs no server import.
AUTH_REQUIRED = -32001
PERMISSION_DENIED = -32003
NOT_FOUND = -32004
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602


class ClientError(Exception):
    """Base of everything the client raises."""


class RpcError(ClientError):
    """The server answered the call with a JSON-RPC error object."""

    def __init__(self, code: int, message: str, data: JsonValue = None, *, method: str | None = None) -> None:
        super().__init__(f"{message} (code {code})")
        self.code = code
        self.message = message
        self.data = data
        self.method = method


class AuthenticationError(RpcError):
    """The credentials were refused (-32001): wrong, expired or revoked token, key or password."""


class ConnectionLost(ClientError):
    """The connection dropped while the call was in flight; the call may or may not have run."""


class NotConnected(ClientError):
    """No connection could be made (or the client is closed, or reconnecting is off)."""


class CallTimeout(ClientError, TimeoutError):
    """No reply within the call's timeout (the call may still run on the server)."""


def error_from_reply(error: JsonValue, method: str | None) -> RpcError:
    if not isinstance(error, dict):
        return RpcError(-32603, f"malformed error object: {error!r}", method=method)
    code = error.get("code")
    message = str(error.get("message", ""))
    cls = AuthenticationError if code == AUTH_REQUIRED else RpcError
    return cls(code if isinstance(code, int) else -32603, message, error.get("data"), method=method)

"""Per-connection and per-call context handed to every method handler."""

from __future__ import annotations

import itertools
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pydantic import BaseModel

    from camera_service.auth.identity import Identity
    from camera_service.auth.scopes import Scope
    from camera_service.core.types import JsonValue

ScopeResolver = Callable[["Identity | None"], "Scope"]

_connection_ids = itertools.count(1)

EncodedSender = Callable[[bytes], bool]


@dataclass(eq=False)
class ConnectionContext:
    """What the server knows about one client connection. Owned by the transport.

    `identity` is the slot the auth layer fills; it is per connection, never shared.
    `state` holds per-connection data of domains (e.g. event subscriptions), keyed by domain name.
    """

    remote: str
    user_agent: str = ""
    id: int = field(default_factory=lambda: next(_connection_ids))
    connected_at: float = field(default_factory=time.time)
    identity: Identity | None = None
    state: dict[str, Any] = field(default_factory=dict)
    _send_encoded: EncodedSender | None = None
    _close: Callable[[int, str], Awaitable[None]] | None = None
    _request_seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_request_id(self) -> str:
        return f"c{self.id}-r{next(self._request_seq)}"

    def notify(self, method: str, params: BaseModel | JsonValue) -> bool:
        """Queue a server-to-client notification; False when the connection dropped it (queue full/closed)."""
        from camera_service.rpc.dispatcher import encode_notification  # dispatcher imports this module

        return self.notify_encoded(encode_notification(method, params))

    def notify_encoded(self, payload: bytes) -> bool:
        """Queue an already-encoded notification (broadcasts encode once for all connections)."""
        if self.identity is None and self.state.get("auth.required"):
            return False  # nothing is pushed to a connection that has not authenticated (auth/transport.py)
        return self._send_encoded(payload) if self._send_encoded is not None else False

    async def close(self, code: int, reason: str) -> None:
        if self._close is not None:
            await self._close(code, reason)


class Broadcaster(Protocol):
    """Pushes one notification to every matching connection (server/connections.py implements it).
    Domains type against this, so they never import the server package."""

    def broadcast(
        self, method: str, params: object, where: Callable[[ConnectionContext], bool] | None = None
    ) -> int: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[ConnectionContext]: ...


@dataclass(slots=True)
class CallContext:
    """One method call: the connection, the caller's camera scope and the request id used in logs.

    Handlers get their dependencies from their domain's methods object (rpc/registry.py), not from here.
    """

    connection: ConnectionContext
    request_id: str
    method: str
    resolve_scope: ScopeResolver | None = None
    _scope: Scope | None = None
    # The params as sent (after params hooks), for observers of calls refused before validation (audit).
    raw_params: JsonValue = None

    @property
    def scope(self) -> Scope:
        """The caller's camera scope (auth/scopes.py), resolved once per call against the registry."""
        if self._scope is None:
            if self.resolve_scope is None:
                raise RuntimeError(f"{self.method}: no camera scope resolver configured")
            self._scope = self.resolve_scope(self.connection.identity)
        return self._scope

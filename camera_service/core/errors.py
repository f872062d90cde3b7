"""Domain errors: what domain and infrastructure code raise when a caller asked for something that
cannot be done. Each kind says what went wrong, not how it travels: `rpc/errors.py` is the one place
that maps a kind to a JSON-RPC code. `message` is for a person; `data` is for a program (field names,
ids, limits) and is sent to the client as is, so it never holds secrets."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every expected failure a client can act on."""

    def __init__(self, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


class InvalidInput(DomainError):
    """A value the caller gave is wrong; `data.errors` names each field (see invalid_input)."""


class Unauthenticated(DomainError):
    """No identity, or it failed, expired or was revoked."""


class RateLimited(DomainError):
    """Too many requests; `data.retry_after_s` says when to retry."""


class Forbidden(DomainError):
    """The caller's identity may not do this (role or camera scope)."""


class NotFound(DomainError):
    """No such resource, or one outside the caller's scope (indistinguishable on purpose)."""


class Conflict(DomainError):
    """Already exists, or already in progress; `data.reason` says which."""


class MediaServerUnavailable(DomainError):
    """The media server (MediaMTX) cannot be reached right now."""


class StorageFailure(DomainError):
    """Storage is full, blocked by the low-disk guard, or a file operation failed."""


class NotSupported(DomainError):
    """The camera or the server lacks the capability; `data.capability` names it."""


class CameraUnavailable(DomainError):
    """The camera is offline or not streaming."""


class TimedOut(DomainError):
    """The operation did not finish in time."""


class QuotaExceeded(DomainError):
    """A quota (live views per agency) is used up."""


class UpstreamFailure(DomainError):
    """A device or the media server refused or botched the request; `data.upstream` names it."""


class InvalidState(DomainError):
    """The resource is not in a state that allows this (e.g. not recording)."""


def not_found(resource: str, ident: str) -> NotFound:
    return NotFound(f"{resource} '{ident}' not found", {"resource": resource, "id": ident})


def conflict(reason: str, message: str, **data: Any) -> Conflict:
    return Conflict(message, {"reason": reason, **data})


def invalid_input(field: str, message: str, error_type: str = "value_error") -> InvalidInput:
    return InvalidInput(
        f"invalid params: {field}: {message}",
        {"errors": [{"field": field, "message": message, "type": error_type}]},
    )

"""Webhook endpoints and outbox deliveries as the API shows them (secrets never leave the service)."""

from __future__ import annotations

from enum import StrEnum
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, Field

from camera_service.core.bus import Severity


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


class Webhook(BaseModel):
    id: str = Field(description="Webhook id.")
    url: str = Field(description="Receiver URL (http/https, never with credentials).")
    topics: list[str] = Field(description="Topic patterns delivered, e.g. camera.* or *.")
    cameras: list[str] | None = Field(None, description="Only events of these cameras (null: any).")
    min_severity: Severity | None = Field(None, description="Only events at least this severe.")
    enabled: bool = Field(True, description="Disabled webhooks get no new deliveries; pending ones wait.")
    description: str = Field("", description="Free text.")
    has_secret: bool = Field(
        description="Whether deliveries are signed (the secret itself is never returned)."
    )
    created_at: float = Field(description="Unix seconds.")
    updated_at: float = Field(description="Unix seconds.")


class Delivery(BaseModel):
    id: str = Field(description="Delivery id; also the Idempotency-Key header (stable across retries).")
    webhook_id: str = Field(description="Webhook it goes to.")
    event_id: str = Field(description="Event delivered.")
    event_type: str = Field(description="Type of that event.")
    status: DeliveryStatus = Field(description="pending, delivered or dead (a dead letter, re-drivable).")
    attempts: int = Field(description="HTTP attempts made.")
    next_attempt_at: float | None = Field(description="When a pending delivery is tried next (unix seconds).")
    created_at: float = Field(description="When it was enqueued.")
    last_attempt_at: float | None = Field(description="When it was last tried.")
    delivered_at: float | None = Field(description="When a receiver accepted it.")
    last_status: int | None = Field(description="HTTP status of the last attempt (null: no response).")
    last_error: str | None = Field(description="Why the last attempt failed.")
    last_latency_ms: float | None = Field(description="Duration of the last attempt.")


class UrlError(ValueError):
    pass


def validate_webhook_url(url: str) -> str:
    """http/https with a host; credentials in the URL are refused (they would end up in logs and lists)."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a bad port
    except ValueError as exc:
        raise UrlError(f"not a valid URL: {exc}") from exc
    del port
    if parts.scheme not in ("http", "https"):
        raise UrlError("only http and https URLs are allowed")
    if not parts.hostname:
        raise UrlError("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UrlError("credentials in the URL are not allowed; use the webhook secret (signature) instead")
    if any(c.isspace() for c in url):
        raise UrlError("the URL contains whitespace")
    return url


def safe_url(url: str) -> str:
    """The URL as logs may show it: no credentials, no query string (which may hold tokens)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return "<invalid url>"

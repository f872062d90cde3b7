"""The webhook signature scheme (documented in docs/webhooks.md).

signature = hex(HMAC-SHA256(secret, f"{timestamp}.".encode() + body)), sent as `v1=<hex>` in
X-Camera-Service-Signature; timestamp (unix seconds, integer) in X-Camera-Service-Timestamp.
Signing the timestamp with the body lets receivers refuse replays older than a tolerance.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER_SIGNATURE = "X-Camera-Service-Signature"
HEADER_TIMESTAMP = "X-Camera-Service-Timestamp"
HEADER_EVENT_ID = "X-Camera-Service-Event-Id"
HEADER_EVENT_TYPE = "X-Camera-Service-Event"
HEADER_DELIVERY = "X-Camera-Service-Delivery"
HEADER_IDEMPOTENCY = "Idempotency-Key"
SCHEME = "v1"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def verify(
    secret: str, timestamp: str, body: bytes, signature: str, *, now: float, tolerance_s: float = 300.0
) -> bool:
    """Receiver-side check (also used by the tests): right MAC, timestamp within tolerance."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(now - ts) > tolerance_s:
        return False
    return any(
        hmac.compare_digest(sign(secret, ts, body), candidate.strip()) for candidate in signature.split(",")
    )


def delivery_headers(
    *, delivery_id: str, event_id: str, event_type: str, timestamp: int, body: bytes, secret: str | None
) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "camera-service-webhooks/1",
        HEADER_EVENT_ID: event_id,
        HEADER_EVENT_TYPE: event_type,
        HEADER_DELIVERY: delivery_id,
        HEADER_IDEMPOTENCY: delivery_id,
        HEADER_TIMESTAMP: str(timestamp),
    }
    if secret:
        headers[HEADER_SIGNATURE] = sign(secret, timestamp, body)
    return headers

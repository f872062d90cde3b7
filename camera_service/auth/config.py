"""The `security` config section: identities, limits, audit, live-view protection, transport hardening."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from camera_service.config.base import ConfigModel

Algorithm = Literal["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


class RateLimitConfig(ConfigModel):
    """A token bucket: `burst` calls at once, refilled at `per_second`."""

    per_second: float = Field(50.0, gt=0, le=1_000_000, title="Refill rate", description="Calls per second.")
    burst: int = Field(100, ge=1, le=1_000_000, title="Burst", description="Bucket size (calls at once).")


class SecurityConfig(ConfigModel):
    enabled: bool = Field(
        True,
        title="Security on",
        description=(
            "Require authentication for everything but ping/authenticate/rpc.discover and protect live view. "
            "Off only for isolated development; see docs/adr/ on the default."
        ),
    )
    jwt_secret: SecretStr | None = Field(
        None,
        title="JWT secret (HS256)",
        description=(
            "HMAC secret (>= 32 bytes) for HS256 tokens and for stream tokens. Empty: generated once and "
            "kept in <data_dir>/secrets/jwt_secret (mode 0600)."
        ),
    )
    jwt_public_key: Path | None = Field(
        None,
        title="JWT public key",
        description=("PEM public key (RSA or EC) for RS256/ES256 tokens from an external issuer."),
    )
    jwks_file: Path | None = Field(
        None, title="JWKS file", description="JSON Web Key Set file (keys by kid)."
    )
    jwks_url: str | None = Field(
        None,
        pattern=r"^https?://",
        title="JWKS URL",
        description=(
            "JSON Web Key Set URL; fetched, cached, and refreshed on an unknown kid (at most every 60 s)."
        ),
    )
    jwks_cache_s: float = Field(
        3600.0,
        ge=10,
        le=86_400,
        title="JWKS cache time",
        description="Seconds a fetched JWKS is trusted before it is fetched again.",
    )
    algorithms: list[Algorithm] = Field(
        ["HS256", "RS256", "ES256"],
        min_length=1,
        title="Accepted algorithms",
        description=(
            "Pinned JWT algorithms; 'none' is never accepted. An HMAC "
            "alg is verified only with jwt_secret, an asymmetric one "
            "only with a public key (no HS/RS confusion)."
        ),
    )
    issuer: str | None = Field(None, title="Issuer", description="Required `iss` claim (checked when set).")
    audience: str | None = Field(
        None, title="Audience", description="Required `aud` claim (checked when set)."
    )
    leeway_s: float = Field(
        10.0, ge=0, le=300, title="Clock leeway", description="Seconds of clock skew allowed."
    )
    max_token_ttl_s: int = Field(
        7 * 86_400,
        ge=60,
        le=366 * 86_400,
        title="Longest CLI token",
        description="Upper bound of `token create --ttl`.",
    )
    access_token_ttl_s: int = Field(
        900,
        ge=10,
        le=3600,
        title="Console access token lifetime",
        description=(
            "Lifetime of the access JWT `login`/`refresh` hand out (the web console renews it in the "
            "background); a logout or a disabled user ends access within this long."
        ),
    )
    stream_token_ttl_s: int = Field(
        300,
        ge=10,
        le=86_400,
        title="Stream token lifetime",
        description="Lifetime of the live-view tokens get_stream_urls hands out.",
    )
    auth_timeout_s: float = Field(
        30.0,
        ge=0.1,
        le=3600,
        title="Authentication timeout",
        description=(
            "A connection that has not authenticated after this many seconds is closed with code 4001."
        ),
    )
    rate_limit_connection: RateLimitConfig = Field(
        default_factory=lambda: RateLimitConfig(per_second=100.0, burst=200),
        title="Per-connection rate",
        description="Token bucket per WebSocket connection.",
    )
    rate_limit_identity: RateLimitConfig = Field(
        default_factory=lambda: RateLimitConfig(per_second=200.0, burst=400),
        title="Per-identity rate",
        description="Token bucket per authenticated subject (across its connections).",
    )
    auth_attempts: RateLimitConfig = Field(
        default_factory=lambda: RateLimitConfig(per_second=0.5, burst=10),
        title="Auth attempts per address",
        description="Failed authentications allowed per client address (bucket).",
    )
    anonymous_max_batch_size: int = Field(
        10,
        ge=1,
        le=10_000,
        title="Batch size before authentication",
        description="Members allowed in one JSON-RPC batch from a connection that has not authenticated.",
    )
    anonymous_send_bytes_per_s: int = Field(
        1_048_576,
        ge=1024,
        le=1 << 34,
        title="Reply bytes per second before authentication",
        description=(
            "Reply bytes per second a connection that has not authenticated may receive (burst: twice "
            "this); beyond it its replies wait and its further requests are not read."
        ),
    )
    anonymous_large_reply_bytes_per_s: int = Field(
        2_097_152,
        ge=65_536,
        le=1 << 34,
        title="Large reply bytes per second before authentication, all connections together",
        description=(
            "Bytes per second of large replies (64 KiB and more, e.g. rpc.discover) that ALL connections "
            "that have not authenticated may receive together (burst: twice this), so more sockets do not "
            "buy an attacker more of the server's output; small replies (authenticate, errors) are not "
            "counted. Beyond it such replies wait and those connections' further requests are not read."
        ),
    )
    max_unauthenticated_connections: int = Field(
        1500,
        ge=1,
        le=100_000,
        title="Unauthenticated connections",
        description=(
            "Open connections that have not authenticated yet, across all addresses; keep it below "
            "server.max_connections so authenticated clients always find room (1013 beyond it)."
        ),
    )
    auth_timeout_under_pressure_s: float = Field(
        5.0,
        ge=0.1,
        le=3600,
        title="Authentication timeout under pressure",
        description=(
            "The authentication timeout for connections opened while more than half of "
            "max_unauthenticated_connections are in use."
        ),
    )
    max_connections_per_address: int = Field(
        1000,
        ge=1,
        le=100_000,
        title="Connections per address",
        description="Open WebSocket connections allowed per client IP.",
    )
    agency_limits: dict[str, int] = Field(
        default_factory=dict,
        title="Live views per agency",
        description=(
            "Concurrent external live views allowed per camera agency, e.g. {POLICE: 50, METRO: 30}."
        ),
    )
    live_lease_ttl_s: float = Field(
        15.0,
        ge=1.0,
        le=300.0,
        title="Live-view lease TTL",
        description=(
            "Shared quotas (storage.redis_url): a live view's lease in Redis lapses this long after its "
            "instance last renewed it (renewed every third of it while the viewer reads), so a crashed "
            "instance's viewers stop counting within this time."
        ),
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        title="Allowed origins",
        description=(
            "Browser Origins allowed to open the WebSocket (exact, e.g. https://ops.example). Empty: only "
            "same-host origins; requests without an Origin header (non-browser clients) are always allowed."
        ),
    )
    trusted_publish_networks: list[str] = Field(
        [],
        title="Trusted publishers",
        description=(
            "Networks whose encoders may publish into publisher cameras' paths without the camera's publish "
            "credential (never into pull cameras' paths). Empty (default): every publisher needs the "
            "credential from create_publish_url. Listing 127.0.0.1/32 lets any local process publish."
        ),
    )
    audit_retention_days: int = Field(
        90,
        ge=1,
        le=3650,
        title="Audit retention",
        description="Audit entries older than this are deleted (checked hourly).",
    )
    bootstrap_admin_key: bool = Field(
        True,
        title="Bootstrap admin key",
        description=(
            "When no API key exists yet, create an admin key once and write it to "
            "<data_dir>/secrets/admin-api-key (mode 0600) so a fresh install can be administered."
        ),
    )
    tls_cert: Path | None = Field(
        None, title="TLS certificate", description="PEM certificate chain: enables TLS."
    )
    tls_key: Path | None = Field(None, title="TLS key", description="PEM private key of tls_cert.")

    @field_validator("jwt_secret")
    @classmethod
    def _secret_long_enough(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and len(v.get_secret_value().encode()) < 32:
            raise ValueError("jwt_secret must be at least 32 bytes")
        return v

    @field_validator("agency_limits")
    @classmethod
    def _limits_positive(cls, v: dict[str, int]) -> dict[str, int]:
        for agency, limit in v.items():
            if limit < 0:
                raise ValueError(f"agency_limits.{agency} must be >= 0")
        return v

    @model_validator(mode="after")
    def _tls_pair(self) -> SecurityConfig:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key must be set together")
        return self

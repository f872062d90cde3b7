"""The shared Redis (or Valkey) of a multi-instance deployment (`storage.redis_url`; docs/scale-out.md).

One asyncio client per use (quotas, the event bus), each with its own connection pool. Timeouts are
short: a caller decides what a Redis outage means for it (quotas refuse new viewers), it must not hang.
"""

from __future__ import annotations

from pydantic import SecretStr
from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

__all__ = ["Redis", "RedisError", "open_redis", "redacted_url"]

CONNECT_TIMEOUT_S = 5.0
SOCKET_TIMEOUT_S = 5.0


def open_redis(
    url: SecretStr | str,
    *,
    client_name: str = "camera-service",
    max_connections: int | None = None,
    **options: object,
) -> Redis:
    """An asyncio client for `url` (redis://, rediss://, unix://). No I/O until the first command;
    call `await client.aclose()` when done. `options` go to `Redis.from_url` (e.g. decode_responses).

    `max_connections`: at most that many connections; a command waits (up to the socket timeout) for a
    free one instead of opening another. Redis runs commands one at a time, so a burst of short commands
    gains nothing from more connections, and a connection storm (one per concurrent command) on a busy
    host timed connects out (bench/quota.py)."""
    raw = url.get_secret_value() if isinstance(url, SecretStr) else url
    kwargs: dict[str, object] = {
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
        "socket_timeout": SOCKET_TIMEOUT_S,
        "health_check_interval": 30,
        "client_name": client_name,
    }
    kwargs.update(options)
    if max_connections is not None:
        pool = BlockingConnectionPool.from_url(
            raw, max_connections=max_connections, timeout=SOCKET_TIMEOUT_S, **kwargs
        )
        return Redis.from_pool(pool)
    return Redis.from_url(raw, **kwargs)  # type: ignore[arg-type]


def redacted_url(url: SecretStr | str) -> str:
    """The URL without its password, for logs."""
    raw = url.get_secret_value() if isinstance(url, SecretStr) else url
    scheme, sep, rest = raw.partition("://")
    if not sep or "@" not in rest:
        return raw
    userinfo, _, host = rest.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user + ':' if user else ':'}***@{host}"

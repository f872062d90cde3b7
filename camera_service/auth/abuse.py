"""What one unauthenticated connection may cost (security H1, M2): fewer batch members, a byte budget for
its replies, and a separate share of the connection limit so authenticated clients always find room."""

from __future__ import annotations

import time
from collections.abc import Callable

from camera_service.auth.config import SecurityConfig
from camera_service.auth.ratelimit import TokenBucket
from camera_service.rpc.context import ConnectionContext

SEND_BUCKET = "auth.send_bucket"
LARGE_REPLY = 65_536  # bytes: replies this big also draw on the budget shared by all anonymous sockets


class AnonymousLimits:
    def __init__(self, cfg: SecurityConfig, max_batch_size: int, clock: Callable[[], float] = time.monotonic):
        self.cfg = cfg
        self.max_batch_size = max_batch_size
        self._clock = clock
        shared = float(cfg.anonymous_large_reply_bytes_per_s)
        self._shared = TokenBucket(shared, int(shared * 2), clock)

    def batch_limit(self, conn: ConnectionContext) -> int:
        if conn.identity is not None:
            return self.max_batch_size
        return min(self.max_batch_size, self.cfg.anonymous_max_batch_size)

    def send_delay(self, conn: ConnectionContext, nbytes: int) -> float:
        """Seconds to hold a reply of `nbytes` to an unauthenticated connection before writing it.

        The connection's request slot stays taken meanwhile, so a client asking faster than its byte budget
        stops being read (backpressure) instead of making the server encode and buffer more."""
        if conn.identity is not None:
            return 0.0
        bucket = conn.state.get(SEND_BUCKET)
        if bucket is None:
            rate = float(self.cfg.anonymous_send_bytes_per_s)
            bucket = conn.state[SEND_BUCKET] = TokenBucket(rate, int(rate * 2), self._clock)
        # A reply larger than the whole bucket still goes out, after the time its bytes are worth. Debt is
        # kept (not capped): replies computed concurrently queue up behind each other instead of all
        # waiting the same time (bounded by the connection's in-flight requests).
        wait = _pay(bucket, nbytes)
        if nbytes >= LARGE_REPLY:
            # The budget all unauthenticated sockets share: 4 or 400 attacking sockets get the same output.
            wait = max(wait, _pay(self._shared, nbytes))
        return wait

    def refund(self, conn: ConnectionContext, nbytes: int) -> None:
        """A paced reply was never sent (its socket closed while it waited): the bytes go back to the
        shared budget, so replies held for dead sockets do not keep delaying everyone else's."""
        if conn.identity is None and nbytes >= LARGE_REPLY:
            shared = self._shared
            shared.tokens = min(shared.burst, shared.tokens + min(float(nbytes), shared.burst))


def _pay(bucket: TokenBucket, nbytes: int) -> float:
    need = min(float(nbytes), bucket.burst)
    wait = bucket.take(need)
    if wait:
        bucket.tokens -= need  # pay now: the reply is sent after `wait`
    return wait

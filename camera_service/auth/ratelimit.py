"""Token buckets: per connection, per identity, and for failed authentications per client address."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from camera_service.auth.config import RateLimitConfig

TimeSource = Callable[[], float]  # a bare clock reading (monotonic by default), not core.clock.Clock


class TokenBucket:
    __slots__ = ("_clock", "burst", "rate", "tokens", "updated")

    def __init__(self, rate: float, burst: int, clock: TimeSource = time.monotonic) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self._clock = clock
        self.updated = clock()

    def _refill(self) -> None:
        now = self._clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def take(self, n: float = 1.0) -> float:
        """0.0 when allowed (tokens taken), else the seconds until `n` tokens will be there."""
        self._refill()
        if self.tokens >= n:
            self.tokens -= n
            return 0.0
        return (n - self.tokens) / self.rate

    def peek(self, n: float = 1.0) -> float:
        self._refill()
        return 0.0 if self.tokens >= n else (n - self.tokens) / self.rate


class KeyedBuckets:
    """Buckets by key (subject, address), bounded (LRU) so a flood of keys cannot exhaust memory."""

    def __init__(
        self, cfg: RateLimitConfig, max_keys: int = 100_000, clock: TimeSource = time.monotonic
    ) -> None:
        self.cfg = cfg
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def bucket(self, key: str) -> TokenBucket:
        b = self._buckets.get(key)
        if b is None:
            b = TokenBucket(self.cfg.per_second, self.cfg.burst, self._clock)
            self._buckets[key] = b
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return b

    def take(self, key: str) -> float:
        return self.bucket(key).take()

    def peek(self, key: str) -> float:
        return self.bucket(key).peek()

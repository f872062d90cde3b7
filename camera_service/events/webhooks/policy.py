"""Retry policy and the per-endpoint circuit breaker: pure logic over an injectable clock."""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from camera_service.core.clock import Clock

RETRYABLE_STATUS = frozenset({408, 425, 429})


class Verdict(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAIL = "fail"  # not retried (a 4xx other than 408/425/429, or a redirect)


@dataclass(frozen=True)
class AttemptResult:
    status: int | None  # None: no HTTP response (timeout, connection error)
    error: str | None = None
    retry_after_s: float | None = None
    latency_s: float = 0.0

    @property
    def verdict(self) -> Verdict:
        if self.status is None:
            return Verdict.RETRY
        if 200 <= self.status < 300:
            return Verdict.DELIVERED
        if self.status >= 500 or self.status in RETRYABLE_STATUS:
            return Verdict.RETRY
        return Verdict.FAIL

    @property
    def endpoint_failure(self) -> bool:
        """Counts towards the circuit breaker: the endpoint is down or broken (not: it refused us)."""
        return self.status is None or self.status >= 500


def backoff_delay(
    attempts: int, base_s: float, max_s: float, jitter: float, rand: Callable[[], float]
) -> float:
    """Delay after the `attempts`-th failed attempt: base * 2^(attempts-1), capped, the top `jitter`
    fraction randomised. With jitter <= 0.5 consecutive gaps never shrink (d*(1-j) >= d/2)."""
    d = min(max_s, base_s * (2 ** max(0, attempts - 1)))
    return float(d * (1.0 - jitter * rand()))


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date); None when absent or unparseable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def next_delay(
    result: AttemptResult,
    attempts: int,
    *,
    base_s: float,
    max_s: float,
    jitter: float,
    max_retry_after_s: float,
    rand: Callable[[], float],
) -> float:
    delay = backoff_delay(attempts, base_s, max_s, jitter, rand)
    if result.retry_after_s is not None:
        delay = max(delay, min(result.retry_after_s, max_retry_after_s))
    return delay


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Opens after `threshold` consecutive endpoint failures; after `reset_s` lets one trial through
    (half-open); the trial's success closes it, its failure re-opens it for another `reset_s`."""

    def __init__(self, threshold: int, reset_s: float, clock: Clock) -> None:
        self.threshold = threshold
        self.reset_s = reset_s
        self._clock = clock
        self.failures = 0
        self._opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._trial or self._clock.monotonic() - self._opened_at >= self.reset_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self) -> bool:
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._trial:
            self._trial = True
            return True
        return False

    def retry_in(self) -> float:
        """Seconds until the next trial may go (0 when closed)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._opened_at + self.reset_s - self._clock.monotonic())

    def record(self, result: AttemptResult) -> None:
        if result.endpoint_failure:
            self.failures += 1
            if self._opened_at is not None or self.failures >= self.threshold:
                self._opened_at = self._clock.monotonic()
        else:
            self.failures = 0
            self._opened_at = None
        self._trial = False

    def release_trial(self) -> None:
        """A trial that never ran (e.g. cancelled) frees the slot."""
        self._trial = False

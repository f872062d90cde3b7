"""How the client signs in on every (re)connect, and how long it waits between reconnect attempts."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from camera_service.core.types import JsonObject


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before reconnect attempt n: min(cap, initial * factor**n), minus up to `jitter` of it."""

    initial_s: float = 0.1
    factor: float = 2.0
    cap_s: float = 10.0
    jitter: float = 0.5  # fraction: spreads the reconnects of many clients after a restart

    def delay(self, attempt: int) -> float:
        base = min(self.cap_s, self.initial_s * self.factor ** min(attempt, 32))
        return base * (1.0 - self.jitter * random.random())  # noqa: S311 - jitter, not crypto


@dataclass(frozen=True, slots=True)
class Credentials:
    """A JWT or API key (sent with `authenticate`), or a user name and password (sent with `login`)."""

    token: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def resolve(
        cls,
        token: str | None,
        api_key: str | None,
        username: str | None = None,
        password: str | None = None,
    ) -> Credentials:
        """What was given; with nothing given (None), $CAMERA_SERVICE_TOKEN. "" means no credentials."""
        if username is not None:
            if not password:
                raise ValueError("a user name needs a password")
            return cls(username=username, password=password)
        chosen = token if token is not None else api_key
        if chosen is None:
            chosen = os.environ.get("CAMERA_SERVICE_TOKEN")
        return cls(token=chosen or None)

    def call(self) -> tuple[str, JsonObject] | None:
        """The method and params that sign a connection in (None: stay anonymous)."""
        if self.username is not None:
            return "login", {"username": self.username, "password": self.password}
        if self.token:
            return "authenticate", {"auth_token": self.token}
        return None

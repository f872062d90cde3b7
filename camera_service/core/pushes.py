"""Server pushes that other instances repeat to their own clients (scale-out).

A domain that pushes state to WebSocket clients (camera_status_update, recording_status_update) pushes
to this instance's connections itself, then `publish`es the change on a channel; every other instance's
handler for that channel (registered with `on` at construction) pushes it to ITS connections, through
the same scope filter. One instance: `LocalPushes`, which carries nothing. Several: the shared event
stream (events/shared.py) implements it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

PushHandler = Callable[[dict[str, Any]], None]


class PushRelay(Protocol):
    def publish(self, channel: str, payload: dict[str, Any]) -> None:
        """Hand `payload` (JSON-able) to the other instances' handlers of `channel`; never blocks."""
        ...

    def on(self, channel: str, handler: PushHandler) -> None:
        """Run `handler` for every payload another instance publishes on `channel`."""
        ...


class LocalPushes:
    """One instance: there is nobody else to tell."""

    def publish(self, channel: str, payload: dict[str, Any]) -> None:
        pass

    def on(self, channel: str, handler: PushHandler) -> None:
        pass

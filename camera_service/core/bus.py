"""The internal event bus: components publish events; listeners react without blocking.

Every topic the service itself publishes has a payload model in the catalog (core/topics.py): `emit()`
refuses a topic that is not there and checks `data` against its model, so the catalog (and the docs
generated from it) cannot drift from what is sent. `publish()` also carries events the service does not
define (create_event, detections per label), unchecked.

Listeners are plain callables run synchronously in publish order; anything slow must hand the event to
its own queue or task. A failing listener is logged and never affects the publisher or other listeners.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from camera_service.core.topics import check_payload

log = logging.getLogger("camera_service.events")  # the name operators filter on


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}


class Event(BaseModel):
    id: str = Field(default_factory=lambda: uuid.uuid4().hex, description="Unique event id.")
    type: str = Field(description="Dotted topic, e.g. camera.offline, recording.started.")
    camera: str | None = Field(None, description="Camera id the event is about, if any.")
    time: float = Field(default_factory=time.time, description="Unix time (seconds) the event happened.")
    severity: Severity = Field(Severity.LOW, description="critical, high, medium or low.")
    data: dict[str, Any] = Field(default_factory=dict, description="Type-specific payload.")


def topic_matches(pattern: str, topic: str) -> bool:
    """`camera.*` matches `camera.offline` and `camera.status.changed`; `*` matches everything."""
    if pattern in ("*", topic):
        return True
    if pattern.endswith(".*"):
        return topic.startswith(pattern[:-1])
    return False


Listener = Callable[[Event], None]


class EventBus:
    def __init__(self) -> None:
        self._listeners: list[tuple[tuple[str, ...], Listener]] = []

    def subscribe(self, listener: Listener, topics: Iterable[str] = ("*",)) -> Callable[[], None]:
        entry = (tuple(topics), listener)
        self._listeners.append(entry)

        def unsubscribe() -> None:
            if entry in self._listeners:
                self._listeners.remove(entry)

        return unsubscribe

    def publish(self, event: Event) -> Event:
        for topics, listener in list(self._listeners):
            if any(topic_matches(t, event.type) for t in topics):
                try:
                    listener(event)
                except Exception:
                    log.exception("event listener failed", extra={"event_type": event.type})
        return event

    def emit(
        self, type: str, camera: str | None = None, severity: Severity = Severity.LOW, **data: Any
    ) -> Event:
        """Publish one of the service's own topics; `data` must match the topic's catalog model (the
        wire payload is `data` as given, so what subscribers and webhooks get is unchanged)."""
        check_payload(type, data)
        return self.publish(Event(type=type, camera=camera, severity=severity, data=data))

"""Event-store and subscription models shared by the events package and its API."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from camera_service.core.bus import Event, Severity


class EventStatus(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    FALSE_POSITIVE = "false_positive"


class ClipState(StrEnum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


class StoredEvent(Event):
    """An event as the store keeps it: the bus event plus what operators and clips add."""

    status: EventStatus = Field(EventStatus.NEW, description="new, acknowledged, resolved or false_positive.")
    tags: list[str] = Field(default_factory=list, description="Operator tags.")
    notes: str = Field("", description="Operator notes.")
    clip_id: str | None = Field(None, description="Recording clip cut around the event (see clip_state).")
    clip_state: ClipState | None = Field(None, description="pending, ready or failed; null: no clip asked.")
    snapshot_id: str | None = Field(None, description="Snapshot taken for the event, if any.")
    acknowledged_by: str | None = Field(None, description="Who acknowledged it.")
    acknowledged_at: float | None = Field(None, description="When it was acknowledged (unix seconds).")
    updated_at: float | None = Field(None, description="Last operator change (unix seconds).")
    source: str = Field("service", description="service (published internally) or api (create_event).")


class SubscriptionFilter(BaseModel):
    """What one subscription wants: topic patterns, optional camera ids, optional minimum severity."""

    topics: list[str]
    cameras: frozenset[str] | None = None
    min_severity: Severity | None = None

    def matches(self, event: Event) -> bool:
        from camera_service.core.bus import topic_matches

        if self.cameras is not None and event.camera not in self.cameras:
            return False
        if self.min_severity is not None and event.severity.rank < self.min_severity.rank:
            return False
        return any(topic_matches(t, event.type) for t in self.topics)


class EventNotification(BaseModel):
    """Params of the `event` notification."""

    subscription: str = Field(description="The subscription id returned by subscribe_events.")
    event: Event = Field(description="The event.")

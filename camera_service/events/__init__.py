"""Events: the internal bus (subscriptions, store and webhooks build on it)."""

from camera_service.core.bus import Event, EventBus, Severity, topic_matches

__all__ = ["Event", "EventBus", "Severity", "topic_matches"]

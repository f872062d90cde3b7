"""Moved to camera_service.core.bus (the bus is a core primitive); re-exported for existing imports."""

from camera_service.core.bus import Event, EventBus, Listener, Severity, topic_matches

__all__ = ["Event", "EventBus", "Listener", "Severity", "topic_matches"]

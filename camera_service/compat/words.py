"""Component states in the old protocol's words (get_status, /health/system)."""

from __future__ import annotations

from camera_service.core.component import ComponentHealth

# The old server's component names -> ours.
OLD_COMPONENTS = {
    "websocket_server": "websocket_server",
    "camera_monitor": "cameras",
    "mediamtx_controller": "mediamtx",
}


def component_word(h: ComponentHealth | None) -> str:
    """A component's state in one word: running, stopped or error."""
    if h is None:
        return "stopped"
    return "running" if h.healthy else ("stopped" if h.status == "stopped" else "error")


def component_words(health: list[ComponentHealth]) -> dict[str, str]:
    """Old names and ours, each with its word."""
    by_name = {h.name: h for h in health}
    words = {old: component_word(by_name.get(ours)) for old, ours in OLD_COMPONENTS.items()}
    words.update({name: component_word(h) for name, h in by_name.items()})
    return words

"""Rules: "when this happens, do that" (trigger -> actions), from the config file and the API."""

from camera_service.events.rules.actions import ActionContext, register_rule_action

__all__ = ["ActionContext", "register_rule_action"]

"""Configuration: one pydantic model per concern, loaded from YAML + environment."""

from camera_service.config.settings import ConfigError, Settings, load_settings, masked_dump

__all__ = ["ConfigError", "Settings", "load_settings", "masked_dump"]

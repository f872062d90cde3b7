"""Configuration: one pydantic model per concern, loaded from YAML + environment.

`settings` is imported lazily: it imports every domain's config section, and each section imports
`camera_service.config.base`, which runs this file first. An eager import here made that circular
whenever a domain package was the first one imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from camera_service.config.settings import ConfigError, Settings, load_settings, masked_dump

__all__ = ["ConfigError", "Settings", "load_settings", "masked_dump"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from camera_service.config import settings

        return getattr(settings, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

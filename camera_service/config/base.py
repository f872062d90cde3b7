"""Shared base for every config model: unknown keys are errors, every field is documented."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ConfigModel(BaseModel):
    """Base of all config sections. `extra="forbid"` makes a typo fail at start-up, naming the key."""

    model_config = ConfigDict(extra="forbid", validate_default=True, frozen=False)

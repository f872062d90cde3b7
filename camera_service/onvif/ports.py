"""What the ONVIF domain offers the others (events: the `ptz_preset` rule action), as Protocols."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from camera_service.cameras.models import Camera


class PresetMover(Protocol):
    async def goto_preset(
        self, camera: Camera, preset: str, *, from_patrol: bool = False
    ) -> Mapping[str, object]:
        """Move the camera to a preset (token or name); the result names the preset token used."""
        ...

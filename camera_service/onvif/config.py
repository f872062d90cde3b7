"""The `onvif` config section: discovery, device call timeouts, PTZ safety limits."""

from __future__ import annotations

from pydantic import Field

from camera_service.config.base import ConfigModel


class OnvifConfig(ConfigModel):
    call_timeout_s: float = Field(
        5.0,
        ge=0.2,
        le=60.0,
        title="Device call timeout",
        description="Seconds any single ONVIF SOAP call may take before it fails with TIMEOUT.",
    )
    adjust_time: bool = Field(
        True,
        title="Compensate camera clock offset",
        description="Read the camera clock (GetSystemDateAndTime) and shift WS-Security timestamps by the "
        "offset, so cameras with a wrong clock still accept our credentials.",
    )
    discovery_interface: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        title="Discovery interface",
        description="Network interface name (or its IPv4 address) WS-Discovery multicasts on; "
        "unset = the OS default multicast route.",
    )
    discovery_timeout_s: float = Field(
        3.0,
        ge=0.2,
        le=30.0,
        title="Default discovery time",
        description="How long discover_cameras listens for answers when the call does not say.",
    )
    discovery_max_hosts: int = Field(
        1024,
        ge=1,
        le=65536,
        title="Unicast probe limit",
        description="Most addresses one discover_cameras call may probe by unicast (ranges are expanded).",
    )
    max_move_timeout_s: float = Field(
        60.0,
        ge=0.1,
        le=600.0,
        title="Longest continuous move",
        description="Upper bound of continuous_move timeout_s; the service always stops the move itself.",
    )
    default_move_timeout_s: float = Field(
        1.0,
        ge=0.1,
        le=600.0,
        title="Default continuous move time",
        description="Seconds a continuous move runs when the call gives no timeout_s.",
    )
    patrol_max_presets: int = Field(
        32, ge=1, le=256, title="Presets per patrol", description="Most presets one patrol may visit."
    )

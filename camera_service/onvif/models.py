"""ONVIF data kept with a camera (under `metadata["onvif"]`) and PTZ range checks.

The ranges come from the camera (PTZ GetConfigurationOptions) at import; every speed and position is
checked against them before anything is sent to the camera.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, Field

from camera_service.core.errors import NotSupported, invalid_input

GENERIC_RANGE = (-1.0, 1.0)


class Range(BaseModel):
    min: float = Field(description="Smallest allowed value.")
    max: float = Field(description="Largest allowed value.")

    def check(self, field: str, value: float | None) -> None:
        if value is not None and not (self.min <= value <= self.max):
            raise invalid_input(
                field, f"{value} is outside the camera's range [{self.min:g}, {self.max:g}]", "out_of_range"
            )


class PtzRanges(BaseModel):
    """Per-axis ranges the camera reported (null axis = the camera has no such space)."""

    pan_velocity: Range | None = None
    tilt_velocity: Range | None = None
    zoom_velocity: Range | None = None
    pan: Range | None = None
    tilt: Range | None = None
    zoom: Range | None = None
    pan_translation: Range | None = None
    tilt_translation: Range | None = None
    zoom_translation: Range | None = None
    timeout_max_s: float | None = None


class PtzInfo(BaseModel):
    supported: bool = Field(description="The camera has a PTZ service and a PTZ-capable profile.")
    profile_token: str | None = Field(None, description="Media profile PTZ commands use.")
    configuration_token: str | None = Field(None, description="Its PTZ configuration token.")
    ranges: PtzRanges = Field(default_factory=PtzRanges)


class OnvifProfile(BaseModel):
    token: str
    name: str | None = None
    encoding: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    ptz: bool = False


class OnvifDeviceData(BaseModel):
    """What the import learned about the device (stored in camera.metadata["onvif"])."""

    manufacturer: str | None = None
    model: str | None = None
    firmware: str | None = None
    serial: str | None = None
    hardware_id: str | None = None
    profiles: list[OnvifProfile] = Field(default_factory=list)
    profile: str | None = Field(None, description="Chosen (main) profile token.")
    sub_profile: str | None = Field(None, description="Second profile, used as sub stream.")
    stream_uri: str | None = Field(None, description="Main stream URI (without credentials).")
    sub_stream_uri: str | None = Field(None, description="Sub stream URI (without credentials).")
    snapshot_uri: str | None = Field(None, description="Snapshot URI (without credentials).")
    ptz: PtzInfo = Field(default_factory=lambda: PtzInfo(supported=False))
    clock_offset_s: float | None = Field(None, description="Camera clock minus service clock at import.")
    imported_at: float | None = None


# The readers below take zeep replies made plain (`to_plain`): dicts, lists, numbers, timedeltas.


def _range(space: object, axis: str = "XRange") -> Range | None:
    rng = space.get(axis) if isinstance(space, dict) else None
    if not rng or rng.get("Min") is None or rng.get("Max") is None:
        return None
    return Range(min=float(rng["Min"]), max=float(rng["Max"]))


def _first(spaces: Mapping[str, object], key: str) -> object:
    items = spaces.get(key)
    if isinstance(items, list):
        return items[0] if items else None
    return items


def _duration_s(value: object) -> float | None:
    if value is None:
        return None
    total_seconds = getattr(value, "total_seconds", None)
    if callable(total_seconds):
        return float(total_seconds())
    text = str(value)
    if text.startswith("PT") and text.endswith("S"):
        try:
            return float(text[2:-1])
        except ValueError:
            return None
    return None


def ranges_from_options(options: Mapping[str, object]) -> PtzRanges:
    """PtzRanges from a plain GetConfigurationOptions reply."""
    found = options.get("Spaces")
    spaces: Mapping[str, object] = found if isinstance(found, dict) else {}
    cont, cz = _first(spaces, "ContinuousPanTiltVelocitySpace"), _first(spaces, "ContinuousZoomVelocitySpace")
    absp, absz = _first(spaces, "AbsolutePanTiltPositionSpace"), _first(spaces, "AbsoluteZoomPositionSpace")
    relp, relz = (
        _first(spaces, "RelativePanTiltTranslationSpace"),
        _first(spaces, "RelativeZoomTranslationSpace"),
    )
    timeout = options.get("PTZTimeout") or {}
    return PtzRanges(
        pan_velocity=_range(cont),
        tilt_velocity=_range(cont, "YRange"),
        zoom_velocity=_range(cz),
        pan=_range(absp),
        tilt=_range(absp, "YRange"),
        zoom=_range(absz),
        pan_translation=_range(relp),
        tilt_translation=_range(relp, "YRange"),
        zoom_translation=_range(relz),
        timeout_max_s=_duration_s(timeout.get("Max")) if isinstance(timeout, dict) else None,
    )


def generic_ranges() -> PtzRanges:
    """The ONVIF generic spaces, for cameras that do not report options."""
    g = Range(min=-1.0, max=1.0)
    z = Range(min=0.0, max=1.0)
    return PtzRanges(
        pan_velocity=g,
        tilt_velocity=g,
        zoom_velocity=g,
        pan=g,
        tilt=g,
        zoom=z,
        pan_translation=g,
        tilt_translation=g,
        zoom_translation=g,
    )


def check_vector(
    kind: str, ranges: PtzRanges, pan: float | None, tilt: float | None, zoom: float | None
) -> None:
    """Raise INVALID_PARAMS (nothing sent) when a value is outside the camera's range for `kind`."""
    suffix = {"velocity": "_velocity", "position": "", "translation": "_translation"}[kind]
    if pan is None and tilt is None and zoom is None:
        raise invalid_input("pan", "give at least one of pan, tilt, zoom", "missing")
    for axis, value in (("pan", pan), ("tilt", tilt), ("zoom", zoom)):
        if value is None:
            continue
        rng: Range | None = getattr(ranges, axis + suffix)
        if rng is None:
            raise NotSupported(
                f"the camera has no {axis} {kind} space",
                {"capability": f"{axis}_{kind}"},
            )
        rng.check(axis, value)

"""Per-camera recording policy (the opaque `camera.recording` dict, owned and validated here).

off | continuous | scheduled (weekly windows in a time zone) | events (rolling pre-event buffer: record
continuously into short segments; retention drops buffer segments older than buffer_s unless an event
clip or a lock needs them).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from camera_service.core.errors import InvalidInput
from camera_service.core.types import TimeZoneName

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


class ScheduleWindow(BaseModel):
    """One weekly window, e.g. mon-fri 08:00-18:00. end <= start means it runs past midnight."""

    model_config = ConfigDict(extra="forbid")
    days: list[Day] = Field(min_length=1, description="Days the window starts on.")
    start: str = Field(description="Start, HH:MM local time.")
    end: str = Field(description="End, HH:MM local time (24:00 = midnight; <= start wraps to the next day).")

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        if not _HHMM.match(v):
            raise ValueError("must be HH:MM (00:00-23:59, or 24:00)")
        return v

    def contains(self, local: datetime) -> bool:
        start_m = _minutes(self.start)
        end_m = _minutes(self.end)
        now_m = local.hour * 60 + local.minute
        today = DAYS[local.weekday()]
        yesterday = DAYS[(local.weekday() - 1) % 7]
        if end_m > start_m:
            return today in self.days and start_m <= now_m < end_m
        # Wraps past midnight: the evening part today, or the morning part of yesterday's window.
        return (today in self.days and now_m >= start_m) or (yesterday in self.days and now_m < end_m)


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


class RecordingPolicy(BaseModel):
    """What a camera records by itself (on-demand sessions come on top)."""

    model_config = ConfigDict(extra="forbid")
    mode: Literal["off", "continuous", "scheduled", "events"] = Field(
        "off", description="off, continuous, scheduled (weekly windows) or events (rolling pre-event buffer)."
    )
    schedule: list[ScheduleWindow] = Field(
        default_factory=list, max_length=100, description="Weekly windows (mode scheduled)."
    )
    timezone: TimeZoneName | None = Field(
        None, description="IANA zone of the windows; empty: the configured zone."
    )
    buffer_s: float | None = Field(
        None, ge=1.0, le=3600.0, description="Seconds of pre-event buffer kept (mode events)."
    )

    def wants_recording(self, now: datetime, default_tz: str) -> bool:
        """Should the recorder run now by policy alone? `now` is timezone-aware."""
        if self.mode in ("continuous", "events"):
            return True
        if self.mode == "scheduled":
            local = now.astimezone(ZoneInfo(self.timezone or default_tz))
            return any(w.contains(local) for w in self.schedule)
        return False


def parse_policy(raw: dict[str, Any] | None, *, field: str = "policy") -> RecordingPolicy:
    """Validate a stored or submitted policy; INVALID_PARAMS naming the field on bad input."""
    try:
        return RecordingPolicy.model_validate(raw or {})
    except ValidationError as exc:
        errors = [
            {"field": ".".join([field, *(str(p) for p in e["loc"])]), "message": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise InvalidInput(f"invalid recording policy: {errors[0]['message']}", {"errors": errors}) from exc


def policy_or_off(raw: dict[str, Any] | None) -> RecordingPolicy:
    """A stored policy, or `off` if what is stored no longer validates (never crash the recorder)."""
    try:
        return RecordingPolicy.model_validate(raw or {})
    except ValidationError:
        return RecordingPolicy()


__all__ = ["DAYS", "RecordingPolicy", "ScheduleWindow", "parse_policy", "policy_or_off"]

"""Rule, trigger, schedule and run models. Pure: no I/O, every time given explicitly."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from camera_service.core.bus import Event, Severity, topic_matches
from camera_service.core.jsonlimits import check_json
from camera_service.core.types import TimeZoneName

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Schedule(_Strict):
    """A weekly time window. `end` before `start` spans midnight (22:00-06:00)."""

    days: list[int] | None = Field(
        None,
        description="Weekdays the window applies to, 0=Monday..6=Sunday "
        "(null: every day). For windows spanning midnight, the "
        "day the window starts.",
    )
    start: str = Field("00:00", description="HH:MM local start (inclusive).")
    end: str = Field("23:59", description="HH:MM local end (inclusive to the minute).")
    timezone: TimeZoneName | None = Field(
        None, description="IANA zone, e.g. Europe/Berlin (null: the server's)."
    )

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        if not _HHMM.match(v):
            raise ValueError("must be HH:MM (00:00-23:59)")
        return v

    @field_validator("days")
    @classmethod
    def _days(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and (not v or any(d < 0 or d > 6 for d in v)):
            raise ValueError("days are 0 (Monday) to 6 (Sunday), at least one")
        return v

    def active(self, t: float) -> bool:
        local = (
            datetime.fromtimestamp(t, ZoneInfo(self.timezone)) if self.timezone else datetime.fromtimestamp(t)
        )
        minute = local.hour * 60 + local.minute
        start, end = _minutes(self.start), _minutes(self.end)
        weekday = local.weekday()
        if start <= end:
            return start <= minute <= end and (self.days is None or weekday in self.days)
        # Spans midnight: the evening part belongs to today, the morning part to yesterday's window.
        if minute >= start:
            return self.days is None or weekday in self.days
        if minute <= end:
            return self.days is None or (weekday - 1) % 7 in self.days
        return False


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


class Conditions(_Strict):
    labels: list[str] | None = Field(
        None, max_length=100, description="data.label must be one of these (e.g. person, car)."
    )
    min_confidence: float | None = Field(
        None, ge=0.0, le=1.0, description="data.confidence must be at least this."
    )
    min_severity: Severity | None = Field(None, description="The event must be at least this severe.")
    data: dict[str, Any] = Field(
        default_factory=dict,
        description="data.<key> must equal each value given (at most 32 levels deep and 16 KiB).",
    )

    @field_validator("data")
    @classmethod
    def _bounded(cls, v: dict[str, Any]) -> dict[str, Any]:
        return check_json(v, max_bytes=16_384)  # security H2: no unbounded text in rules

    @field_validator("labels")
    @classmethod
    def _labels(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and any(len(label) > 200 for label in v):
            raise ValueError("labels are at most 200 characters")
        return v

    def holds(self, event: Event) -> bool:
        d = event.data
        if self.labels is not None and d.get("label") not in self.labels:
            return False
        if self.min_confidence is not None:
            conf = d.get("confidence")
            if not isinstance(conf, (int, float)) or isinstance(conf, bool) or conf < self.min_confidence:
                return False
        if self.min_severity is not None and event.severity.rank < self.min_severity.rank:
            return False
        return all(d.get(k) == v for k, v in self.data.items())


class Trigger(_Strict):
    topics: list[str] = Field(min_length=1, max_length=50, description="Topic patterns, e.g. camera.offline.")
    cameras: list[str] | None = Field(None, max_length=1000, description="Only events of these cameras.")
    conditions: Conditions = Field(default_factory=Conditions, description="Conditions on the event data.")
    schedule: Schedule | None = Field(None, description="Only inside this weekly window.")
    cooldown_s: float = Field(
        0.0,
        ge=0.0,
        le=86_400.0,
        description=(
            "After firing, the rule ignores further matches for this long (per camera) — dedup of bursts."
        ),
    )

    def matches(self, event: Event) -> bool:
        if self.cameras is not None and event.camera not in self.cameras:
            return False
        if not any(topic_matches(t, event.type) for t in self.topics):
            return False
        if self.schedule is not None and not self.schedule.active(event.time):
            return False
        return self.conditions.holds(event)


class RuleAction(_Strict):
    type: str = Field(
        max_length=100, description="Action type: clip, snapshot, webhook, record, notify (and plugin types)."
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="Parameters of the action type (at most 32 levels deep, 16 KiB)."
    )

    @field_validator("params")
    @classmethod
    def _bounded(cls, v: dict[str, Any]) -> dict[str, Any]:
        return check_json(v, max_bytes=16_384)


class RuleSpec(_Strict):
    name: str = Field(min_length=1, max_length=200, description="Display name.")
    enabled: bool = Field(True, description="Disabled rules never fire.")
    description: str = Field("", max_length=2000, description="Free text.")
    trigger: Trigger = Field(description="When the rule fires.")
    actions: list[RuleAction] = Field(min_length=1, max_length=20, description="What it does, in order.")


class RuleSource(StrEnum):
    CONFIG = "config"
    API = "api"


class RuleOwner(BaseModel):
    """Who made a rule: it acts with this identity's camera scope (events/rules/scope.py)."""

    subject: str = Field(description="Subject of the identity that added the rule.")
    role: str = Field(description="Its role then.")
    cameras: list[str] = Field(default_factory=list, description="Its camera scope claims (empty: none).")
    groups: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    agencies: list[str] = Field(default_factory=list)
    scoped: bool = Field(False, description="True when it had a camera scope (even an empty one).")


class Rule(RuleSpec):
    id: str = Field(description="Rule id.")
    owner: RuleOwner | None = Field(
        None,
        description="Who added it (the rule acts with that identity's camera scope); null for config-file "
        "rules and rules added before owners were recorded (both act unrestricted).",
    )
    source: RuleSource = Field(description="config (read-only over the API) or api.")
    created_at: float = Field(description="Unix seconds.")
    updated_at: float = Field(description="Unix seconds.")


class RunOutcome(StrEnum):
    OK = "ok"
    PARTIAL = "partial"
    FAILED = "failed"


class ActionOutcome(BaseModel):
    type: str = Field(description="Action type.")
    ok: bool = Field(description="Whether it succeeded.")
    error: str | None = Field(None, description="Why it failed.")
    result: dict[str, Any] = Field(default_factory=dict, description="What it produced (ids).")
    duration_ms: float = Field(0.0, description="How long it took.")


class RuleRun(BaseModel):
    id: int = Field(description="Run id (increasing).")
    rule_id: str = Field(description="Rule that fired.")
    event_id: str = Field(description="Event that fired it.")
    event_type: str = Field(description="Type of that event.")
    camera: str | None = Field(None, description="Camera of that event.")
    time: float = Field(description="When it fired (unix seconds).")
    outcome: RunOutcome = Field(description="ok (all actions), partial or failed.")
    actions: list[ActionOutcome] = Field(description="Outcome of each action, in order.")


class ConfigRule(RuleSpec):
    """A rule in the config file (events.rules): the add_rule shape plus a fixed id."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", description="Unique rule id.")

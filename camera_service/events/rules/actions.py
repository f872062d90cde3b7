"""The registry of rule action types and the built-in actions.

Other domains add their own types with `register_rule_action(name, ParamsModel, handler)`, e.g. the
ONVIF domain's `ptz_preset {preset}`. A handler gets an ActionContext and its validated params and
returns a small dict of what it produced (ids), recorded in the rule run; raising marks the action failed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from camera_service.core.bus import Event, Severity
from camera_service.media.imaging import ImageFormat

if TYPE_CHECKING:
    from camera_service.auth.scopes import Scope
    from camera_service.cameras.ports import CameraDirectory
    from camera_service.events.rules.models import Rule
    from camera_service.events.service import EventService
    from camera_service.onvif.ports import PresetMover
    from camera_service.recordings.ports import RecordingActions


@dataclass(frozen=True)
class RuleDeps:
    """What rule actions may use from other domains (built in app.py, typed by their ports)."""

    cameras: CameraDirectory
    recordings: RecordingActions
    ptz: PresetMover


@dataclass
class ActionContext:
    deps: RuleDeps
    events: EventService
    rule: Rule
    event: Event
    scope: Scope | None = None  # the rule owner's camera scope; None: unrestricted (system rules)

    def camera(self, override: str | None) -> str:
        camera = override or self.event.camera
        if not camera:
            raise ValueError("the event has no camera and the action names none")
        if self.scope is not None and not self.scope.sees_id(camera):
            raise PermissionError(f"camera '{camera}' is outside the scope of the rule's owner")
        return camera


ActionHandler = Callable[[ActionContext, Any], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class ActionType:
    name: str
    params_model: type[BaseModel]
    handler: ActionHandler


_ACTIONS: dict[str, ActionType] = {}


def register_rule_action(name: str, params_model: type[BaseModel], handler: ActionHandler) -> None:
    """Make `name` usable in rules. `params_model` validates the action's params when a rule is saved."""
    if name in _ACTIONS and _ACTIONS[name].handler is not handler:
        raise ValueError(f"rule action {name!r} registered twice")
    _ACTIONS[name] = ActionType(name, params_model, handler)


def action_types() -> dict[str, ActionType]:
    return dict(_ACTIONS)


def validate_action(type_name: str, params: dict[str, Any]) -> BaseModel:
    """Raises KeyError for an unknown type and ValidationError for bad params."""
    return _ACTIONS[type_name].params_model.model_validate(params)


class _ActionParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClipParams(_ActionParams):
    # title: the console's label; description: its hint (the console shows `default` as the placeholder).
    pre_s: float | None = Field(
        None,
        ge=0.0,
        le=3600.0,
        title="Seconds before the event",
        description="0 to 3600; empty: the configured events.clip_pre_s (10 s by default).",
    )
    post_s: float | None = Field(
        None,
        ge=0.0,
        le=3600.0,
        title="Seconds after the event",
        description="0 to 3600; empty: the configured events.clip_post_s (10 s by default).",
    )


class SnapshotParams(_ActionParams):
    camera: str | None = Field(
        None, title="Camera", description="Camera id to snapshot; empty: the event's camera."
    )
    format: str = Field("jpeg", pattern="^(jpeg|png)$", title="Image format", description="jpeg or png.")


class WebhookParams(_ActionParams):
    id: str = Field(
        title="Webhook",
        description="Webhook id to deliver the event to (regardless of its topic filter).",
    )


class RecordParams(_ActionParams):
    duration_s: float = Field(
        ge=1.0, le=86_400.0, title="Seconds to record", description="How long to record, 1 to 86400 s."
    )
    camera: str | None = Field(
        None, title="Camera", description="Camera id to record; empty: the event's camera."
    )


class NotifyParams(_ActionParams):
    severity: Severity = Field(
        Severity.HIGH, title="Severity", description="Severity of the rule.notification event."
    )
    message: str = Field("", max_length=1000, title="Message", description="Text for the operators.")


async def _clip(ctx: ActionContext, p: ClipParams) -> dict[str, Any]:
    ctx.camera(None)
    await ctx.events.clips.request(ctx.event, p.pre_s, p.post_s)
    return {"event": ctx.event.id, "clip_state": "pending"}


async def _snapshot(ctx: ActionContext, p: SnapshotParams) -> dict[str, Any]:
    camera = ctx.camera(p.camera)
    fmt: ImageFormat = "png" if p.format == "png" else "jpeg"
    snap = await ctx.deps.recordings.take_snapshot(camera, fmt=fmt)
    if camera == ctx.event.camera or ctx.event.camera is None:
        await ctx.events.store.set_snapshot(ctx.event.id, snap.id)
    return {"snapshot": snap.id, "camera": camera}


async def _webhook(ctx: ActionContext, p: WebhookParams) -> dict[str, Any]:
    if ctx.scope is not None:  # webhooks are system-wide: a scoped owner's rule never posts (H3)
        raise PermissionError("webhook actions need a rule owner without a camera scope")
    delivery = await ctx.events.deliver_to_webhook(ctx.event, p.id)
    return {"delivery": delivery, "webhook": p.id}


async def _record(ctx: ActionContext, p: RecordParams) -> dict[str, Any]:
    camera = ctx.camera(p.camera)
    session = await ctx.deps.recordings.start_recording(
        camera, duration_s=p.duration_s, requested_by=f"rule:{ctx.rule.id}"
    )
    return {"camera": camera, "session": session.id, "duration_s": p.duration_s}


async def _notify(ctx: ActionContext, p: NotifyParams) -> dict[str, Any]:
    ev = ctx.events.bus.emit(
        "rule.notification",
        camera=ctx.event.camera,
        severity=p.severity,
        rule_id=ctx.rule.id,
        rule=ctx.rule.name,
        message=p.message,
        event_id=ctx.event.id,
        event_type=ctx.event.type,
        event_time=datetime.fromtimestamp(ctx.event.time, UTC).isoformat(),
    )
    return {"event": ev.id}


def params_error(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'params'}: {e['msg']}"
        for e in exc.errors(include_url=False, include_input=False)
    )


register_rule_action("clip", ClipParams, _clip)
register_rule_action("snapshot", SnapshotParams, _snapshot)
register_rule_action("webhook", WebhookParams, _webhook)
register_rule_action("record", RecordParams, _record)
register_rule_action("notify", NotifyParams, _notify)

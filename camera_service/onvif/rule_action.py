"""The `ptz_preset {preset, camera?}` rule action: move the event's camera (or another) to a preset."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from camera_service.events.rules.actions import ActionContext, register_rule_action


class PtzPresetParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    preset: str = Field(min_length=1, max_length=64, title="Preset", description="Preset token or name.")
    camera: str | None = Field(
        None, title="Camera", description="Camera id to move; empty: the event's camera."
    )


async def _ptz_preset(ctx: ActionContext, p: PtzPresetParams) -> dict[str, Any]:
    camera = await ctx.deps.cameras.get(ctx.camera(p.camera))
    if camera.onvif is None:
        raise ValueError(f"camera {camera.id} has no ONVIF endpoint")
    result = await ctx.deps.ptz.goto_preset(camera, p.preset)
    return {"camera": camera.id, "preset": result["preset"]}


register_rule_action("ptz_preset", PtzPresetParams, _ptz_preset)

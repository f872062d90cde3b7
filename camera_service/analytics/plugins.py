"""The analytics plugin interface: a manifest, and an object the worker process loads and feeds frames.

Built-ins are listed here; third-party plugins are Python entry points in the group
`camera_service.analytics` whose value (`module:factory`) returns a plugin. Discovery runs at start-up;
a plugin that fails to import, to build or to load is reported (get_status, get_analytics) and skipped.
Gate plugins (motion, tamper) run in the frame sampler on a small grey frame; detector plugins run in
the worker process on RGB frames.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonSchemaValue

from camera_service.analytics.models import Detection
from camera_service.core.types import JsonObject

RgbImage = npt.NDArray[np.uint8]  # HxWx3 RGB

log = logging.getLogger("camera_service.analytics.plugins")

ENTRY_POINT_GROUP = "camera_service.analytics"


class PluginManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_.-]{0,63}$", description="Plugin id (used in `detectors`).")
    version: str = Field(max_length=64, description="Plugin version.")
    capabilities: list[str] = Field(description="What it finds (objects, faces, plates, motion, tamper).")
    stage: Literal["gate", "detector"] = Field(
        "detector", description="gate: sampler, small grey frame; detector: worker process, RGB frame."
    )
    entrypoint: str = Field(description="`module:factory` that builds the plugin.")
    requires: list[str] = Field(default_factory=list, description="Plugins whose results it reads.")
    config_schema: JsonSchemaValue = Field(default_factory=dict, description="JSON Schema of its options.")
    description: str = Field("", max_length=500)


@dataclass(frozen=True)
class LoadContext:
    models_dir: Path
    threads: int  # ONNX Runtime intra-op threads
    options: JsonObject = field(default_factory=dict)  # JSON config sections, e.g. "yolo"


@dataclass
class FrameInput:
    """One frame handed to a detector; `prior` holds what plugins before it found on this frame."""

    camera: str
    time: float
    image: RgbImage
    options: JsonObject = field(default_factory=dict)
    prior: list[Detection] = field(default_factory=list)


@runtime_checkable
class DetectorPlugin(Protocol):
    manifest: PluginManifest

    def load(self, ctx: LoadContext) -> None:
        """Create model sessions (called once, in the worker process)."""

    def detect(self, frames: Sequence[FrameInput]) -> list[list[Detection]]:
        """One result list per frame, in order."""


BUILTIN_ENTRYPOINTS: dict[str, str] = {
    "faces": "camera_service.analytics.builtin.faces:CenterFaceFaces",
    "objects": "camera_service.analytics.builtin.objects:SsdLiteObjects",
    "plates": "camera_service.analytics.builtin.plates:PlateReader",
}

GATE_MANIFESTS = [
    PluginManifest(
        id="motion",
        version="1.0",
        capabilities=["motion"],
        stage="gate",
        entrypoint="camera_service.analytics.motion:MotionGate",
        description="Running-background motion gate with lightning guard, zones and masks.",
    ),
    PluginManifest(
        id="tamper",
        version="1.0",
        capabilities=["tamper"],
        stage="gate",
        entrypoint="camera_service.analytics.motion:TamperGuard",
        description="Blackout, blur/defocus and scene-change detection.",
    ),
]


def load_entrypoint(value: str) -> object:
    module, _, attr = value.partition(":")
    obj: object = importlib.import_module(module)
    for part in attr.split(".") if attr else []:
        obj = getattr(obj, part)
    return obj


def build_plugin(entrypoint: str) -> DetectorPlugin:
    factory = load_entrypoint(entrypoint)
    if not callable(factory):
        raise TypeError(f"{entrypoint} is not callable")
    plugin = factory()
    if not isinstance(plugin, DetectorPlugin):
        raise TypeError(f"{entrypoint} did not return a plugin (needs manifest, load, detect)")
    PluginManifest.model_validate(plugin.manifest.model_dump())
    return plugin


@dataclass
class Discovery:
    manifests: dict[str, PluginManifest]
    errors: dict[str, str]  # plugin id (or entry point name) -> why it is unusable

    @property
    def detector_entrypoints(self) -> dict[str, str]:
        return {m.id: m.entrypoint for m in self.manifests.values() if m.stage == "detector"}


def discover(
    entry_points: Iterable[importlib.metadata.EntryPoint] | None = None,
    builtins: dict[str, str] | None = None,
) -> Discovery:
    """Manifests of the built-ins and every installed third-party plugin; broken ones land in errors.

    `builtins` replaces built-in entry points by id (config picks the `objects` model: SSDLite or YOLO).
    """
    if entry_points is None:
        entry_points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    manifests = {m.id: m for m in GATE_MANIFESTS}
    errors: dict[str, str] = {}
    candidates = [(pid, ep) for pid, ep in (BUILTIN_ENTRYPOINTS | (builtins or {})).items()]
    candidates += [(ep.name, ep.value) for ep in entry_points]
    for name, value in candidates:
        try:
            plugin = build_plugin(value)
            manifest = plugin.manifest.model_copy(update={"entrypoint": value})
            if manifest.id in manifests:
                raise ValueError(f"plugin id '{manifest.id}' is already taken")
            manifests[manifest.id] = manifest
        except Exception as exc:
            errors[name] = f"{type(exc).__name__}: {exc}"
            log.error("analytics plugin %s unusable: %s", name, errors[name])
    for m in list(manifests.values()):
        missing = [r for r in m.requires if r not in manifests]
        if missing:
            errors[m.id] = f"requires missing plugin(s): {', '.join(missing)}"
            del manifests[m.id]
    return Discovery(manifests, errors)


def run_order(plugin_ids: Sequence[str], manifests: dict[str, PluginManifest]) -> list[str]:
    """Detector plugins in an order where each runs after the plugins it requires."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(pid: str, depth: int = 0) -> None:
        if pid in seen or pid not in manifests or depth > 32:
            return
        for req in manifests[pid].requires:
            visit(req, depth + 1)
        seen.add(pid)
        order.append(pid)

    for pid in plugin_ids:
        visit(pid)
    return order

"""What the camera registry offers the other domains, as Protocols (CameraService satisfies them all).

Other domains type their dependencies against these (app.py passes the CameraService): they see exactly
the listed members, with real types, and can be built in tests with a small fake.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from camera_service.cameras.models import Camera, CameraStatusInfo
from camera_service.cameras.sync import SyncReport
from camera_service.core.types import JsonObject

# A path contributor shapes the MediaMTX path config of a camera (recordings adds its record keys).
PathContributor = Callable[[Camera], JsonObject]


class CameraDirectory(Protocol):
    """Read side: look cameras up (cached in memory; never blocks)."""

    def find(self, camera_id: str) -> Camera | None:
        """The camera, or None when no camera has this id."""
        ...

    async def get(self, camera_id: str) -> Camera:
        """The camera; NOT_FOUND when no camera has this id."""
        ...

    def cameras(self) -> list[Camera]:
        """Every camera, in the stable order (by id)."""
        ...

    def resolve_id(self, device: str, sees: Callable[[Camera], bool] | None = None) -> str:
        """Our id for an id or a compat name (cameraN, /dev/videoN; with `sees`, N counts only the
        cameras it admits: pass the caller's `ctx.scope.sees`); NOT_FOUND otherwise."""
        ...


class CameraRegistry(CameraDirectory, Protocol):
    """What the recordings domain needs: status, path contributions, re-applying a camera's path."""

    async def list_all(self) -> list[Camera]: ...
    def status(self, camera_id: str) -> CameraStatusInfo: ...
    def add_path_contributor(self, fn: PathContributor) -> None: ...
    async def reapply(self, camera_id: str) -> None: ...
    async def update_recording_policy(self, camera_id: str, policy: dict[str, object]) -> Camera: ...


class CameraAdmin(CameraDirectory, Protocol):
    """What the ONVIF import needs: add or replace registry entries (provisioned like add_camera)."""

    async def list_all(self) -> list[Camera]: ...
    async def add(self, camera: Camera, *, apply: bool = True) -> Camera: ...
    async def replace(self, camera: Camera, *, keep_secrets: bool = False) -> Camera: ...


class SharedRegistry(CameraDirectory, Protocol):
    """What the cluster needs: take in rows other instances changed, and (re)apply or stop a camera's
    path after its ownership changed (the path builder asks the cluster's `owns`)."""

    async def sync(self) -> SyncReport: ...
    async def reapply(self, camera_id: str) -> None: ...
    async def reconcile(self) -> object: ...
    def request_reconcile(self) -> None: ...

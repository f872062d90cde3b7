"""The write side of the camera registry (CameraService's add, replace, remove, reapply): the database
first, then the cache, then MediaMTX's path configs (a config MediaMTX refuses is rolled back), then the
bus. One lock (`lock`) serialises every change, and the registry sync of several instances."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from camera_service.cameras.live import LivePush
from camera_service.cameras.models import Camera, CameraStatus, CameraStatusInfo, substream_path
from camera_service.cameras.provisioning import PathConfigBuilder, Provisioner, apply_error
from camera_service.cameras.registry import CameraCache
from camera_service.cameras.status import StatusTracker
from camera_service.cameras.store import CameraStore
from camera_service.cameras.urls import mask_credentials
from camera_service.core.bus import EventBus
from camera_service.core.errors import DomainError, conflict
from camera_service.mediamtx.errors import MediaMTXError, MediaMTXUnavailable
from camera_service.storage.database import IntegrityError

log = logging.getLogger("camera_service.cameras")


class CameraWriter:
    def __init__(
        self,
        store: Callable[[], CameraStore],
        cache: CameraCache,
        *,
        builder: PathConfigBuilder,
        provisioner: Provisioner,
        tracker: StatusTracker,
        live: LivePush,
        bus: EventBus,
        on_removed: Callable[[], None],
    ) -> None:
        """`store`: the started service's store (raises before start). `on_removed`: after a removal
        (the per-status camera counts)."""
        self._store = store
        self.cache = cache
        self.builder = builder
        self.provisioner = provisioner
        self.tracker = tracker
        self.live = live
        self.bus = bus
        self.on_removed = on_removed
        self.lock = asyncio.Lock()

    async def add(self, camera: Camera, *, apply: bool = True) -> Camera:
        """Persist a new camera and provision it. CONFLICT on a duplicate id; a config MediaMTX refuses
        is rolled back (INVALID_PARAMS on `source`). MediaMTX being down is not an error: the camera is
        stored and applied when MediaMTX is back."""
        async with self.lock:
            if camera.id in self.cache:
                raise conflict("exists", f"camera '{camera.id}' already exists", id=camera.id)
            now = time.time()
            camera = camera.model_copy(update={"created_at": now, "updated_at": now})
            try:
                seq = await self._store().insert(camera)
            except IntegrityError:
                raise conflict("exists", f"camera '{camera.id}' already exists", id=camera.id) from None
            self.cache.put(camera, seq)
            if not camera.enabled:
                self.tracker.infos[camera.id] = CameraStatusInfo(status=CameraStatus.DISABLED)
            if apply:
                try:
                    await self._apply(camera)
                except (DomainError, MediaMTXError):
                    await self._store().delete(camera.id)
                    self.cache.drop(camera.id)
                    self.tracker.forget(camera.id)
                    raise
        log.info("camera added", extra={"camera": camera.id, "source": mask_credentials(camera.source)})
        self.bus.emit("camera.added", camera=camera.id, name=camera.name)
        self.tracker.wake()
        return camera

    async def replace(self, camera: Camera, *, keep_secrets: bool = False) -> Camera:
        """Persist a changed camera (same id) and re-provision; rolled back if MediaMTX refuses it."""
        async with self.lock:
            old = self.cache.get(camera.id)
            camera = camera.model_copy(update={"updated_at": time.time(), "created_at": old.created_at})
            await self._store().update(camera, keep_secrets=keep_secrets)
            self.cache.put(camera)
            try:
                await self._apply(camera)
            except (DomainError, MediaMTXError):
                await self._store().update(old, keep_secrets=keep_secrets)
                self.cache.put(old)
                with contextlib.suppress(DomainError, MediaMTXError):
                    await self._apply(old)
                raise
            if old.substream and not camera.substream:
                await self._drop_substream(camera.id)
            if not camera.enabled:
                self.tracker.infos[camera.id] = CameraStatusInfo(status=CameraStatus.DISABLED)
        log.info("camera updated", extra={"camera": camera.id})
        self.bus.emit("camera.updated", camera=camera.id, name=camera.name)
        self.tracker.wake()
        return camera

    async def remove(self, camera_id: str) -> Camera:
        async with self.lock:
            camera = self.cache.get(camera_id)
            await self._store().delete(camera_id)
            self.cache.drop(camera_id)
            self.tracker.forget(camera_id)
            task = self.live.sampling.pop(camera_id, None)
            if task is not None:
                task.cancel()
            try:
                for name in self.builder.paths(camera):
                    await self.provisioner.apply(name, None)
            except MediaMTXError as exc:
                # Removed from the registry: the next reconcile deletes the leftover path.
                log.warning(
                    "path of a removed camera not deleted yet: %s", exc.message, extra={"camera": camera_id}
                )
            for name in self.builder.paths(camera):
                self.provisioner.errors.pop(name, None)
        log.info("camera removed", extra={"camera": camera_id})
        self.bus.emit("camera.removed", camera=camera_id, name=camera.name)
        self.on_removed()
        return camera

    async def _drop_substream(self, camera_id: str) -> None:
        name = substream_path(camera_id)
        try:
            await self.provisioner.apply(name, None)
        except MediaMTXError as exc:
            # Not desired any more: the next reconcile deletes the leftover path.
            log.warning("substream path not deleted yet: %s", exc.message, extra={"camera": camera_id})
        self.provisioner.errors.pop(name, None)

    async def reapply(self, camera_id: str) -> None:
        """Push the camera's desired path config to MediaMTX now (MEDIAMTX_UNAVAILABLE when it is down)."""
        camera = self.cache.get(camera_id)
        try:
            for name, conf in self.builder.paths(camera).items():
                await self.provisioner.apply(name, conf)
        except MediaMTXError as exc:
            raise apply_error(camera, exc) from None

    async def _apply(self, camera: Camera) -> None:
        try:
            for name, conf in self.builder.paths(camera).items():
                await self.provisioner.apply(name, conf)
        except MediaMTXUnavailable:
            log.warning(
                "MediaMTX unavailable: camera stored, provisioned when it is back",
                extra={"camera": camera.id},
            )
        except MediaMTXError as exc:
            for name in self.builder.paths(camera):
                self.provisioner.errors.pop(name, None)
            raise apply_error(camera, exc) from None

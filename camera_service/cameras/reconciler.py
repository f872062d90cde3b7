"""PathReconciler: keeps MediaMTX's path configs equal to the camera registry.

Reconciles on start, after every MediaMTX (re)start (path configs live in its RAM only), periodically,
and soon after the status poll sees drift (coalesced: at most one running and one queued).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

from camera_service.cameras.config import CamerasConfig
from camera_service.cameras.metrics import CameraMetrics
from camera_service.cameras.models import Camera, substream_path
from camera_service.cameras.provisioning import PathConfigBuilder, Provisioner, ReconcileReport
from camera_service.core.tasks import TaskSet
from camera_service.core.types import JsonObject
from camera_service.mediamtx.errors import MediaMTXError
from camera_service.mediamtx.supervisor import MediaMTXSupervisor

log = logging.getLogger("camera_service.cameras")


class PathReconciler:
    def __init__(
        self,
        cfg: CamerasConfig,
        *,
        builder: PathConfigBuilder,
        provisioner: Provisioner,
        mediamtx: MediaMTXSupervisor,
        metrics: CameraMetrics,
        cameras: Callable[[], list[Camera]],
        tasks: TaskSet,
        after: Callable[[], None],
    ) -> None:
        """`cameras`: the registry in its stable order; `after`: called after each reconcile (status poll)."""
        self.cfg = cfg
        self.builder = builder
        self.provisioner = provisioner
        self.mediamtx = mediamtx
        self.metrics = metrics
        self._cameras = cameras
        self._tasks = tasks
        self._after = after
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._last_drift: set[str] = set()
        self.last: ReconcileReport | None = None

    def desired_configs(self) -> dict[str, JsonObject | None]:
        out: dict[str, JsonObject | None] = {}
        for camera in self._cameras():
            out.update(self.builder.paths(camera))
        return out

    async def reconcile(self) -> ReconcileReport:
        """Make MediaMTX's path configs equal to the registry now (one reconcile at a time)."""
        started = time.perf_counter()
        try:
            report = await self.provisioner.reconcile(self.desired_configs())
        except MediaMTXError:
            self.metrics.reconciles.labels("unavailable").inc()
            raise
        self.metrics.reconciles.labels("failed" if report.failed else "ok").inc()
        self.metrics.reconcile_seconds.observe(time.perf_counter() - started)
        self.metrics.paths_applied.inc(len(report.applied))
        self.metrics.paths_deleted.inc(len(report.deleted))
        self.last = report
        if report.applied or report.deleted or report.failed:
            log.info(
                "reconciled MediaMTX paths",
                extra={
                    "applied": len(report.applied),
                    "deleted": len(report.deleted),
                    "failed": len(report.failed),
                    "unchanged": report.unchanged,
                    "duration_s": round(report.duration_s, 3),
                },
            )
        self._after()
        return report

    async def reconcile_logged(self, why: str) -> None:
        try:
            await self.reconcile()
        except MediaMTXError as exc:
            log.warning("reconcile (%s) failed: %s", why, exc.message)

    def request(self) -> None:
        """Reconcile soon in the background (coalesced: at most one running and one queued)."""
        if self._task is not None and not self._task.done():
            self._again = True
            return

        async def run() -> None:
            while True:
                self._again = False
                await self.reconcile_logged("drift")
                if not self._again:
                    return

        self._task = self._tasks.spawn(run(), name="cameras-reconcile-now")

    def check_drift(self, present: Mapping[str, object], cameras: Mapping[str, Camera], busy: bool) -> None:
        """A path vanished or appeared behind our back. Only drift seen by two polls in a row counts, so a
        camera being added/removed right now (DB first, then MediaMTX) is not one; nor while `busy`."""
        expected = {cid for cid, cam in cameras.items() if self.builder.wanted(cam)}
        expected |= {substream_path(cid) for cid, cam in cameras.items() if cam.substream and cid in expected}
        owned = cameras.keys() | {substream_path(cid) for cid in cameras}
        drift = (expected - present.keys()) | (present.keys() - owned)
        if drift & self._last_drift and not self.provisioner.lock.locked() and not busy:
            self.request()
        self._last_drift = drift

    async def on_mediamtx_ready(self) -> None:
        # Path configs live in MediaMTX's RAM only: after every (re)start, apply the whole registry.
        await self.reconcile_logged("mediamtx ready")

    async def periodic(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.reconcile_interval_s)
            if self.mediamtx.is_up:
                await self.reconcile_logged("periodic")

    def stopped(self) -> None:
        self._task = None

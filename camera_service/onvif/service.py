"""The ONVIF component (`services.onvif`): discovery, import, PTZ, and the PTZ safety hooks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from camera_service.core.bus import Event, EventBus
from camera_service.core.clock import Clock
from camera_service.core.component import ComponentHealth
from camera_service.core.errors import invalid_input
from camera_service.core.tasks import TaskSet
from camera_service.onvif import discovery
from camera_service.onvif.client import OnvifClient
from camera_service.onvif.config import OnvifConfig
from camera_service.onvif.discovery import DiscoveredDevice
from camera_service.onvif.importer import find_by_xaddr, import_camera
from camera_service.onvif.pool import ClientPool
from camera_service.onvif.ptz import PtzController

if TYPE_CHECKING:
    from camera_service.cameras.models import Camera
    from camera_service.cameras.ports import CameraAdmin
    from camera_service.rpc.context import ConnectionContext

log = logging.getLogger("camera_service.onvif")


class OnvifService:
    name = "onvif"

    def __init__(
        self, cfg: OnvifConfig, cameras: CameraAdmin, bus: EventBus, *, clock: Clock | None = None
    ) -> None:
        self.cfg = cfg
        self.cameras = cameras
        self.bus = bus
        self.pool = ClientPool(cfg)
        self.ptz = PtzController(cfg, bus, self.pool, clock)
        self._unsubscribe: Callable[[], None] | None = None
        self._running = False
        self._tasks = TaskSet("onvif")

    async def start(self) -> None:
        self._unsubscribe = self.bus.subscribe(
            self._on_camera_event, topics=["camera.removed", "camera.updated"]
        )
        self._running = True

    async def stop(self) -> None:
        self._running = False
        if self._unsubscribe is not None:
            self._unsubscribe()
        await self._tasks.close()
        self._tasks.reopen()
        await self.ptz.close(await self._camera_map())
        await self.pool.close()

    def health(self) -> ComponentHealth:
        return ComponentHealth(
            name=self.name,
            healthy=self._running,
            status="ok" if self._running else "stopped",
            details={"moves_active": self.ptz.active_moves, "patrols_active": self.ptz.active_patrols},
        )

    def _on_camera_event(self, event: Event) -> None:
        # Endpoint/credential changes rebuild the client lazily (ClientPool compares keys); a removed
        # camera loses its client, timer and patrol.
        if event.type == "camera.removed" and event.camera:
            self._tasks.spawn(self._forget(event.camera), name=f"onvif-forget-{event.camera}")

    async def _forget(self, camera_id: str) -> None:
        await self.ptz.forget(camera_id, reason="camera_removed")
        await self.pool.drop(camera_id)

    async def _camera_map(self) -> dict[str, Camera]:
        return {c.id: c for c in await self.cameras.list_all()}

    async def on_disconnect(self, conn: ConnectionContext) -> None:
        """WebSocket disconnect hook: stop continuous moves this connection started."""
        if self.ptz.moves_of(conn.id):
            await self.ptz.on_disconnect(conn, await self._camera_map())

    # ------------------------------------------------------------------ discovery
    async def discover(
        self,
        *,
        timeout_s: float | None,
        interface: str | None,
        hosts: list[str] | None,
        on_found: Callable[[DiscoveredDevice], None] | None = None,
    ) -> tuple[list[DiscoveredDevice], bool, int]:
        """Probe; returns (devices, multicast_used, unicast_targets).

        Multicast goes out on `interface` (or the configured one) unless only `hosts` were given.
        """
        try:
            targets = discovery.expand_hosts(hosts or [], self.cfg.discovery_max_hosts)
        except ValueError as exc:
            raise invalid_input("hosts", str(exc)) from None
        multicast = interface is not None or not hosts
        iface = interface or self.cfg.discovery_interface
        if iface is not None:
            try:
                discovery.interface_index(iface)
            except ValueError as exc:
                raise invalid_input("interface", str(exc)) from None
        cameras = await self.cameras.list_all()

        def mark(device: DiscoveredDevice) -> None:
            for xaddr in device.xaddrs:
                try:
                    cam = find_by_xaddr(cameras, xaddr)
                except ValueError:
                    continue
                if cam is not None:
                    device.registered, device.camera = True, cam.id
                    break
            self.bus.emit("discovery.found", **device.model_dump(mode="json"))
            if on_found is not None:
                on_found(device)

        devices = await discovery.probe(
            timeout_s=timeout_s or self.cfg.discovery_timeout_s,
            multicast_interface=iface,
            multicast=multicast,
            unicast=targets,
            on_found=mark,
        )
        log.info(
            "discovery finished",
            extra={"devices": len(devices), "multicast": multicast, "unicast_targets": len(targets)},
        )
        return devices, multicast, len(targets)

    # ------------------------------------------------------------------ import
    async def import_camera(
        self,
        *,
        xaddr: str,
        user: str | None,
        password: str | None,
        profile: str | None,
        camera_id: str | None,
        name: str | None,
    ) -> tuple[Camera, bool]:
        client = OnvifClient(
            xaddr, user, password, timeout_s=self.cfg.call_timeout_s, adjust_time=self.cfg.adjust_time
        )
        try:
            camera, created = await import_camera(
                self.cameras,
                client,
                xaddr=xaddr,
                user=user,
                password=password,
                profile=profile,
                camera_id=camera_id,
                name=name,
            )
        finally:
            await client.close()
        await self.pool.drop(camera.id)  # PTZ reconnects with the new endpoint/credentials
        await self.ptz.forget(camera.id, reason="reimported")
        self.bus.emit(
            "onvif.imported",
            camera=camera.id,
            created=created,
            ptz=bool(camera.metadata.get("onvif", {}).get("ptz", {}).get("supported")),
        )
        return camera, created

    def describe(self, camera: Camera) -> dict[str, Any]:
        return dict(camera.metadata.get("onvif") or {})

"""One ONVIF client per camera (PTZ, import and status share it)."""

from __future__ import annotations

from camera_service.cameras.models import Camera
from camera_service.core.tasks import TaskSet
from camera_service.onvif.client import OnvifClient, not_supported
from camera_service.onvif.config import OnvifConfig


class ClientPool:
    """One OnvifClient per camera, rebuilt when the camera's endpoint or credentials change."""

    def __init__(self, cfg: OnvifConfig) -> None:
        self.cfg = cfg
        self._clients: dict[str, tuple[tuple[str, str | None, str | None], OnvifClient]] = {}
        self._closing = TaskSet("onvif-clients")  # replaced clients closing in the background

    def get(self, camera: Camera) -> OnvifClient:
        ep = camera.onvif
        if ep is None or not (ep.xaddr or ep.host):
            raise not_supported("onvif")
        password = ep.password.get_secret_value() if ep.password else None
        xaddr = ep.xaddr or f"http://{ep.host}:{ep.port}/onvif/device_service"
        key = (xaddr, ep.username, password)
        entry = self._clients.get(camera.id)
        if entry is not None and entry[0] == key:
            return entry[1]
        if entry is not None:
            self._closing.spawn(entry[1].close(), name=f"onvif-close-{camera.id}")
        client = OnvifClient(
            xaddr, ep.username, password, timeout_s=self.cfg.call_timeout_s, adjust_time=self.cfg.adjust_time
        )
        self._clients[camera.id] = (key, client)
        return client

    async def drop(self, camera_id: str) -> None:
        entry = self._clients.pop(camera_id, None)
        if entry is not None:
            await entry[1].close()

    async def close(self) -> None:
        for camera_id in list(self._clients):
            await self.drop(camera_id)
        await self._closing.wait()  # let replaced clients finish closing their sessions
        await self._closing.close()
        self._closing.reopen()

"""PTZ control: serialised per camera, validated before sending, and always stopped.

Safety rules:
  - every command to one camera runs under that camera's asyncio.Lock (in arrival order);
  - speeds/positions are checked against the camera's reported ranges before any SOAP call;
  - a continuous move is stopped by the service itself when its timeout ends (a server-side timer,
    independent of whether the camera honours the ONVIF Timeout) and at once when the connection that
    started it closes (WebSocket disconnect hook), and when the service stops;
  - a manual move ends a running patrol (the operator takes over).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, TypedDict

from camera_service.cameras.models import Camera
from camera_service.core.bus import EventBus
from camera_service.core.clock import Clock, SystemClock
from camera_service.core.errors import CameraUnavailable, DomainError, TimedOut, invalid_input, not_found
from camera_service.core.tasks import TaskSet, cancel_and_wait
from camera_service.core.types import JsonObject
from camera_service.onvif.client import not_supported, to_plain
from camera_service.onvif.config import OnvifConfig
from camera_service.onvif.importer import read_ptz_info
from camera_service.onvif.models import OnvifDeviceData, PtzInfo, check_vector
from camera_service.onvif.pool import ClientPool
from camera_service.rpc.errors import code_of

if TYPE_CHECKING:
    from camera_service.rpc.context import ConnectionContext

log = logging.getLogger("camera_service.onvif")


class PatrolStart(TypedDict):
    patrolling: bool
    presets: list[str]  # resolved preset tokens
    replaced: bool  # a running patrol was replaced


@dataclass
class _Move:
    connection_id: int | None
    timer: asyncio.Task[None]
    started: float = field(default_factory=time.monotonic)


class PtzController:
    def __init__(self, cfg: OnvifConfig, bus: EventBus, pool: ClientPool, clock: Clock | None = None) -> None:
        self.cfg = cfg
        self.clock: Clock = clock or SystemClock()
        self.bus = bus
        self.pool = pool
        self._locks: dict[str, asyncio.Lock] = {}
        self._moves: dict[str, _Move] = {}
        self._patrols: dict[str, asyncio.Task[None]] = {}
        self._tasks = TaskSet("ptz")  # safety-stop timers and patrols
        # camera id -> (what the info was read from, the info): re-read when the source changed
        self._info: dict[str, tuple[Hashable, PtzInfo]] = {}

    # ------------------------------------------------------------------ helpers
    def lock(self, camera_id: str) -> asyncio.Lock:
        return self._locks.setdefault(camera_id, asyncio.Lock())

    def moving(self, camera_id: str) -> bool:
        return camera_id in self._moves

    def patrolling(self, camera_id: str) -> bool:
        task = self._patrols.get(camera_id)
        return task is not None and not task.done()

    async def info(self, camera: Camera) -> PtzInfo:
        """PTZ profile and ranges: stored at import, else read from the camera once and cached."""
        stored = camera.metadata.get("onvif") if isinstance(camera.metadata, dict) else None
        key = (camera.onvif.xaddr, camera.onvif.host, camera.onvif.profile_token) if camera.onvif else None
        if isinstance(stored, dict) and isinstance(stored.get("ptz"), dict):
            cached = self._info.get(camera.id)
            if cached is not None and cached[0] == ("stored", camera.updated_at):
                info = cached[1]
            else:
                info = OnvifDeviceData.model_validate(stored).ptz
                self._info[camera.id] = (("stored", camera.updated_at), info)
        else:
            cached = self._info.get(camera.id)
            if cached is not None and cached[0] == key:
                info = cached[1]
            else:
                client = self.pool.get(camera)
                profiles = to_plain(await client.call("media", "GetProfiles")) or []
                preferred = camera.onvif.profile_token if camera.onvif else None
                info = await read_ptz_info(client, profiles, preferred)
                self._info[camera.id] = (key, info)
        if not info.supported or not info.profile_token:
            raise not_supported("ptz")
        return info

    async def _call(self, camera: Camera, operation: str, params: JsonObject) -> object:
        """The camera's SOAP reply (a zeep object; `to_plain` makes it dicts)."""
        client = self.pool.get(camera)
        try:
            return await client.call("ptz", operation, params)
        except (TimedOut, CameraUnavailable):
            await self.pool.drop(camera.id)  # reconnect next time (camera may have rebooted)
            raise

    @staticmethod
    def _vector(pan: float | None, tilt: float | None, zoom: float | None) -> JsonObject:
        vec: JsonObject = {}
        if pan is not None or tilt is not None:
            vec["PanTilt"] = {"x": pan or 0.0, "y": tilt or 0.0}
        if zoom is not None:
            vec["Zoom"] = {"x": zoom}
        return vec

    # ------------------------------------------------------------------ moves
    async def continuous_move(
        self,
        camera: Camera,
        pan: float | None,
        tilt: float | None,
        zoom: float | None,
        *,
        timeout_s: float | None,
        connection_id: int | None,
    ) -> JsonObject:
        info = await self.info(camera)
        check_vector("velocity", info.ranges, pan, tilt, zoom)
        timeout = timeout_s if timeout_s is not None else self.cfg.default_move_timeout_s
        if not 0 < timeout <= self.cfg.max_move_timeout_s:
            raise invalid_input("timeout_s", f"must be in (0, {self.cfg.max_move_timeout_s:g}] seconds")
        await self.stop_patrol(camera.id, reason="manual_move")
        async with self.lock(camera.id):
            self._cancel_timer(camera.id)
            await self._call(
                camera,
                "ContinuousMove",
                {
                    "ProfileToken": info.profile_token,
                    "Velocity": self._vector(pan, tilt, zoom),
                    "Timeout": f"PT{timeout:g}S",
                },
            )
            timer = self._tasks.spawn(self._stop_after(camera, timeout), name=f"ptz-timeout-{camera.id}")
            self._moves[camera.id] = _Move(connection_id, timer)
        self.bus.emit(
            "ptz.moved",
            camera=camera.id,
            action="continuous_move",
            pan=pan,
            tilt=tilt,
            zoom=zoom,
            timeout_s=timeout,
        )
        return {"moving": True, "timeout_s": timeout}

    def _cancel_timer(self, camera_id: str) -> None:
        move = self._moves.pop(camera_id, None)
        if move is not None and move.timer is not asyncio.current_task():
            move.timer.cancel()

    async def _stop_after(self, camera: Camera, after_s: float) -> None:
        await self.clock.sleep(after_s)
        try:
            await self.stop(camera, reason="timeout")
        except DomainError as exc:
            log.warning("ptz: stopping a timed-out move failed: %s", exc.message, extra={"camera": camera.id})

    async def stop(self, camera: Camera, reason: str = "requested") -> JsonObject:
        info = await self.info(camera)
        async with self.lock(camera.id):
            self._cancel_timer(camera.id)
            await self._call(
                camera, "Stop", {"ProfileToken": info.profile_token, "PanTilt": True, "Zoom": True}
            )
        self.bus.emit("ptz.stopped", camera=camera.id, reason=reason)
        return {"moving": False}

    async def relative_move(
        self, camera: Camera, pan: float | None, tilt: float | None, zoom: float | None
    ) -> JsonObject:
        return await self._positional(
            camera,
            "relative_move",
            "translation",
            "RelativeMove",
            "Translation",
            pan=pan,
            tilt=tilt,
            zoom=zoom,
        )

    async def absolute_move(
        self, camera: Camera, pan: float | None, tilt: float | None, zoom: float | None
    ) -> JsonObject:
        return await self._positional(
            camera, "absolute_move", "position", "AbsoluteMove", "Position", pan=pan, tilt=tilt, zoom=zoom
        )

    async def _positional(
        self,
        camera: Camera,
        action: str,
        kind: str,
        operation: str,
        key: str,
        *,
        pan: float | None,
        tilt: float | None,
        zoom: float | None,
    ) -> JsonObject:
        info = await self.info(camera)
        check_vector(kind, info.ranges, pan, tilt, zoom)
        await self.stop_patrol(camera.id, reason="manual_move")
        async with self.lock(camera.id):
            self._cancel_timer(camera.id)
            await self._call(
                camera, operation, {"ProfileToken": info.profile_token, key: self._vector(pan, tilt, zoom)}
            )
        self.bus.emit("ptz.moved", camera=camera.id, action=action, pan=pan, tilt=tilt, zoom=zoom)
        return {"ok": True}

    async def home(self, camera: Camera) -> JsonObject:
        info = await self.info(camera)
        await self.stop_patrol(camera.id, reason="manual_move")
        async with self.lock(camera.id):
            self._cancel_timer(camera.id)
            await self._call(camera, "GotoHomePosition", {"ProfileToken": info.profile_token})
        self.bus.emit("ptz.moved", camera=camera.id, action="home")
        return {"ok": True}

    # ------------------------------------------------------------------ presets
    async def presets(self, camera: Camera) -> list[JsonObject]:
        info = await self.info(camera)
        async with self.lock(camera.id):
            reply = (
                to_plain(await self._call(camera, "GetPresets", {"ProfileToken": info.profile_token})) or []
            )
        out: list[JsonObject] = []
        for p in reply:
            pos = p.get("PTZPosition") or {}
            pt, z = pos.get("PanTilt") or {}, pos.get("Zoom") or {}
            out.append(
                {
                    "token": p.get("token"),
                    "name": p.get("Name"),
                    "pan": pt.get("x"),
                    "tilt": pt.get("y"),
                    "zoom": z.get("x"),
                }
            )
        return out

    async def resolve_preset(self, camera: Camera, preset: str) -> str:
        """A preset token from a token or a name (NOT_FOUND if the camera has neither)."""
        items = await self.presets(camera)
        for item in items:
            if item["token"] == preset:
                return preset
        for item in items:
            if item["name"] == preset:
                return str(item["token"])
        raise not_found("preset", preset)

    async def goto_preset(self, camera: Camera, preset: str, *, from_patrol: bool = False) -> JsonObject:
        info = await self.info(camera)
        token = preset if from_patrol else await self.resolve_preset(camera, preset)
        if not from_patrol:
            await self.stop_patrol(camera.id, reason="manual_move")
        async with self.lock(camera.id):
            self._cancel_timer(camera.id)
            await self._call(camera, "GotoPreset", {"ProfileToken": info.profile_token, "PresetToken": token})
        self.bus.emit("ptz.moved", camera=camera.id, action="goto_preset", preset=token)
        return {"ok": True, "preset": token}

    async def set_preset(self, camera: Camera, name: str, preset: str | None) -> JsonObject:
        info = await self.info(camera)
        params: JsonObject = {"ProfileToken": info.profile_token, "PresetName": name}
        if preset is not None:
            params["PresetToken"] = preset
        async with self.lock(camera.id):
            token = await self._call(camera, "SetPreset", params)
        self.bus.emit("ptz.preset_set", camera=camera.id, preset=str(token), name=name)
        return {"ok": True, "preset": str(token), "name": name}

    async def remove_preset(self, camera: Camera, preset: str) -> JsonObject:
        info = await self.info(camera)
        token = await self.resolve_preset(camera, preset)
        async with self.lock(camera.id):
            await self._call(
                camera, "RemovePreset", {"ProfileToken": info.profile_token, "PresetToken": token}
            )
        self.bus.emit("ptz.preset_removed", camera=camera.id, preset=token)
        return {"ok": True, "preset": token}

    async def status(self, camera: Camera) -> JsonObject:
        info = await self.info(camera)
        async with self.lock(camera.id):
            st = to_plain(await self._call(camera, "GetStatus", {"ProfileToken": info.profile_token})) or {}
        pos, ms = st.get("Position") or {}, st.get("MoveStatus") or {}
        pt, z = pos.get("PanTilt") or {}, pos.get("Zoom") or {}
        utc = st.get("UtcTime")
        return {
            "pan": pt.get("x"),
            "tilt": pt.get("y"),
            "zoom": z.get("x"),
            "pan_tilt_status": ms.get("PanTilt"),
            "zoom_status": ms.get("Zoom"),
            "moving": "MOVING" in (ms.get("PanTilt"), ms.get("Zoom")),
            "utc_time": utc.isoformat() if isinstance(utc, datetime) else utc,
            "continuous_move_active": self.moving(camera.id),
            "patrol_active": self.patrolling(camera.id),
        }

    # ------------------------------------------------------------------ patrols
    async def start_patrol(
        self, camera: Camera, presets: list[str], dwell_s: float, loops: int | None
    ) -> PatrolStart:
        await self.info(camera)
        tokens = [await self.resolve_preset(camera, p) for p in presets]  # all must exist before starting
        replaced = await self.stop_patrol(camera.id, reason="replaced")
        task = self._tasks.spawn(self._patrol(camera, tokens, dwell_s, loops), name=f"ptz-patrol-{camera.id}")
        self._patrols[camera.id] = task
        self.bus.emit("ptz.patrol_started", camera=camera.id, presets=tokens, dwell_s=dwell_s, loops=loops)
        return {"patrolling": True, "presets": tokens, "replaced": replaced}

    async def _patrol(self, camera: Camera, tokens: list[str], dwell_s: float, loops: int | None) -> None:
        done = 0
        try:
            while loops is None or done < loops:
                for token in tokens:
                    await self.goto_preset(camera, token, from_patrol=True)
                    await self.clock.sleep(dwell_s)
                done += 1
            self.bus.emit("ptz.patrol_finished", camera=camera.id, loops=done)
        except DomainError as exc:
            log.warning("ptz: patrol ended by an error: %s", exc.message, extra={"camera": camera.id})
            self.bus.emit(
                "ptz.patrol_failed", camera=camera.id, error=exc.message, code=int(code_of(type(exc)))
            )
        finally:
            if self._patrols.get(camera.id) is asyncio.current_task():
                del self._patrols[camera.id]

    async def stop_patrol(self, camera_id: str, reason: str = "requested") -> bool:
        task = self._patrols.pop(camera_id, None)
        if task is None or task.done():
            return False
        await cancel_and_wait(task)
        self.bus.emit("ptz.patrol_stopped", camera=camera_id, reason=reason)
        return True

    # ------------------------------------------------------------------ safety
    async def on_disconnect(self, conn: ConnectionContext, cameras: dict[str, Camera]) -> None:
        """Stop every continuous move the closed connection started."""
        for camera_id, move in list(self._moves.items()):
            camera = cameras.get(camera_id)
            if move.connection_id == conn.id and camera is not None:
                try:
                    await self.stop(camera, reason="disconnected")
                except DomainError as exc:
                    log.warning("ptz: safety stop failed: %s", exc.message, extra={"camera": camera_id})

    @property
    def active_moves(self) -> int:
        return len(self._moves)

    @property
    def active_patrols(self) -> int:
        return sum(1 for t in self._patrols.values() if not t.done())

    async def forget(self, camera_id: str, reason: str) -> None:
        """Drop everything held for a camera (removed, or re-imported with new data)."""
        await self.stop_patrol(camera_id, reason=reason)
        self._cancel_timer(camera_id)
        self._info.pop(camera_id, None)

    def moves_of(self, connection_id: int) -> list[str]:
        return [cid for cid, move in self._moves.items() if move.connection_id == connection_id]

    async def close(self, cameras: dict[str, Camera]) -> None:
        for camera_id in list(self._patrols):
            await self.stop_patrol(camera_id, reason="shutdown")
        for camera_id in list(self._moves):
            camera = cameras.get(camera_id)
            if camera is not None:
                with contextlib.suppress(DomainError):
                    await self.stop(camera, reason="shutdown")
            self._cancel_timer(camera_id)
        await self._tasks.close()
        self._tasks.reopen()

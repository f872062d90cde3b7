"""What the recordings domain tells others: bus events of indexed segments and of sessions, and the
established protocol's pushes (recording_status_update to the clients that may see the camera, here and,
through the push relay, on the other instances; storage_status_update)."""

from __future__ import annotations

import time
from typing import Any

from camera_service.auth.scopes import in_scope
from camera_service.cameras.ports import CameraRegistry
from camera_service.core.bus import EventBus
from camera_service.core.pushes import PushRelay
from camera_service.recordings.models import RecordingSession, Segment
from camera_service.rpc.context import Broadcaster, ConnectionContext

PUSH_CHANNEL = "recording_status"  # core.pushes channel of recording_status_update between instances


class RecordingNotices:
    def __init__(
        self, bus: EventBus, connections: Broadcaster, cameras: CameraRegistry, pushes: PushRelay
    ) -> None:
        self.bus = bus
        self.connections = connections
        self.cameras = cameras
        self.pushes = pushes
        # Scale-out: recording_status_update to and from the other instances' clients.
        pushes.on(PUSH_CHANNEL, self.push_recording_status)

    def segment_indexed(self, seg: Segment) -> None:
        self.bus.emit(
            "recording.segment",
            camera=seg.camera,
            path=seg.path,
            start=seg.start,
            duration_s=seg.duration_s,
            size=seg.size,
        )

    def session_event(self, what: str, session: RecordingSession) -> None:
        """recording.started / recording.stopped on the bus."""
        data = session.model_dump(exclude={"camera"})
        if what == "started":
            self.bus.emit("recording.started", camera=session.camera, **data)
        else:
            self.bus.emit("recording.stopped", camera=session.camera, **data)

    def session_status(self, what: str, session: RecordingSession, filename: str) -> None:
        """recording_status_update of a session that started or stopped, under its compat `filename`."""
        end = session.stopped_at or time.time()
        params = {
            "device": session.camera,
            "camera": session.camera,
            "session_id": session.id,
            "status": "STARTED" if what == "started" else "STOPPED",
            "filename": filename,
            "duration": round(end - session.started_at, 3) if what == "stopped" else session.duration_s,
            "reason": session.stop_reason,
        }
        self.push_recording_status(params)
        self.pushes.publish(PUSH_CHANNEL, params)  # scale-out: the other instances' clients hear it too

    def push_recording_status(self, params: dict[str, Any]) -> None:
        camera = self.cameras.find(params["camera"])  # None: removed; only unrestricted identities hear

        def may_see(conn: ConnectionContext) -> bool:  # security: camera scopes (auth/scopes.py)
            ident = conn.identity
            if ident is None:
                return False
            return ident.unrestricted or (camera is not None and in_scope(camera, ident))

        self.connections.broadcast("recording_status_update", params, where=may_see)

    def storage_notice(self, data: dict[str, Any]) -> None:
        self.connections.broadcast("storage_status_update", data)

"""What the recordings domain offers the others, as Protocols: events (event clips and rule actions)
and analytics (detection frames stored as snapshots).

RecordingsService satisfies them; app.py passes it to the events and analytics components.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from camera_service.media.imaging import ImageFormat
from camera_service.media.snapshot import GrabbedFrame
from camera_service.recordings.models import Clip, ClipKind, RecordingSession, Snapshot


class RecordingActions(Protocol):
    async def export_range(
        self,
        camera_id: str,
        start: datetime,
        end: datetime,
        name: str | None = None,
        lock: bool = False,
        *,
        kind: ClipKind = "event",
    ) -> Clip:
        """Cut [start, end] of a camera into one MP4 clip; waits until it is recorded."""
        ...

    async def take_snapshot(
        self, camera_id: str, fmt: ImageFormat = "jpeg", quality: int = 85, max_width: int | None = None
    ) -> Snapshot:
        """Decode a current frame and store it."""
        ...

    async def start_recording(
        self, camera_id: str, duration_s: float | None = None, requested_by: str | None = None
    ) -> RecordingSession:
        """Start an on-demand (optionally timed) recording session."""
        ...


class FrameStore(Protocol):
    async def store_frame(
        self,
        camera_id: str,
        grabbed: GrabbedFrame,
        fmt: ImageFormat = "jpeg",
        quality: int = 85,
        max_width: int | None = None,
        *,
        name: str | None = None,
    ) -> Snapshot:
        """Encode an already decoded frame of a camera and store it as a snapshot."""
        ...

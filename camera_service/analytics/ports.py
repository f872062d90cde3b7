"""What the analytics domain offers the others (recordings: fresh frames, timeline marks), as Protocols."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from av.video.frame import VideoFrame


class FrameSource(Protocol):
    def latest_frame(self, camera: str) -> tuple[VideoFrame, float] | None:
        """The camera's last decoded frame and its time, if fresh enough (None: decode one yourself)."""
        ...


class ActivityMark(Protocol):
    """A motion period or a confirmed object's presence on a camera's timeline."""

    @property
    def kind(self) -> str: ...  # motion | object
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def label(self) -> str | None: ...
    @property
    def event_id(self) -> str | None: ...


class ActivitySource(Protocol):
    async def timeline_activity(self, camera: str, start: float, end: float) -> Sequence[ActivityMark]:
        """Activity marks of a camera within [start, end) (get_timeline)."""
        ...

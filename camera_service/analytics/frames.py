"""The last sampled frame of every analysed camera: analytics' samplers keep it, take_snapshot reads it.

Built in app.py before both domains, so recordings reads frames without depending on the analytics
component (which itself stores detection frames through recordings).
"""

from __future__ import annotations

from typing import Protocol

from av.video.frame import VideoFrame


class _Sampler(Protocol):
    def latest_frame(self, max_age_s: float) -> _Sample | None: ...


class _Sample(Protocol):
    @property
    def frame(self) -> VideoFrame: ...
    @property
    def time(self) -> float: ...


class LiveFrames:
    """Implements analytics.ports.FrameSource."""

    def __init__(self, max_age_s: float) -> None:
        self.max_age_s = max_age_s
        self._samplers: dict[str, _Sampler] = {}

    def attach(self, camera: str, sampler: _Sampler) -> None:
        self._samplers[camera] = sampler

    def detach(self, camera: str) -> None:
        self._samplers.pop(camera, None)

    def latest_frame(self, camera: str) -> tuple[VideoFrame, float] | None:
        sampler = self._samplers.get(camera)
        sample = sampler.latest_frame(self.max_age_s) if sampler is not None else None
        return (sample.frame, sample.time) if sample is not None else None

"""Per-camera frame sampling: one PyAV reader thread per analysed camera.

Keyframe-only decoding by default (`skip_frame = NONKEY`: the decoder drops every other frame before
decoding, ~6x cheaper than decoding all), rate-limited to the camera's fps. Each sample keeps its frame
as the camera's latest (the snapshot cache), is reduced to a small grey frame for the motion gate and the
tamper guard, and is handed on. Lost streams are reopened after `reconnect_s`. PyAV blocks, so this runs
on a daemon thread; callbacks must be thread-safe.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import av
from av.video.frame import VideoFrame

from camera_service.media.rtsp import open_live_video

log = logging.getLogger("camera_service.analytics.sampler")

_CREDENTIALS = re.compile(r"(?i)([a-z][a-z0-9+.-]*://)[^/@\s]*@")


def describe(exc: BaseException) -> str:
    """Why a stream cannot be read, for people: never with the reader's credentials (PyAV puts the URL
    into its messages, and this text is shown by get_analytics)."""
    if isinstance(exc, av.error.HTTPNotFoundError):
        return "the stream is not available (camera offline or not publishing)"
    if isinstance(exc, TimeoutError | av.error.ExitError):
        return "the stream did not answer in time"
    return _CREDENTIALS.sub(r"\1***@", f"{type(exc).__name__}: {exc}")


@dataclass
class Sample:
    camera: str
    frame: VideoFrame
    time: float  # unix seconds the frame was decoded
    index: int  # samples since the reader started


class CameraSampler:
    def __init__(
        self,
        camera: str,
        url: Callable[[], str],
        *,
        fps: float,
        keyframes_only: bool,
        on_sample: Callable[[Sample], None],
        reconnect_s: float = 2.0,
        open_timeout_s: float = 10.0,
    ) -> None:
        self.camera = camera
        self._url = url
        self.fps = fps
        self.keyframes_only = keyframes_only
        self._on_sample = on_sample
        self.reconnect_s = reconnect_s
        self.open_timeout_s = open_timeout_s
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.latest: Sample | None = None
        self.connected = False
        self.reconnects = 0
        self.error: str | None = None
        self.samples = 0
        self._thread = threading.Thread(target=self._run, name=f"analytics-{camera}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def latest_frame(self, max_age_s: float) -> Sample | None:
        with self._lock:
            sample = self.latest
        if sample is None or time.time() - sample.time > max_age_s:
            return None
        return sample

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._read()
                self.error = "the stream ended"
            except Exception as exc:
                self.error = describe(exc)
                log.debug("analytics reader %s: %s", self.camera, self.error)
            self.connected = False
            if self._stop.wait(self.reconnect_s):
                break
            self.reconnects += 1

    def _read(self) -> None:
        period = 1.0 / self.fps
        next_due = 0.0
        with open_live_video(self._url(), self.open_timeout_s) as (c, stream):
            if self.keyframes_only:
                stream.codec_context.skip_frame = "NONKEY"
            self.connected = True
            self.error = None
            for packet in c.demux(stream):
                if self._stop.is_set():
                    return
                if packet.size == 0 or (self.keyframes_only and not packet.is_keyframe):
                    continue
                now = time.time()
                if self.keyframes_only and now < next_due - 0.3 * period:
                    continue  # over the rate: keyframes stand alone, so skip before paying for the decode
                try:
                    frames = packet.decode()
                except av.error.InvalidDataError:
                    continue
                for frame in frames:
                    now = time.time()
                    if now < next_due - 0.3 * period:
                        continue
                    next_due = max(next_due, now) + period
                    sample = Sample(self.camera, frame, now, self.samples)
                    self.samples += 1
                    with self._lock:
                        self.latest = sample
                    try:
                        self._on_sample(sample)
                    except Exception:
                        log.exception("analytics sample handling failed", extra={"camera": self.camera})

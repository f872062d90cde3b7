"""Opening a camera's live RTSP stream with PyAV for in-process decoding (snapshots, analytics)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import av
from av.container import InputContainer
from av.video.stream import VideoStream


@contextlib.contextmanager
def open_live_video(url: str, open_timeout_s: float) -> Iterator[tuple[InputContainer, VideoStream]]:
    """The container and its first video stream, tuned to reach the newest frame fast."""
    # The SDP already carries SPS/PPS: probe almost nothing, or av.open reads ~0.5 s of stream first.
    opts = {
        "rtsp_transport": "tcp",
        "timeout": str(int(open_timeout_s * 1_000_000)),
        "fflags": "nobuffer",
        "flags": "low_delay",
        "analyzeduration": "100000",
        "probesize": "4096",
        "fpsprobesize": "0",
    }
    with av.open(url, options=opts, timeout=(open_timeout_s, open_timeout_s)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "SLICE"  # frame threading would delay every frame by N frames
        yield container, stream

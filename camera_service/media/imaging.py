"""Frame -> JPEG/PNG with PyAV's own encoders (no Pillow), and media probing of local files.

Everything here blocks: call it through asyncio.to_thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
from av.video.frame import VideoFrame

ImageFormat = Literal["jpeg", "png"]


@dataclass(frozen=True)
class EncodedImage:
    data: bytes
    format: ImageFormat
    width: int
    height: int


def _quality_to_qscale(quality: int) -> int:
    # JPEG quality 1..100 -> mjpeg qscale 31..2 (lower qscale = better).
    q = min(100, max(1, quality))
    return round(31 - (q - 1) * 29 / 99)


def scaled_size(width: int, height: int, max_width: int | None) -> tuple[int, int]:
    if not max_width or width <= max_width:
        return width, height
    new_h = max(2, round(height * max_width / width / 2) * 2)
    return max_width - max_width % 2, new_h


def encode_frame(
    frame: VideoFrame, fmt: ImageFormat = "jpeg", quality: int = 85, max_width: int | None = None
) -> EncodedImage:
    width, height = scaled_size(frame.width, frame.height, max_width)
    pix_fmt = "yuvj420p" if fmt == "jpeg" else "rgb24"
    enc = av.CodecContext.create("mjpeg" if fmt == "jpeg" else "png", "w")
    enc.width, enc.height, enc.pix_fmt = width, height, pix_fmt
    enc.time_base = Fraction(1, 25)  # must be a Fraction; irrelevant for a single image
    if fmt == "jpeg":
        enc.qmin = enc.qmax = _quality_to_qscale(quality)
    src = frame.reformat(width=width, height=height, format=pix_fmt)
    data = b"".join(bytes(p) for p in [*enc.encode(src), *enc.encode(None)])
    return EncodedImage(data=data, format=fmt, width=width, height=height)


@dataclass(frozen=True)
class MediaInfo:
    duration_s: float | None
    codec: str | None
    width: int | None
    height: int | None


def probe_file(path: Path) -> MediaInfo:
    """Duration/codec/resolution of a local MP4 (fMP4 segments included)."""
    with av.open(str(path)) as container:
        video = container.streams.video[0] if container.streams.video else None
        duration = container.duration / 1_000_000 if container.duration else None
        if duration is None and video is not None and video.duration and video.time_base:
            duration = float(video.duration * video.time_base)
        if video is None:
            return MediaInfo(duration, None, None, None)
        cc = video.codec_context
        return MediaInfo(duration, cc.name, cc.width or None, cc.height or None)


def first_frame(path: Path) -> VideoFrame | None:
    """The first decodable video frame of a local file (for thumbnails)."""
    with av.open(str(path)) as container:
        if not container.streams.video:
            return None
        for frame in container.decode(video=0):
            return frame
    return None


def decode_all(path: Path) -> tuple[int, float]:
    """Decode every video frame; returns (frames, seconds between first and last pts). Used by checks."""
    frames = 0
    first: float | None = None
    last = 0.0
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames += 1
            if frame.time is not None:
                first = frame.time if first is None else first
                last = frame.time
    return frames, (last - first) if first is not None else 0.0

"""Open a stream with PyAV (in a worker thread) and measure what it carries. Packets only: no decoding."""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av


class ProbeFailed(Exception):
    """The stream could not be opened or read. `timed_out` distinguishes a timeout."""

    def __init__(self, reason: str, *, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.timed_out = timed_out


@dataclass
class ProbeResult:
    codec: str | None = None
    profile: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    bitrate_kbps: float | None = None
    audio_codec: str | None = None
    audio_sample_rate: int | None = None
    audio_channels: int | None = None
    sampled_s: float = 0.0
    video_packets: int = 0


def probe_stream(url: str, *, timeout_s: float, sample_s: float, device: bool = False) -> ProbeResult:
    """Blocking: open `url`, read packets for about `sample_s` seconds of stream time, report."""
    options: dict[str, str] = {}
    if url.startswith(("rtsp://", "rtsps://")):
        options["rtsp_transport"] = "tcp"
    deadline = time.monotonic() + timeout_s
    try:
        container: Any = av.open(
            url,
            mode="r",
            format="v4l2" if device else None,
            options=options,
            timeout=(timeout_s, min(timeout_s, 5.0)),
        )
    except av.error.FFmpegError as exc:
        raise ProbeFailed(_reason(exc), timed_out=time.monotonic() >= deadline - 0.05) from None
    except OSError as exc:
        raise ProbeFailed(_reason(exc)) from None
    try:
        return _measure(container, deadline, sample_s)
    finally:
        container.close()


def _measure(container: Any, deadline: float, sample_s: float) -> ProbeResult:
    result = ProbeResult()
    video = container.streams.video[0] if container.streams.video else None
    audio = container.streams.audio[0] if container.streams.audio else None
    streams = [s for s in (video, audio) if s is not None]
    if not streams:
        raise ProbeFailed("the stream has no audio or video track")
    if audio is not None:
        result.audio_codec = audio.codec_context.name
        result.audio_sample_rate = audio.codec_context.sample_rate or None
        result.audio_channels = audio.codec_context.channels or None
    first_pts: int | None = None
    last_pts: int | None = None
    count = 0
    total_bytes = 0
    started = time.monotonic()
    try:
        for packet in container.demux(*streams):
            if time.monotonic() > deadline:
                break
            total_bytes += packet.size
            if packet.stream is video and packet.pts is not None and packet.size:
                count += 1
                first_pts = packet.pts if first_pts is None else min(first_pts, packet.pts)
                last_pts = packet.pts if last_pts is None else max(last_pts, packet.pts)
                if (
                    first_pts is not None
                    and video.time_base is not None
                    and (last_pts - first_pts) * video.time_base >= sample_s
                ):
                    break
            elif video is None and time.monotonic() - started >= sample_s:
                break
    except av.error.FFmpegError as exc:
        if count == 0:
            raise ProbeFailed(_reason(exc)) from None
    if video is not None:
        if count == 0:
            raise ProbeFailed("no video arrived before the timeout", timed_out=True)
        ctx = video.codec_context
        result.codec = ctx.name
        result.profile = ctx.profile or None
        result.width = ctx.width or None
        result.height = ctx.height or None
        result.video_packets = count
        span = (
            float((last_pts - first_pts) * video.time_base)
            if first_pts is not None and last_pts is not None and video.time_base is not None
            else 0.0
        )
        result.sampled_s = round(span, 3)
        if span > 0 and count > 1:
            result.fps = round((count - 1) / span, 2)
            result.bitrate_kbps = round(total_bytes * 8 / 1000 / span, 1)
        elif video.average_rate:
            result.fps = round(float(Fraction(video.average_rate)), 2)
    return result


def _reason(exc: BaseException) -> str:
    # The message may contain the URL (and its password): callers pass it through mask_credentials().
    return f"{type(exc).__name__}: {exc}"

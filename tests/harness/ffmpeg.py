"""ffmpeg test-pattern publishers for tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import TracebackType

from tests.harness.procs import ManagedProcess


def ffmpeg_binary() -> str:
    path = os.environ.get("FFMPEG_BIN") or shutil.which("ffmpeg")
    if not path:
        raise RuntimeError("ffmpeg not found: run `bash scripts/setup.sh` (installs it) or set FFMPEG_BIN")
    return path


class TestCamera:
    """Publishes an H.264 ``testsrc2`` pattern to an RTSP URL (TCP) with ffmpeg.

    Usable as ``async with TestCamera(url) as cam:`` (starts/stops), or via ``start()``/``stop()``/
    ``restart()``. ``running`` is False once ffmpeg has exited (e.g. the server went away).
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        url: str,
        *,
        width: int = 320,
        height: int = 240,
        fps: int = 15,
        gop: int | None = None,
        extra_args: list[str] | None = None,
        log_path: str | os.PathLike[str] | None = None,
        input_args: list[str] | None = None,
    ) -> None:
        self.url = url
        self.width = width
        self.height = height
        self.fps = fps
        self.gop = gop if gop is not None else fps
        self.extra_args = list(extra_args or [])
        self.log_path = Path(log_path) if log_path is not None else None
        # Default input: the moving testsrc2 pattern; `input_args` replaces it (an image loop, black...).
        self.input_args = (
            list(input_args)
            if input_args is not None
            else [
                "-f",
                "lavfi",
                "-i",
                f"testsrc2=size={width}x{height}:rate={fps}",
            ]
        )
        self.process: ManagedProcess | None = None

    @property
    def argv(self) -> list[str]:
        return [
            ffmpeg_binary(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-nostdin",
            "-re",
            *self.input_args,
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
            "-pix_fmt",
            "yuv420p",
            "-g",
            str(self.gop),
            *self.extra_args,
            "-f",
            "rtsp",
            "-rtsp_transport",
            "tcp",
            self.url,
        ]

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.running

    def output(self, last: int | None = None) -> str:
        return self.process.output(last) if self.process else ""

    async def start(self) -> TestCamera:
        if self.running:
            return self
        self.process = ManagedProcess(self.argv, name="ffmpeg-testcam", log_path=self.log_path)
        await self.process.start()
        return self

    async def stop(self, timeout: float = 5.0) -> int | None:
        if self.process is None:
            return None
        return await self.process.stop(timeout)

    def kill(self) -> None:
        """SIGKILL the publisher (abrupt disconnect, no RTSP TEARDOWN)."""
        if self.process is not None:
            self.process.kill()

    async def restart(self) -> TestCamera:
        await self.stop()
        return await self.start()

    async def __aenter__(self) -> TestCamera:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def __repr__(self) -> str:
        return f"<TestCamera {self.url} {self.width}x{self.height}@{self.fps} running={self.running}>"


def image_loop_args(path: str | os.PathLike[str], fps: int = 5) -> list[str]:
    """Input args that loop one still image (PNG/JPEG) as a video at `fps` (use as `input_args`), with
    a filter keeping the size even (H.264 4:2:0 needs it) — pass `even_size_filter()` in extra_args."""
    return ["-loop", "1", "-framerate", str(fps), "-i", str(path)]


def even_size_filter() -> list[str]:
    return ["-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2"]

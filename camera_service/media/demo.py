"""The demo camera: a test pattern published into MediaMTX by a supervised ffmpeg, so a fresh install
shows one live camera. The path it publishes to is provisioned like any other camera."""

from __future__ import annotations

import logging
import shutil
from urllib.parse import urlsplit

from camera_service.config.sections import DemoConfig, MediaMTXConfig
from camera_service.core.component import ComponentHealth
from camera_service.mediamtx.process import ManagedProcess

log = logging.getLogger("camera_service.demo")


def demo_ffmpeg_argv(demo: DemoConfig, rtsp_url: str) -> list[str]:
    return [
        demo.ffmpeg,
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        "-re",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={demo.width}x{demo.height}:rate={demo.fps}",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-tune",
        "zerolatency",
        "-pix_fmt",
        "yuv420p",
        "-g",
        str(demo.gop),
        "-f",
        "rtsp",
        "-rtsp_transport",
        "tcp",
        rtsp_url,
    ]


class DemoPublisher:
    """Runs the demo ffmpeg publisher while the service runs; restarts it if it dies."""

    name = "demo_camera"

    def __init__(self, demo: DemoConfig, mediamtx: MediaMTXConfig, publish_url: str | None = None) -> None:
        """`publish_url`: where ffmpeg publishes, with the service's own publish credential (security M7)."""
        self.demo = demo
        self.rtsp_url = publish_url or f"rtsp://127.0.0.1:{mediamtx.rtsp_port}/{demo.camera_id}"
        self._proc = ManagedProcess(
            "demo-ffmpeg",
            demo_ffmpeg_argv(demo, self.rtsp_url),
            restart=True,
            backoff_initial_s=1.0,
            backoff_max_s=10.0,
            log_lines=lambda line: log.warning("ffmpeg: %s", self._masked(line)),
        )

    def _masked(self, line: str) -> str:
        password = urlsplit(self.rtsp_url).password
        return line.replace(password, "***") if password else line

    async def start(self) -> None:
        if shutil.which(self.demo.ffmpeg) is None:
            log.error("ffmpeg not found; the demo camera stays offline (run scripts/setup.sh)")
            return
        await self._proc.start()

    async def stop(self) -> None:
        await self._proc.stop()

    def health(self) -> ComponentHealth:
        return ComponentHealth(
            name=self.name,
            healthy=self._proc.running,
            status="publishing" if self._proc.running else "stopped",
            details={"camera": self.demo.camera_id, "restarts": self._proc.restarts},
        )

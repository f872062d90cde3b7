"""Operations gauges read at scrape time: per-camera state and free disk space.

They exist for alerting (deploy/prometheus/alerts.yml): a camera offline for minutes, a camera that should be
recording but has no stream (a recording gap), a volume running out of space. Values come from callables the
composition root wires in, so this module knows no domain.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


@dataclass(frozen=True)
class CameraState:
    camera: str
    online: bool
    recording: bool


class OpsCollector(Collector):
    def __init__(self, cameras: Callable[[], Iterable[CameraState]], volumes: dict[str, Path]) -> None:
        self._cameras = cameras
        self._volumes = volumes

    def collect(self) -> Iterator[Metric]:
        online = GaugeMetricFamily(
            "camera_service_camera_online", "1 while the camera's stream is live", labels=["camera"]
        )
        recording = GaugeMetricFamily(
            "camera_service_camera_recording",
            "1 while the camera has an active recording session, by camera",
            labels=["camera"],
        )
        for state in self._cameras():
            online.add_metric([state.camera], 1.0 if state.online else 0.0)
            recording.add_metric([state.camera], 1.0 if state.recording else 0.0)
        yield online
        yield recording
        free = GaugeMetricFamily(
            "camera_service_storage_free_bytes",
            "Free bytes on the volume holding each data root (data, recordings)",
            labels=["root"],
        )
        size = GaugeMetricFamily(
            "camera_service_storage_size_bytes", "Size of the volume holding each data root", labels=["root"]
        )
        for name, path in self._volumes.items():
            try:
                usage = shutil.disk_usage(path)
            except OSError:
                continue  # not created yet: no sample rather than a wrong one
            free.add_metric([name], float(usage.free))
            size.add_metric([name], float(usage.total))
        yield free
        yield size
        try:  # scraped from the event loop (the /metrics handler): its live tasks (soak runs watch the trend)
            tasks = len(asyncio.all_tasks())
        except RuntimeError:
            return
        yield GaugeMetricFamily("camera_service_asyncio_tasks", "Live asyncio tasks", value=tasks)

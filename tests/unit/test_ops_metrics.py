"""The ops gauges: per-camera online/recording samples and the volume of each data root."""

from __future__ import annotations

import shutil
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from camera_service.observability.ops_metrics import CameraState, OpsCollector


def test_samples_per_camera_and_volume(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    states = [CameraState("gate", True, True), CameraState("yard", False, False)]
    registry.register(OpsCollector(lambda: states, {"data": tmp_path, "missing": tmp_path / "nope"}))
    text = generate_latest(registry).decode()
    assert 'camera_service_camera_online{camera="gate"} 1.0' in text
    assert 'camera_service_camera_online{camera="yard"} 0.0' in text
    assert 'camera_service_camera_recording{camera="gate"} 1.0' in text
    prefix = 'camera_service_storage_size_bytes{root="data"}'
    size = next(line for line in text.splitlines() if line.startswith(prefix))
    assert float(size.rsplit(" ", 1)[1]) == shutil.disk_usage(tmp_path).total
    assert 'root="missing"' not in text  # a root that does not exist yet has no sample, not a wrong one
    assert "camera_service_asyncio_tasks" not in text  # outside an event loop there is nothing to count

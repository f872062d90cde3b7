"""Unit tests: low-disk levels from percent and absolute thresholds; a recording local-device camera runs
its publisher with the path (runOnInit) instead of on demand."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from camera_service.cameras.config import CamerasConfig
from camera_service.cameras.models import Camera
from camera_service.cameras.provisioning import PathConfigBuilder
from camera_service.core.bus import Event, EventBus
from camera_service.recordings.config import RetentionConfig
from camera_service.recordings.retention import GB
from camera_service.recordings.storage import StorageManager
from camera_service.server.internal import InternalHttpServer


def _manager(tmp_path: Path, notices: list[dict[str, Any]], **settings: Any) -> StorageManager:
    return StorageManager(
        store=None,  # type: ignore[arg-type]  # check_disk never touches the store
        bus=EventBus(),
        roots={"recordings": tmp_path},
        initial=RetentionConfig(**settings),
        protected=list,
        buffers=dict,
        recording_now=set,
        on_warning=notices.append,
    )


def test_disk_levels_from_percent_and_absolute_thresholds(tmp_path: Path) -> None:
    free = shutil.disk_usage(tmp_path).free
    notices: list[dict[str, Any]] = []
    mgr = _manager(tmp_path, notices, warn_free_percent=0, block_free_percent=0)
    events: list[Event] = []
    mgr.bus.subscribe(events.append, topics=["storage.*"])
    assert mgr.check_disk() == "ok" and notices == []
    mgr.settings = RetentionConfig(warn_free_percent=0, block_free_percent=0, warn_free_gb=2 * free / GB)
    assert mgr.check_disk() == "warning" and not mgr.blocked
    mgr.settings = mgr.settings.model_copy(update={"block_free_gb": 2 * free / GB})
    assert mgr.check_disk() == "critical" and mgr.level == "critical"
    mgr.settings = RetentionConfig(warn_free_percent=100, block_free_percent=0)
    assert mgr.check_disk() == "warning"
    mgr.settings = RetentionConfig(warn_free_percent=0, block_free_percent=0, warn_free_gb=0.000_001)
    assert mgr.check_disk() == "ok"
    assert [n["level"] for n in notices] == ["warning", "critical", "warning", "ok"]
    assert [e.data["level"] for e in events] == ["warning", "critical", "warning"]  # "ok" is no event


def test_recording_local_device_publishes_with_the_path() -> None:
    builder = PathConfigBuilder(CamerasConfig(), InternalHttpServer(port=1234, secret="s"))
    recording: set[str] = set()
    builder.contributors.append(lambda cam: {"record": cam.id in recording})
    dev = Camera(id="d", name="d", source="/dev/video2")
    idle = builder.desired(dev)
    assert idle is not None and "-i /dev/video2" in idle["runOnDemand"] and "runOnInit" not in idle
    recording.add("d")
    rec = builder.desired(dev)
    assert rec is not None and rec["runOnInit"] == idle["runOnDemand"] and rec["runOnInitRestart"] is True
    assert "runOnDemand" not in rec and "runOnDemandRestart" not in rec
    pull = builder.desired(Camera(id="d", name="d", source="rtsp://h/x", on_demand=True))
    assert pull is not None and "runOnInit" not in pull  # pulled sources: sourceOnDemand, not runOnInit

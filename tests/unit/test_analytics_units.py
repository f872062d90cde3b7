"""Unit tests of the analytics building blocks: motion gate, tamper guard, tracker, plugin discovery,
the newest-frame-wins queue."""

from __future__ import annotations

import importlib.metadata
import sys
import types

import numpy as np

from camera_service.analytics.models import (
    CameraAnalyticsSettings,
    Detection,
    MotionSettings,
    TamperSettings,
    Zone,
)
from camera_service.analytics.motion import MotionGate, TamperGuard, polygon_mask, zone_of
from camera_service.analytics.plugins import PluginManifest, discover, run_order
from camera_service.analytics.tracker import Tracker
from camera_service.analytics.worker import InferenceQueue, Job


def scene(seed: int = 1, h: int = 100, w: int = 160) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(60, 200, size=(h, w), dtype=np.uint8)


def test_motion_gate_static_scene_is_quiet_and_a_moving_block_is_motion() -> None:
    gate = MotionGate(MotionSettings())
    base = scene()
    assert gate.update(base).initial  # first frame: looked at once, not a motion event
    for _ in range(3):
        r = gate.update(base)
        assert not r.motion and r.regions == []
    moved = base.copy()
    moved[40:60, 100:130] = 255 - moved[40:60, 100:130] // 4
    r = gate.update(moved)
    assert r.motion and len(r.regions) == 1
    x1, y1, x2, y2 = r.regions[0]
    assert 0.55 < x1 < 0.7 and 0.35 < y1 < 0.45 and x2 > 0.75 and y2 > 0.55


def test_motion_gate_ignores_tiny_changes_lightning_and_masked_areas() -> None:
    gate = MotionGate(MotionSettings(contour_area=50))
    base = scene()
    gate.update(base)
    speck = base.copy()
    speck[10:13, 10:13] = 0  # 9 pixels < contour_area
    assert not gate.update(speck).motion
    flash = np.clip(base.astype(int) + 120, 0, 255).astype(np.uint8)
    r = gate.update(flash)
    assert r.lightning and not r.motion  # whole frame at once: lighting, background re-learnt
    assert not gate.update(flash).motion

    masked = MotionGate(
        MotionSettings(), [Zone(name="tree", points=[(0.5, 0.0), (1.0, 0.0), (1.0, 1.0)], mask=True)]
    )
    masked.update(base)
    moved = base.copy()
    moved[5:25, 140:158] = 255  # top right corner: inside the mask triangle
    assert not masked.update(moved).motion


def test_polygon_mask_and_zone_of() -> None:
    m = polygon_mask([(0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)], 10, 4)
    assert m[:, :5].all() and not m[:, 5:].any()
    zones = [Zone(name="door", points=[(0.0, 0.5), (0.5, 0.5), (0.5, 1.0), (0.0, 1.0)])]
    assert zone_of((0.1, 0.2, 0.3, 0.9), zones) == "door"  # feet at (0.2, 0.9)
    assert zone_of((0.6, 0.2, 0.9, 0.9), zones) is None


def test_tamper_guard_blackout_blur_and_scene_change() -> None:
    guard = TamperGuard(TamperSettings(samples=2))
    ok = scene()
    for _ in range(5):
        assert guard.update(ok) == ([], [])
    black = np.full_like(ok, 3)
    assert guard.update(black) == ([], [])
    assert guard.update(black) == (["blackout"], [])
    assert guard.active == {"blackout"}
    guard.update(ok)
    assert guard.update(ok) == ([], ["blackout"])

    blurred = np.full_like(ok, 128)  # flat grey: no edges left, but not dark
    blurred[:, :80] = 120
    guard.update(blurred)
    started, _ = guard.update(blurred)
    assert "blur" in started

    guard2 = TamperGuard(TamperSettings(samples=2))
    for _ in range(5):
        guard2.update(ok)
    other = 255 - ok  # the camera now looks elsewhere
    assert guard2.update(other) == ([], [])
    assert guard2.update(other)[0] == ["scene_change"]
    assert guard2.update(other) == ([], [])  # the new view is the reference now


def test_tracker_confirms_on_median_and_stationary_objects_stop_the_detector() -> None:
    tracker = Tracker(CameraAnalyticsSettings(stationary_after=3, stationary_interval=10))
    person = Detection("person", 0.9, (0.1, 0.1, 0.4, 0.9), "objects")
    assert tracker.update(0.0, [person]) == []  # median of [0.9, 0, 0] = 0
    assert tracker.wants_detection(1)  # a new track keeps the detector running
    confirmed = tracker.update(1.0, [person])
    assert [t.label for t in confirmed] == ["person"] and confirmed[0].best_score == 0.9
    assert tracker.update(2.0, [person]) == []  # announced once
    tracker.update(3.0, [person])
    assert not tracker.wants_detection(4) and tracker.wants_detection(10)  # stationary: every 10th
    low = Detection("cat", 0.4, (0.5, 0.5, 0.6, 0.6), "objects")
    tracker.update(4.0, [person, low])
    assert {t.label for t in tracker.tracks} == {"person"}  # below min_score: dropped
    for i in range(3):
        tracker.update(5.0 + i, [])
    assert tracker.tracks == []  # gone after max_misses


def test_discovery_reports_broken_third_party_plugins_and_keeps_good_ones() -> None:
    mod = types.ModuleType("fake_analytics_plugins")

    class Good:
        manifest = PluginManifest(id="glitter", version="0.1", capabilities=["glitter"], entrypoint="x:y")

        def load(self, ctx: object) -> None: ...

        def detect(self, frames: object) -> list[list[Detection]]:
            return []

    def broken() -> object:
        raise RuntimeError("no licence")

    mod.Good = Good  # type: ignore[attr-defined]
    mod.broken = broken  # type: ignore[attr-defined]
    mod.not_a_plugin = object  # type: ignore[attr-defined]
    sys.modules[mod.__name__] = mod
    try:
        eps = [
            importlib.metadata.EntryPoint(
                "glitter", "fake_analytics_plugins:Good", "camera_service.analytics"
            ),
            importlib.metadata.EntryPoint(
                "broken", "fake_analytics_plugins:broken", "camera_service.analytics"
            ),
            importlib.metadata.EntryPoint(
                "odd", "fake_analytics_plugins:not_a_plugin", "camera_service.analytics"
            ),
            importlib.metadata.EntryPoint("gone", "no_such_module_xyz:Plugin", "camera_service.analytics"),
        ]
        found = discover(eps)
    finally:
        del sys.modules[mod.__name__]
    assert {"objects", "motion", "tamper", "glitter"} <= set(found.manifests)
    assert found.manifests["glitter"].entrypoint == "fake_analytics_plugins:Good"
    assert "no licence" in found.errors["broken"]
    assert "did not return a plugin" in found.errors["odd"]
    assert "ModuleNotFoundError" in found.errors["gone"]


def test_run_order_puts_requirements_first() -> None:
    m = {
        "objects": PluginManifest(id="objects", version="1", capabilities=[], entrypoint="a:b"),
        "plates": PluginManifest(
            id="plates", version="1", capabilities=[], entrypoint="a:b", requires=["objects"]
        ),
    }
    assert run_order(["plates"], m) == ["objects", "plates"]
    assert run_order(["plates", "objects", "missing"], m) == ["objects", "plates"]


def test_queue_keeps_the_newest_frame_per_camera_and_counts_drops() -> None:
    dropped: list[str] = []
    q = InferenceQueue(
        {},
        models_dir=__import__("pathlib").Path("."),
        threads=1,
        max_batch=8,
        batch_wait_ms=0,
        queue_size=2,
        restart_backoff_s=0,
        on_result=lambda job, dets: None,
        on_drop=dropped.append,
    )
    img = np.zeros((4, 4, 3), dtype=np.uint8)
    q.submit(Job("a", 1.0, img, ["objects"]))
    q.submit(Job("a", 2.0, img, ["objects"]))  # replaces the waiting frame of camera a
    q.submit(Job("b", 2.0, img, ["objects"]))
    q.submit(Job("c", 3.0, img, ["objects"]))  # full (2 cameras): the oldest camera's frame goes
    assert dropped == ["a", "a"]
    assert q.depth() == 2
    batch = q._take_batch()
    assert batch is not None and [(j.camera, j.time) for j in batch] == [("b", 2.0), ("c", 3.0)]


def test_stream_errors_never_carry_the_readers_credentials() -> None:
    from camera_service.analytics.sampler import describe

    err = OSError("Server returned 401 Unauthorized: 'rtsp://_internal:s3cr3t@127.0.0.1:8554/cam1'")
    text = describe(err)
    assert "s3cr3t" not in text and "_internal" not in text and "rtsp://***@127.0.0.1:8554/cam1" in text


def test_class_thresholds_and_minimum_duration_hold_back_confirmation() -> None:
    strict = Tracker(CameraAnalyticsSettings(class_thresholds={"car": 0.95}))
    car = Detection("car", 0.9, (0.1, 0.1, 0.3, 0.3), "objects")
    for t in range(4):
        assert strict.update(float(t), [car]) == []  # 0.9 never reaches the car's own 0.95
    slow = Tracker(CameraAnalyticsSettings(min_duration_s=3.0))
    person = Detection("person", 0.9, (0.1, 0.1, 0.4, 0.9), "objects")
    assert slow.update(0.0, [person]) == [] and slow.update(1.0, [person]) == []  # seen 1 s only
    assert slow.update(2.0, [person]) == []
    assert [t.label for t in slow.update(3.0, [person])] == ["person"]

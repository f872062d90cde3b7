"""The YOLO objects detector against synthetic ONNX models in both output layouts: layout detection,
letterbox un-scaling on non-square frames, thresholds, class-wise NMS, label files, config and load errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from camera_service.analytics.builtin.yolo import ENTRYPOINT, YoloObjects, decode, detect_layout, nms
from camera_service.analytics.config import AnalyticsConfig, YoloConfig
from camera_service.analytics.plugins import FrameInput, LoadContext, discover
from tests.harness.yolo_model import candidate_rows, write_model

LABELS = ["person", "car", "dog"]
SIZE = 64


def to_input(box: tuple[float, float, float, float], w: int, h: int) -> tuple[float, float, float, float]:
    """A frame box (pixels) in letterboxed input pixels (scale to fit, centred)."""
    scale = min(SIZE / w, SIZE / h)
    left, top = (SIZE - round(w * scale)) // 2, (SIZE - round(h * scale)) // 2
    x1, y1, x2, y2 = box
    return (x1 * scale + left, y1 * scale + top, x2 * scale + left, y2 * scale + top)


def scene(w: int, h: int) -> list[tuple[tuple[float, float, float, float], int, float, float]]:
    """Candidates (input px, class, class score, objectness) of a frame w x h."""
    car = (0.2 * w, 0.2 * h, 0.6 * w, 0.8 * h)
    car_dup = (0.22 * w, 0.21 * h, 0.62 * w, 0.8 * h)  # IoU > 0.45 with car: suppressed
    dog = (0.75 * w, 0.5 * h, 0.95 * w, 0.9 * h)
    return [
        (to_input(car, w, h), 1, 0.9, 0.9),  # 0.81
        (to_input(car_dup, w, h), 1, 0.5, 0.9),  # 0.45, same class, overlaps: NMS drops it
        (to_input(car, w, h), 0, 0.8, 1.0),  # same box, other class: class-wise NMS keeps it
        (to_input(dog, w, h), 2, 0.7, 1.0),
        (to_input(dog, w, h), 0, 0.9, 0.1),  # 0.09 after objectness: under the threshold
    ]


def expected(w: int, h: int) -> list[tuple[str, float, tuple[float, float, float, float]]]:
    return [
        ("car", 0.81, (0.2, 0.2, 0.6, 0.8)),
        ("person", 0.8, (0.2, 0.2, 0.6, 0.8)),
        ("dog", 0.7, (0.75, 0.5, 0.95, 0.9)),
    ]


def model_output(layout: str, w: int, h: int) -> np.ndarray:
    rows = candidate_rows(scene(w, h), len(LABELS))
    if layout == "v5":
        return rows
    v8 = np.concatenate([rows[:, :4], rows[:, 5:] * rows[:, 4:5]], axis=1)  # no objectness
    return v8.T.copy()


def load(tmp_path: Path, output: np.ndarray, **cfg: object) -> YoloObjects:
    model = write_model(
        tmp_path / "yolo.onnx", output, SIZE, static_batch=bool(cfg.pop("static_batch", False))
    )
    plugin = YoloObjects()
    options = {
        "yolo": YoloConfig.model_validate({"model": model, "labels": LABELS, **cfg}).model_dump(mode="json")
    }
    plugin.load(LoadContext(tmp_path, 1, options))
    return plugin


@pytest.mark.parametrize("layout", ["v5", "v8"])
@pytest.mark.parametrize("static_batch", [False, True])
def test_both_layouts_decode_to_frame_boxes_on_non_square_frames(
    tmp_path: Path, layout: str, static_batch: bool
) -> None:
    wide, tall = (200, 100), (90, 240)
    for w, h in (wide, tall):
        plugin = load(tmp_path, model_output(layout, w, h), static_batch=static_batch)
        assert plugin.layout == layout and plugin.size == SIZE
        frames = [FrameInput("cam", 0.0, np.zeros((h, w, 3), np.uint8)) for _ in range(2)]
        for found in plugin.detect(frames):
            got = sorted(((d.label, d.score, d.box) for d in found), key=lambda t: -t[1])
            assert [g[0] for g in got] == [e[0] for e in expected(w, h)], got
            for (_, score, box), (_, e_score, e_box) in zip(got, expected(w, h), strict=True):
                assert score == pytest.approx(e_score, abs=1e-4)
                assert box == pytest.approx(e_box, abs=1e-4)
            assert all(d.plugin == "objects" for d in found)


def test_thresholds_and_max_detections_come_from_config(tmp_path: Path) -> None:
    plugin = load(tmp_path, model_output("v5", 200, 100), score_threshold=0.75, max_detections=5)
    found = plugin.detect([FrameInput("cam", 0.0, np.zeros((100, 200, 3), np.uint8))])[0]
    assert sorted(d.label for d in found) == ["car", "person"]
    plugin = load(tmp_path, model_output("v8", 200, 100), nms_iou=0.99, max_detections=2)
    found = plugin.detect([FrameInput("cam", 0.0, np.zeros((100, 200, 3), np.uint8))])[0]
    assert [(d.label, d.score) for d in found] == [("car", 0.81), ("person", 0.8)]


def test_layout_detection_from_the_output_shape() -> None:
    assert detect_layout([1, 8400, 85], 80) == "v5"
    assert detect_layout([1, 84, 8400], 80) == "v8"
    assert detect_layout([1, 25200, 6], 1) == "v5"
    assert detect_layout([1, 84, 8400], 80, "v8") == "v8"
    with pytest.raises(ValueError, match="does not fit 3 labels"):
        detect_layout([1, 84, 8400], 3)
    with pytest.raises(ValueError, match="layout v5"):
        detect_layout([1, 84, 8400], 80, "v5")
    with pytest.raises(ValueError, match=r"\[N, a, b\]"):
        detect_layout([1, 84], 80)


def test_nms_is_greedy_by_score_and_decode_is_class_wise() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 9]], np.float32)
    assert nms(boxes, np.array([0.5, 0.9, 0.8, 0.4], np.float32), 0.5) == [1, 2]
    assert nms(boxes, np.array([0.5, 0.9, 0.8, 0.4], np.float32), 0.95) == [1, 2, 0, 3]
    # two identical boxes of different classes both survive
    rows = candidate_rows([((0, 0, 10, 10), 0, 0.9, 1.0), ((0, 0, 10, 10), 1, 0.8, 1.0)], 2)
    _b, scores, cls = decode(rows, "v5", 0.25, 0.45, 100)
    assert cls.tolist() == [0, 1] and scores.tolist() == pytest.approx([0.9, 0.8])


def test_labels_file_and_config_errors(tmp_path: Path) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text("person\ncar\n\ndog\n", encoding="utf-8")
    model = write_model(tmp_path / "m.onnx", model_output("v8", 200, 100), SIZE)
    plugin = YoloObjects()
    cfg = YoloConfig(model=model, labels=labels)
    plugin.load(LoadContext(tmp_path, 1, {"yolo": cfg.model_dump(mode="json")}))
    assert plugin.labels == LABELS
    with pytest.raises(ValidationError, match="treshold"):
        YoloConfig.model_validate({"model": model, "labels": LABELS, "treshold": 0.2})
    with pytest.raises(ValidationError, match="at least one class"):
        YoloConfig.model_validate({"model": model, "labels": []})
    assert AnalyticsConfig().yolo is None


def test_broken_models_fail_load_with_a_reason(tmp_path: Path) -> None:
    def fails(options: dict[str, object], match: str) -> None:
        with pytest.raises(Exception, match=match):
            YoloObjects().load(LoadContext(tmp_path, 1, options))

    fails({}, "analytics.yolo is not configured")
    fails({"yolo": {"model": str(tmp_path / "none.onnx"), "labels": LABELS}}, "none.onnx is missing")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    fails({"yolo": {"model": str(tmp_path / "junk.onnx"), "labels": LABELS}}, ".")
    model = write_model(tmp_path / "m.onnx", model_output("v5", 200, 100), SIZE)
    fails({"yolo": {"model": str(model), "labels": ["a", "b"]}}, "does not fit 2 labels")
    fails({"yolo": {"model": str(model), "labels": LABELS, "input_size": 128}}, "configured input_size 128")


def test_config_picks_the_objects_detector() -> None:
    found = discover([], {"objects": ENTRYPOINT})
    assert found.manifests["objects"].entrypoint == ENTRYPOINT
    assert found.detector_entrypoints["objects"] == ENTRYPOINT
    assert discover([]).detector_entrypoints["objects"].endswith("objects:SsdLiteObjects")

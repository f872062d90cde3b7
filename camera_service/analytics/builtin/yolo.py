"""Objects with a YOLO-family ONNX model named in config (`analytics.yolo`), in place of SSDLite.

Frames are letterboxed (aspect kept, grey padding) to the square input, the output is decoded in either
standard layout, and boxes are mapped back to the frame:
- v5 (YOLOv5/v7): `[N, boxes, 5+classes]`, rows `cx, cy, w, h, objectness, class scores...`;
- v8 (YOLOv8/11): `[N, 4+classes, boxes]`, columns `cx, cy, w, h, class scores...` (no objectness).
Box coordinates are input pixels. Class-wise NMS runs in numpy. The plugin keeps the id `objects`, so
per-camera `detectors`, labels, thresholds, tracking, events and search are unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from camera_service.analytics.builtin.common import ort_session, resize_rgb
from camera_service.analytics.config import YoloConfig
from camera_service.analytics.models import Detection
from camera_service.analytics.plugins import FrameInput, LoadContext, PluginManifest

ENTRYPOINT = "camera_service.analytics.builtin.yolo:YoloObjects"
DEFAULT_INPUT = 640
PAD_VALUE = 114  # the grey YOLO exports are trained with

Layout = Literal["v5", "v8"]


def read_labels(labels: list[str] | Path) -> list[str]:
    if isinstance(labels, list):
        return list(labels)
    names = [line.strip() for line in labels.read_text(encoding="utf-8").splitlines()]
    names = [n for n in names if n]
    if not names:
        raise ValueError(f"labels file {labels} names no class")
    return names


def detect_layout(shape: Sequence[int], classes: int, wanted: str = "auto") -> Layout:
    """The layout of a `[N, a, b]` output for `classes` labels (`wanted` v5/v8 forces one)."""
    if len(shape) != 3:
        raise ValueError(f"YOLO output must be [N, a, b], got shape {list(shape)}")
    _, a, b = shape
    v5, v8 = b == 5 + classes, a == 4 + classes
    if wanted == "v5" and v5:
        return "v5"
    if wanted == "v8" and v8:
        return "v8"
    if wanted == "auto" and (v5 or v8):
        if v5 and v8:  # degenerate: the attribute axis is the short one
            return "v8" if a < b else "v5"
        return "v5" if v5 else "v8"
    raise ValueError(
        f"YOLO output shape {list(shape)} does not fit {classes} labels "
        f"(v5: [N, boxes, {5 + classes}], v8: [N, {4 + classes}, boxes]; layout {wanted})"
    )


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, float, int, int]:
    """`image` scaled to fit `size`x`size` keeping its aspect, centred on grey: (img, scale, left, top)."""
    h, w = image.shape[:2]
    scale = min(size / w, size / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    out = np.full((size, size, 3), PAD_VALUE, dtype=np.uint8)
    left, top = (size - nw) // 2, (size - nh) // 2
    out[top : top + nh, left : left + nw] = resize_rgb(image, nw, nh)
    return out, scale, left, top


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> list[int]:
    """Indices kept by greedy NMS over `boxes` (x1, y1, x2, y2), best score first."""
    order = np.argsort(-scores, kind="stable")
    areas = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        ix = np.clip(
            np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0]), 0, None
        )
        iy = np.clip(
            np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1]), 0, None
        )
        inter = ix * iy
        union = areas[i] + areas[rest] - inter
        overlap = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
        order = rest[overlap <= iou_threshold]
    return keep


def decode(
    output: np.ndarray, layout: Layout, score_threshold: float, iou_threshold: float, max_detections: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image's raw output (`[a, b]`) -> boxes (x1, y1, x2, y2 input pixels), scores, class ids."""
    rows = output.T if layout == "v8" else output  # -> [boxes, attributes]
    rows = rows.astype(np.float32, copy=False)
    class_scores = rows[:, 5:] * rows[:, 4:5] if layout == "v5" else rows[:, 4:]
    cls = class_scores.argmax(axis=1)
    scores = class_scores[np.arange(len(rows)), cls]
    sel = scores >= score_threshold
    xywh, scores, cls = rows[sel, :4], scores[sel], cls[sel]
    boxes = np.stack(
        [
            xywh[:, 0] - xywh[:, 2] / 2,
            xywh[:, 1] - xywh[:, 3] / 2,
            xywh[:, 0] + xywh[:, 2] / 2,
            xywh[:, 1] + xywh[:, 3] / 2,
        ],
        axis=1,
    )
    # Class-wise NMS in one pass: boxes of different classes are shifted apart so they never overlap.
    offset = cls[:, None].astype(np.float32) * (float(np.abs(boxes).max(initial=0.0)) + 1.0) * 2
    keep = nms(boxes + offset, scores, iou_threshold)[:max_detections]
    return boxes[keep], scores[keep], cls[keep]


class YoloObjects:
    manifest = PluginManifest(
        id="objects",
        version="1.0",
        capabilities=["objects"],
        entrypoint=ENTRYPOINT,
        description="Objects with the YOLO-family ONNX model configured in analytics.yolo (its own labels).",
    )

    def __init__(self) -> None:
        self._session: Any = None
        self._input = ""
        self._batch: int | None = None  # a static batch size of the model (exports often fix 1)
        self.cfg: YoloConfig | None = None
        self.labels: list[str] = []
        self.size = DEFAULT_INPUT
        self.layout: Layout = "v8"

    def load(self, ctx: LoadContext) -> None:
        raw = ctx.options.get("yolo")
        if raw is None:
            raise ValueError("analytics.yolo is not configured")
        cfg = YoloConfig.model_validate(raw)
        self.labels = read_labels(cfg.labels)
        session = ort_session(cfg.model, ctx.threads)
        inp, out = session.get_inputs()[0], session.get_outputs()[0]
        shape = list(inp.shape)
        if len(shape) != 4:
            raise ValueError(f"YOLO input must be NCHW, got shape {shape}")
        static = [d for d in shape[2:] if isinstance(d, int)]
        size = cfg.input_size or (static[0] if static else DEFAULT_INPUT)
        if any(d != size for d in static):
            raise ValueError(f"model input is {shape[2:]}, configured input_size {size}")
        self._batch = shape[0] if isinstance(shape[0], int) else None
        out_shape = list(out.shape)
        if all(isinstance(d, int) for d in out_shape[1:]):
            self.layout = detect_layout(out_shape, len(self.labels), cfg.layout)
        else:  # dynamic output: told apart on the first result
            probe = session.run(None, {inp.name: np.zeros((self._batch or 1, 3, size, size), np.float32)})
            self.layout = detect_layout(probe[0].shape, len(self.labels), cfg.layout)
        self._session, self._input, self.cfg, self.size = session, inp.name, cfg, size

    def detect(self, frames: Sequence[FrameInput]) -> list[list[Detection]]:
        if not frames:
            return []
        assert self.cfg is not None
        boxed = [letterbox(f.image, self.size) for f in frames]
        batch = np.stack([b[0] for b in boxed]).transpose(0, 3, 1, 2).astype(np.float32) / 255.0
        step = self._batch or len(frames)
        outputs = [
            self._session.run(None, {self._input: batch[i : i + step]})[0]
            for i in range(0, len(frames), step)
        ]
        raw = np.concatenate(outputs)
        results: list[list[Detection]] = []
        for i, frame in enumerate(frames):
            _img, scale, left, top = boxed[i]
            h, w = frame.image.shape[:2]
            boxes, scores, cls = decode(
                raw[i], self.layout, self.cfg.score_threshold, self.cfg.nms_iou, self.cfg.max_detections
            )
            found: list[Detection] = []
            for box, score, c in zip(boxes, scores, cls, strict=True):
                if int(c) >= len(self.labels):
                    continue
                x1, x2 = ((float(v) - left) / scale / w for v in (box[0], box[2]))
                y1, y2 = ((float(v) - top) / scale / h for v in (box[1], box[3]))
                norm = tuple(min(1.0, max(0.0, v)) for v in (x1, y1, x2, y2))
                found.append(Detection(self.labels[int(c)], round(float(score), 4), norm, "objects"))
            results.append(found)
        return results

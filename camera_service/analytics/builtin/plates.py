"""Licence plates: PP-OCR (rapidocr, models shipped in its wheel) on vehicle crops.

Runs after `objects` and reads the text inside each car/truck/bus/motorcycle box (padded a little); with
`plates_full_frame` (a camera aimed at a lane or gate) it reads the whole frame too. Text that looks like
a plate (4-10 letters/digits, at least one digit) becomes a `plate` detection with its text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from camera_service.analytics.models import Detection
from camera_service.analytics.plugins import FrameInput, LoadContext, PluginManifest

VEHICLES = {"car", "truck", "bus", "motorcycle"}
MIN_TEXT_SCORE = 0.5
PAD = 0.05


def plate_text(text: str) -> str | None:
    """The text as a plate (upper case, inner single spaces kept) or None if it cannot be one."""
    cleaned = " ".join("".join(ch for ch in part if ch.isalnum()) for part in text.upper().split())
    chars = cleaned.replace(" ", "")
    if not 4 <= len(chars) <= 10 or not any(ch.isdigit() for ch in chars):
        return None
    return cleaned.strip()


class PlateReader:
    manifest = PluginManifest(
        id="plates",
        version="1.0",
        capabilities=["plates"],
        entrypoint="camera_service.analytics.builtin.plates:PlateReader",
        requires=["objects"],
        description="Licence plate text (PP-OCR via rapidocr) on vehicle crops; events `detection.plate`.",
    )

    def __init__(self) -> None:
        self._ocr: Any = None

    def load(self, ctx: LoadContext) -> None:
        from rapidocr import RapidOCR

        self._ocr = RapidOCR(
            params={
                "Global.use_cls": False,  # plates are upright
                "Global.log_level": "error",
                "EngineConfig.onnxruntime.intra_op_num_threads": ctx.threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )

    def _read(self, image: np.ndarray) -> list[tuple[str, float, tuple[float, float, float, float]]]:
        """(text, score, box in this image's normalised coordinates) of each plate-like text line."""
        result = self._ocr(np.ascontiguousarray(image[:, :, ::-1]))  # rapidocr takes BGR
        if result is None or not getattr(result, "txts", None):
            return []
        h, w = image.shape[:2]
        found = []
        for text, score, quad in zip(result.txts, result.scores, result.boxes, strict=True):
            plate = plate_text(str(text))
            if plate is None or float(score) < MIN_TEXT_SCORE:
                continue
            pts = np.asarray(quad, dtype=np.float32)
            box = (
                float(pts[:, 0].min() / w),
                float(pts[:, 1].min() / h),
                float(pts[:, 0].max() / w),
                float(pts[:, 1].max() / h),
            )
            found.append((plate, float(score), box))
        return found

    def detect(self, frames: Sequence[FrameInput]) -> list[list[Detection]]:
        out: list[list[Detection]] = []
        for f in frames:
            h, w = f.image.shape[:2]
            regions = [d.box for d in f.prior if d.label in VEHICLES]
            if f.options.get("plates_full_frame"):
                regions.append((0.0, 0.0, 1.0, 1.0))
            found: list[Detection] = []
            for x1, y1, x2, y2 in regions:
                px1, py1 = max(0.0, x1 - PAD), max(0.0, y1 - PAD)
                px2, py2 = min(1.0, x2 + PAD), min(1.0, y2 + PAD)
                crop = f.image[int(py1 * h) : int(py2 * h), int(px1 * w) : int(px2 * w)]
                if crop.shape[0] < 16 or crop.shape[1] < 16:
                    continue
                cw, ch = px2 - px1, py2 - py1
                for text, score, (bx1, by1, bx2, by2) in self._read(crop):
                    box = (px1 + bx1 * cw, py1 + by1 * ch, px1 + bx2 * cw, py1 + by2 * ch)
                    if not any(d.text == text for d in found):
                        found.append(Detection("plate", round(score, 4), box, "plates", text=text))
            out.append(found)
        return out

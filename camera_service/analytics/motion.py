"""Motion gate and tamper guard on a small grey frame (numpy only; ~0.1 ms per 100-line frame).

Motion: running-average background, per-pixel change threshold, changed pixels grouped into regions on a
4x4-cell grid (a region counts when it holds `contour_area` changed pixels), a lightning guard (most of
the frame changing at once re-learns the background instead of reporting motion), masks and zones.
Tamper: blackout (dark and flat), blur (sharpness collapsing against its usual level), scene change
(most of the frame differing from a slow reference for several samples).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from camera_service.analytics.models import MotionSettings, TamperSettings, Zone

CELL = 4

Grey = npt.NDArray[np.uint8]  # an HxW luma image
Mask = npt.NDArray[np.bool_]  # HxW, True = selected pixel
Floats = npt.NDArray[np.float32]


def polygon_mask(points: list[tuple[float, float]], width: int, height: int) -> Mask:
    """Boolean HxW mask of the pixels whose centres lie inside the normalised polygon (even-odd rule)."""
    ys, xs = np.mgrid[0:height, 0:width]
    px = (xs + 0.5) / width
    py = (ys + 0.5) / height
    inside = np.zeros((height, width), dtype=bool)
    n = len(points)
    for i in range(n):
        x1, y1 = points[i]
        x2, y2 = points[(i + 1) % n]
        if y1 == y2:
            continue
        crosses = (py >= min(y1, y2)) & (py < max(y1, y2))
        x_at = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (px < x_at)
    return inside


def point_in_polygon(x: float, y: float, points: list[tuple[float, float]]) -> bool:
    inside = False
    n = len(points)
    for i in range(n):
        x1, y1 = points[i]
        x2, y2 = points[(i + 1) % n]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def zone_of(box: tuple[float, float, float, float], zones: list[Zone]) -> str | None:
    """The first (non-mask) zone holding the box's bottom centre (where an object stands)."""
    x, y = (box[0] + box[2]) / 2, box[3]
    for zone in zones:
        if not zone.mask and point_in_polygon(x, y, zone.points):
            return zone.name
    return None


@dataclass
class MotionResult:
    motion: bool
    regions: list[tuple[float, float, float, float]] = field(default_factory=list)  # normalised boxes
    changed: float = 0.0  # share of pixels changed
    lightning: bool = False
    initial: bool = False  # the first frame (no background yet): analysed, but not a motion event


class MotionGate:
    def __init__(self, cfg: MotionSettings, zones: list[Zone] | None = None) -> None:
        self.cfg = cfg
        self.zones = [z for z in zones or [] if z.mask]
        self._bg: Floats | None = None
        self._keep: Mask | None = None  # pixels outside every mask

    def update(self, grey: Grey) -> MotionResult:
        frame = grey.astype(np.float32)
        h, w = frame.shape
        if self._bg is None or self._bg.shape != frame.shape:
            self._bg = frame
            self._keep = None
            if self.zones:
                masked = np.zeros((h, w), dtype=bool)
                for z in self.zones:
                    masked |= polygon_mask(z.points, w, h)
                self._keep = ~masked
            return MotionResult(True, [(0.0, 0.0, 1.0, 1.0)], 1.0, initial=True)  # new scene: look once
        changed = np.abs(frame - self._bg) > self.cfg.threshold
        if self._keep is not None:
            changed &= self._keep
        share = float(changed.mean())
        if share >= self.cfg.lightning_threshold:
            self._bg = frame  # lighting switched or the camera moved: re-learn, do not report
            return MotionResult(False, [], share, lightning=True)
        self._bg += self.cfg.alpha * (frame - self._bg)
        regions = self._regions(changed)
        return MotionResult(bool(regions), regions, share)

    def _regions(self, changed: Mask) -> list[tuple[float, float, float, float]]:
        h, w = changed.shape
        gh, gw = h // CELL, w // CELL
        if gh == 0 or gw == 0 or not changed.any():
            return []
        counts = changed[: gh * CELL, : gw * CELL].reshape(gh, CELL, gw, CELL).sum(axis=(1, 3))
        occupied = counts > 0
        seen = np.zeros_like(occupied)
        regions: list[tuple[float, float, float, float]] = []
        for cy, cx in zip(*np.nonzero(occupied), strict=True):
            if seen[cy, cx]:
                continue
            stack = [(int(cy), int(cx))]
            seen[cy, cx] = True
            area, y1, x1, y2, x2 = 0, cy, cx, cy, cx
            while stack:
                y, x = stack.pop()
                area += int(counts[y, x])
                y1, x1, y2, x2 = min(y1, y), min(x1, x), max(y2, y), max(x2, x)
                for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                    if 0 <= ny < gh and 0 <= nx < gw and occupied[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        stack.append((ny, nx))
            if area >= self.cfg.contour_area:
                regions.append((x1 * CELL / w, y1 * CELL / h, (x2 + 1) * CELL / w, (y2 + 1) * CELL / h))
        return regions


def sharpness(grey: Grey) -> float:
    """Variance of the 4-neighbour Laplacian: falls sharply when the image is defocused or covered."""
    f = grey.astype(np.float32)
    lap = -4 * f[1:-1, 1:-1] + f[:-2, 1:-1] + f[2:, 1:-1] + f[1:-1, :-2] + f[1:-1, 2:]
    return float(lap.var())


class TamperGuard:
    """Reports transitions: `update` returns the tamper kinds that started and those that cleared."""

    KINDS = ("blackout", "blur", "scene_change")

    def __init__(self, cfg: TamperSettings) -> None:
        self.cfg = cfg
        self.active: set[str] = set()
        self._streak = dict.fromkeys(self.KINDS, 0)
        self._clear_streak = dict.fromkeys(self.KINDS, 0)
        self._sharp_ref: float | None = None
        self._reference: Floats | None = None

    def update(self, grey: Grey) -> tuple[list[str], list[str]]:
        f = grey.astype(np.float32)
        dark = float(f.mean()) < self.cfg.blackout_luma and float(f.std()) < 8.0
        sharp = sharpness(grey)
        blurred = (
            not dark
            and self._sharp_ref is not None
            and self._sharp_ref > 20.0
            and sharp < self.cfg.blur_ratio * self._sharp_ref
        )
        scene = False
        if self._reference is not None and self._reference.shape == f.shape and not dark:
            scene = float((np.abs(f - self._reference) > 40).mean()) >= self.cfg.scene_change_fraction
        observed = {"blackout": dark, "blur": blurred, "scene_change": scene}
        started, cleared = [], []
        for kind in self.KINDS:
            if observed[kind]:
                self._streak[kind] += 1
                self._clear_streak[kind] = 0
                if kind not in self.active and self._streak[kind] >= self.cfg.samples:
                    self.active.add(kind)
                    started.append(kind)
            else:
                self._streak[kind] = 0
                self._clear_streak[kind] += 1
                if kind in self.active and self._clear_streak[kind] >= self.cfg.samples:
                    self.active.discard(kind)
                    cleared.append(kind)
        if "scene_change" in started:
            self._reference = f  # the new view becomes the reference
            self.active.discard("scene_change")  # a one-off event, not a lasting state
        if not (dark or blurred or scene):
            # Learn the usual state only from healthy frames.
            self._sharp_ref = sharp if self._sharp_ref is None else 0.9 * self._sharp_ref + 0.1 * sharp
            self._reference = f if self._reference is None else 0.9 * self._reference + 0.1 * f
        return started, cleared

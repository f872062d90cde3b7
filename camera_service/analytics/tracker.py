"""Per-camera object tracks: IoU matching, confirmation by the median of recent scores, stationarity.

At ~1 sample per second objects move far between samples, so matching is greedy on IoU with a low
gate (same label only). A track is confirmed once the median of its last scores (padded with zeros to
three) reaches the class threshold and it has been seen for `min_duration_s`; it is announced once.
A track whose box stays put for `stationary_after` samples is stationary: it is not re-announced and,
alone, no longer keeps the detector running on every sample.
"""

from __future__ import annotations

import statistics
import uuid
from collections import deque
from dataclasses import dataclass, field

from camera_service.analytics.models import CameraAnalyticsSettings, Detection, iou

MATCH_IOU = 0.1
STILL_IOU = 0.8
HISTORY = 5


@dataclass
class Track:
    id: str
    label: str
    box: tuple[float, float, float, float]
    first_seen: float
    last_seen: float
    scores: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY))
    best_score: float = 0.0
    best_box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    best_time: float = 0.0
    best_context: object = None  # the frame of the best score (for the snapshot)
    text: str | None = None  # plates: text read at the best score
    misses: int = 0
    still: int = 0  # consecutive samples without moving
    anchor: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    announced: bool = False
    stationary: bool = False
    event_id: str | None = None  # of its detection event, once announced

    def median(self) -> float:
        vals = list(self.scores)
        while len(vals) < 3:
            vals.append(0.0)
        return float(statistics.median(vals))


class Tracker:
    def __init__(self, settings: CameraAnalyticsSettings) -> None:
        self.settings = settings
        self.tracks: list[Track] = []
        self.ended: list[Track] = []  # announced tracks that ended in the last update

    def update(self, time: float, detections: list[Detection], context: object = None) -> list[Track]:
        """Feed one sample's detections; returns tracks confirmed by this sample (to announce)."""
        s = self.settings
        dets = [d for d in detections if d.score >= s.min_score]
        pairs = sorted(
            (
                (iou(t.box, d.box), ti, di)
                for ti, t in enumerate(self.tracks)
                for di, d in enumerate(dets)
                if t.label == d.label
            ),
            reverse=True,
        )
        used_t: set[int] = set()
        used_d: set[int] = set()
        for score, ti, di in pairs:
            if score < MATCH_IOU or ti in used_t or di in used_d:
                continue
            used_t.add(ti)
            used_d.add(di)
            self._observe(self.tracks[ti], dets[di], time, context)
        for ti, t in enumerate(self.tracks):
            if ti not in used_t:
                t.misses += 1
        self.ended = [t for t in self.tracks if t.misses >= s.max_misses and t.announced]
        self.tracks = [t for t in self.tracks if t.misses < s.max_misses]
        for di, d in enumerate(dets):
            if di not in used_d:
                t = Track(uuid.uuid4().hex[:12], d.label, d.box, time, time, anchor=d.box)
                self._observe(t, d, time, context)
                self.tracks.append(t)
        confirmed = []
        for t in self.tracks:
            if t.announced or t.misses:
                continue
            threshold = s.class_thresholds.get(t.label, s.threshold)
            if t.median() >= threshold and t.last_seen - t.first_seen >= s.min_duration_s:
                t.announced = True
                confirmed.append(t)
        return confirmed

    def _observe(self, t: Track, d: Detection, time: float, context: object) -> None:
        t.scores.append(d.score)
        t.box = d.box
        t.last_seen = time
        t.misses = 0
        if d.score > t.best_score:
            t.best_score, t.best_box, t.best_time, t.best_context = d.score, d.box, time, context
            if d.text:
                t.text = d.text
        if iou(t.anchor, d.box) >= STILL_IOU:
            t.still += 1
        else:
            t.anchor, t.still = d.box, 0
            t.stationary = False
        if t.still >= self.settings.stationary_after:
            t.stationary = True
        if t.announced and t.stationary:
            t.best_context = None  # nothing more to snapshot; free the frame

    def wants_detection(self, sample_index: int) -> bool:
        """Run the detector without motion: while any track is new or moving, and now and then for
        stationary ones (to notice them leaving)."""
        if any(not t.stationary for t in self.tracks):
            return True
        return bool(self.tracks) and sample_index % self.settings.stationary_interval == 0

    def counts(self) -> dict[str, int]:
        return {
            "tracks": len(self.tracks),
            "stationary": sum(1 for t in self.tracks if t.stationary),
        }

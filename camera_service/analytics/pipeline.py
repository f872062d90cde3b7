"""One analysed camera: its sampler, motion gate, tamper guard, tracker and counters.

`on_sample` runs on the sampler's thread: it gates the frame and, when detectors should run, converts it
to RGB and submits it to the inference queue (never on the event loop). What becomes events (motion,
tamper, detections) is handed to the event loop through `post`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from camera_service.analytics.models import CameraAnalyticsSettings
from camera_service.analytics.motion import Grey, MotionGate, MotionResult, TamperGuard
from camera_service.analytics.sampler import CameraSampler, Sample
from camera_service.analytics.tracker import Tracker
from camera_service.analytics.worker import Job
from camera_service.core.types import JsonObject

log = logging.getLogger("camera_service.analytics")

MAX_DETECT_WIDTH = 1280  # frames for detectors are capped here (faces/plates need detail, not 4K)


@dataclass
class Counters:
    sampled: int = 0
    gated: int = 0  # sampled, but no detector ran (no motion, nothing moving)
    detected: int = 0  # detector results received
    dropped: int = 0  # replaced in the queue by a newer frame, or lost with a dead worker
    motion: int = 0  # samples with motion


@dataclass
class SampleOutcome:
    camera: str
    time: float
    motion: MotionResult | None
    tamper_started: list[str] = field(default_factory=list)
    tamper_cleared: list[str] = field(default_factory=list)


class CameraPipeline:
    def __init__(
        self,
        camera: str,
        settings: CameraAnalyticsSettings,
        *,
        url: Callable[[], str],
        detectors: list[str],
        submit: Callable[[Job], None],
        post: Callable[[SampleOutcome], None],
        count: Callable[[str, str], None],
        reconnect_s: float,
    ) -> None:
        self.camera = camera
        self.settings = settings
        self.detectors = detectors  # detector-stage plugin ids to run on gated frames
        self.gating = "motion" in settings.detectors
        self.gate = MotionGate(settings.motion, settings.zones)
        self.tamper = TamperGuard(settings.tamper) if "tamper" in settings.detectors else None
        self.tracker = Tracker(settings)
        self.counters = Counters()
        self._submit = submit
        self._post = post
        self._count = count
        self.options: JsonObject = {"plates_full_frame": settings.plates_full_frame}
        self.sampler = CameraSampler(
            camera,
            url,
            fps=settings.fps,
            keyframes_only=settings.keyframes_only,
            on_sample=self.on_sample,
            reconnect_s=reconnect_s,
        )
        # motion/stopped bookkeeping (event loop only)
        self.in_motion = False
        self.motion_since = 0.0
        self.last_motion = 0.0

    def start(self) -> None:
        self.sampler.start()

    def stop(self) -> None:
        self.sampler.stop()

    def _grey(self, sample: Sample) -> Grey:
        f = sample.frame
        h = min(self.settings.motion.frame_height, f.height)
        w = max(2, round(f.width * h / f.height / 2) * 2)
        return np.asarray(f.reformat(width=w, height=h, format="gray").to_ndarray(), dtype=np.uint8)

    def on_sample(self, sample: Sample) -> None:
        """Sampler thread: gate, tamper check, maybe submit for detection, then report."""
        self.counters.sampled += 1
        self._count(self.camera, "sampled")
        motion: MotionResult | None = None
        started: list[str] = []
        cleared: list[str] = []
        if self.gating or self.tamper is not None:
            grey = self._grey(sample)
            if self.gating:
                motion = self.gate.update(grey)
                if motion.motion and not motion.initial:
                    self.counters.motion += 1
            if self.tamper is not None:
                started, cleared = self.tamper.update(grey)
        if self.detectors:
            run = (
                not self.gating
                or (motion is not None and motion.motion)
                or self.tracker.wants_detection(sample.index)
            )
            if run and not self.tamper_blocks():
                self._submit(self._job(sample))
            else:
                self.counters.gated += 1
                self._count(self.camera, "gated")
        self._post(SampleOutcome(self.camera, sample.time, motion, started, cleared))

    def tamper_blocks(self) -> bool:
        """A black or covered picture has nothing to detect."""
        return self.tamper is not None and "blackout" in self.tamper.active

    def _job(self, sample: Sample) -> Job:
        f = sample.frame
        if f.width > MAX_DETECT_WIDTH:
            h = max(2, round(f.height * MAX_DETECT_WIDTH / f.width / 2) * 2)
            image = f.reformat(width=MAX_DETECT_WIDTH, height=h, format="rgb24").to_ndarray()
        else:
            image = f.to_ndarray(format="rgb24")
        return Job(
            camera=self.camera,
            time=sample.time,
            image=np.asarray(image, dtype=np.uint8),  # rgb24: already uint8, no copy
            detectors=list(self.detectors),
            options=self.options,
            context=f,
        )

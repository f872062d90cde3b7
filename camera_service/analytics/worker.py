"""Detectors run in one worker process, fed by a bounded newest-frame-wins queue in micro-batches.

The service side (`InferenceQueue`) keeps at most one waiting frame per camera: a newer frame replaces
the waiting one (counted as dropped). A dispatcher thread collects up to `max_batch` frames (waiting at
most `batch_wait_ms` for the batch to fill), sends them over a pipe, and hands the results back through
`on_result`. If the worker dies (killed, crashed), the batch in flight is dropped and the worker is
started again; analytics resumes with the next frames. The worker is started with `spawn`: a fork of
the service (threads, event loop, sockets) is never safe.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from time import monotonic, perf_counter
from typing import TYPE_CHECKING

from camera_service.analytics.models import Detection

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from camera_service.analytics.plugins import PluginManifest, RgbImage
    from camera_service.core.types import JsonObject

log = logging.getLogger("camera_service.analytics.worker")


@dataclass
class Job:
    camera: str
    time: float  # frame time (unix)
    image: RgbImage
    detectors: list[str]
    options: JsonObject = field(default_factory=dict)
    queued_at: float = field(default_factory=monotonic)
    context: object = None  # stays in this process (the frame, for snapshots)


@dataclass
class BatchStats:
    size: int
    plugin_ms: dict[str, float]
    lag_s: float  # oldest frame's wait in the queue


# --------------------------------------------------------------------------- the worker process


def worker_main(
    conn: Connection,
    entrypoints: dict[str, str],
    models_dir: str,
    threads: int,
    options: JsonObject | None = None,
) -> None:
    """Entry point of the worker process: load the plugins, then answer batches until told to stop."""
    from camera_service.analytics.plugins import DetectorPlugin, LoadContext, build_plugin, run_order

    plugins: dict[str, DetectorPlugin] = {}
    errors: dict[str, str] = {}
    ctx = LoadContext(Path(models_dir), threads, dict(options or {}))
    for pid, ep in entrypoints.items():
        try:
            plugin = build_plugin(ep)
            plugin.load(ctx)
            plugins[pid] = plugin
        except Exception as exc:
            errors[pid] = f"{type(exc).__name__}: {exc}"
    manifests = {pid: p.manifest for pid, p in plugins.items()}
    conn.send(("ready", errors))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg[0] == "stop":
            return
        _, batch_id, frames = msg  # frames: list of (camera, time, image, detectors, options)
        results: list[list[Detection]] = [[] for _ in frames]
        timings: dict[str, float] = {}
        wanted = {d for f in frames for d in f[3]}
        from camera_service.analytics.plugins import FrameInput

        inputs = [FrameInput(f[0], f[1], f[2], f[4]) for f in frames]
        for pid in run_order(sorted(wanted), manifests):
            idx = [i for i, f in enumerate(frames) if pid in f[3] or _required_by(pid, f[3], manifests)]
            if not idx:
                continue
            started = perf_counter()
            try:
                found = plugins[pid].detect([inputs[i] for i in idx])
            except Exception as exc:
                errors[pid] = f"{type(exc).__name__}: {exc}"
                continue
            timings[pid] = (perf_counter() - started) * 1000
            for i, dets in zip(idx, found, strict=True):
                inputs[i].prior.extend(dets)
                results[i].extend(dets)
        conn.send(("result", batch_id, results, timings, errors))


def _required_by(pid: str, wanted: list[str], manifests: Mapping[str, PluginManifest]) -> bool:
    return any(pid in manifests[w].requires for w in wanted if w in manifests)


# --------------------------------------------------------------------------- the service side

ResultCallback = Callable[[Job, list[Detection]], None]
# ("result", batch id, detections per frame, plugin -> ms, plugin -> error)
BatchReply = tuple[str, int, list[list[Detection]], dict[str, float], dict[str, str]]
StatsCallback = Callable[[BatchStats], None]


class InferenceQueue:
    def __init__(
        self,
        entrypoints: dict[str, str],
        models_dir: Path,
        *,
        threads: int,
        max_batch: int,
        batch_wait_ms: float,
        queue_size: int,
        restart_backoff_s: float,
        on_result: ResultCallback,
        on_stats: StatsCallback | None = None,
        on_drop: Callable[[str], None] | None = None,
        options: JsonObject | None = None,
    ) -> None:
        """`options`: JSON config sections handed to the plugins' `load` (LoadContext.options)."""
        self.entrypoints = entrypoints
        self.options = dict(options or {})
        self.models_dir = models_dir
        self.threads = threads
        self.max_batch = max_batch
        self.batch_wait_s = batch_wait_ms / 1000
        self.queue_size = queue_size
        self.restart_backoff_s = restart_backoff_s
        self._on_result = on_result
        self._on_stats = on_stats
        self._on_drop = on_drop
        self._cond = threading.Condition()
        self._pending: dict[str, Job] = {}  # insertion order = age
        self._stop = False
        self._proc: BaseProcess | None = None
        self._conn: Connection | None = None
        self.plugin_errors: dict[str, str] = {}
        self.restarts = 0
        self.batches = 0
        self.frames_done = 0
        self.ready = False
        self._thread = threading.Thread(target=self._run, name="analytics-dispatch", daemon=True)

    # --- intake (any thread) ---
    def submit(self, job: Job) -> None:
        dropped: list[str] = []
        with self._cond:
            old = self._pending.pop(job.camera, None)
            if old is not None:
                dropped.append(old.camera)
            while len(self._pending) >= self.queue_size:
                oldest = next(iter(self._pending))
                dropped.append(self._pending.pop(oldest).camera)
            self._pending[job.camera] = job
            self._cond.notify_all()
        if self._on_drop is not None:
            for camera in dropped:
                self._on_drop(camera)

    def depth(self) -> int:
        with self._cond:
            return len(self._pending)

    def oldest_wait_s(self) -> float:
        with self._cond:
            if not self._pending:
                return 0.0
            return monotonic() - next(iter(self._pending.values())).queued_at

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.is_alive() else None

    # --- lifecycle ---
    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout)
        self._shutdown_worker()

    def _start_worker(self) -> bool:
        mp = multiprocessing.get_context("spawn")
        parent, child = mp.Pipe()
        proc = mp.Process(
            target=worker_main,
            args=(child, self.entrypoints, str(self.models_dir), self.threads, self.options),
            name="camera-service-analytics",
            daemon=True,
        )
        proc.start()
        child.close()
        self._proc, self._conn = proc, parent
        while not self._stop:
            if parent.poll(0.2):
                try:
                    kind, errors = parent.recv()
                except (EOFError, OSError):
                    return False
                self.plugin_errors = dict(errors)
                self.ready = kind == "ready"
                return self.ready
            if not proc.is_alive():
                return False
        return False

    def _shutdown_worker(self) -> None:
        self.ready = False
        conn, proc = self._conn, self._proc
        self._conn = self._proc = None
        if conn is not None:
            with contextlib.suppress(OSError, ValueError):
                conn.send(("stop",))
            conn.close()
        if proc is not None:
            proc.join(2.0)
            if proc.is_alive():
                proc.kill()
                proc.join(2.0)

    # --- dispatch loop ---
    def _take_batch(self) -> list[Job] | None:
        with self._cond:
            while not self._pending and not self._stop:
                self._cond.wait(0.5)
            if self._stop:
                return None
            deadline = monotonic() + self.batch_wait_s
            while len(self._pending) < self.max_batch and not self._stop:
                left = deadline - monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            batch = []
            for camera in list(self._pending)[: self.max_batch]:
                batch.append(self._pending.pop(camera))
            return batch

    def _run(self) -> None:
        batch_id = 0
        while not self._stop:
            if self._proc is None or not self._proc.is_alive():
                if self._proc is not None:
                    self.restarts += 1
                    log.error("analytics worker died (exit %s); restarting", self._proc.exitcode)
                    self._shutdown_worker()
                    if self._sleep(self.restart_backoff_s):
                        return
                if not self._start_worker():
                    if self._sleep(max(self.restart_backoff_s, 0.5)):
                        return
                    continue
            batch = self._take_batch()
            if not batch:
                continue
            batch_id += 1
            lag = monotonic() - min(j.queued_at for j in batch)
            try:
                assert self._conn is not None
                self._conn.send(
                    ("batch", batch_id, [(j.camera, j.time, j.image, j.detectors, j.options) for j in batch])
                )
                reply = self._await_reply()
            except (EOFError, OSError, BrokenPipeError, ValueError):
                reply = None
            if reply is None:
                for j in batch:
                    if self._on_drop is not None:
                        self._on_drop(j.camera)
                continue  # the worker died mid-batch: the loop restarts it
            _, _rid, results, timings, errors = reply
            self.plugin_errors.update(errors)
            self.batches += 1
            self.frames_done += len(batch)
            if self._on_stats is not None:
                self._on_stats(BatchStats(len(batch), timings, lag))
            for job, dets in zip(batch, results, strict=True):
                try:
                    self._on_result(job, dets)
                except Exception:
                    log.exception("analytics result handling failed")

    def _await_reply(self) -> BatchReply | None:
        conn, proc = self._conn, self._proc
        assert conn is not None and proc is not None
        while True:
            if conn.poll(0.5):
                reply: BatchReply = conn.recv()
                return reply
            if not proc.is_alive():
                return None
            if self._stop:
                return None

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless stopped; True when stopping."""
        with self._cond:
            if not self._stop:
                self._cond.wait(seconds)
            return self._stop

"""Runs (managed) or watches (unmanaged) MediaMTX and tells other components when it (re)appears.

MediaMTX keeps API-made path configs in RAM only, so every time it becomes reachable again (first
start, crash + restart, external restart, adoption) the `on_ready` listeners are awaited to re-apply state.

Recordings survive restarts of the service (ADR 0010):
- The managed MediaMTX never writes into a pipe to the service: it logs to <runtime_dir>/mediamtx.log
  (its stdout/stderr, hence its hooks' output, are appended there too) and runs in its own session, so
  neither a SIGKILL of the service nor SIGPIPE ends it. The supervisor tails the file and forwards each
  line into the service log (forward_mediamtx_line). The file is rotated to .1 at each fresh start.
- <runtime_dir>/mediamtx.pid records the child. On a managed start, a MediaMTX named there is adopted
  instead of starting a second one when: its service is gone, /proc/<pid>/cmdline is our binary with our
  config path, its API answers on our port, and the config we would render now equals the file it runs
  with. Otherwise (config differs, API silent) it is terminated and a fresh child started; a dead or
  foreign pid is ignored. An adopted MediaMTX is watched by pid polling plus the API health loop; when it
  dies our own child replaces it (a restart); stop() terminates it like our own child.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal

from camera_service.config.sections import MediaMTXConfig, StorageConfig
from camera_service.core.clock import Clock, SystemClock
from camera_service.core.component import ComponentHealth
from camera_service.mediamtx.adoption import (
    CONFIG_NAME,
    LOG_NAME,
    PIDFILE_NAME,
    AdoptedProcess,
    CallbackEndpoint,
    PidRecord,
    is_our_mediamtx,
    process_alive,
    read_pidfile,
    terminate,
    write_pidfile,
)
from camera_service.mediamtx.client import MediaMTXClient
from camera_service.mediamtx.config_render import render_mediamtx_config
from camera_service.mediamtx.errors import MediaMTXError, mask_url_credentials
from camera_service.mediamtx.logtail import LogTailer, rotate
from camera_service.mediamtx.process import ManagedProcess
from camera_service.observability.metrics import Metrics

log = logging.getLogger("camera_service.mediamtx")
proc_log = logging.getLogger("camera_service.mediamtx.proc")

MEDIAMTX_VERSION = "v1.20.1"
REPO_ROOT = Path(__file__).resolve().parents[2]

State = Literal["starting", "up", "down"]
Listener = Callable[[], Awaitable[None]]

# "2026/11/21 14:57:32 INF [RTSP] listener opened" -> level + message
_LOG_RE = re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? (DEB|INF|WAR|ERR) (.*)$")
_LEVELS = {"DEB": logging.DEBUG, "INF": logging.INFO, "WAR": logging.WARNING, "ERR": logging.ERROR}


class MediaMTXStartError(RuntimeError):
    """The managed MediaMTX did not come up."""


def find_mediamtx_binary(configured: Path | None = None) -> Path:
    """configured path, then $MEDIAMTX_BIN, then `mediamtx` on PATH, then the project cache."""
    candidates: list[Path] = []
    if configured is not None:
        candidates.append(Path(configured).expanduser())
    env_bin = os.environ.get("MEDIAMTX_BIN")
    if env_bin:
        candidates.append(Path(env_bin).expanduser())
    on_path = shutil.which("mediamtx")
    if on_path:
        candidates.append(Path(on_path))
    candidates.append(REPO_ROOT / ".cache" / "mediamtx" / MEDIAMTX_VERSION / "mediamtx")
    for cand in candidates:
        if cand.is_file() and os.access(cand, os.X_OK):
            return cand
    if configured is not None:
        raise FileNotFoundError(f"MediaMTX binary {configured} not found or not executable")
    raise FileNotFoundError(
        "MediaMTX binary not found (tried $MEDIAMTX_BIN, `mediamtx` on PATH and "
        f"{candidates[-1]}); run scripts/install-mediamtx.sh or set mediamtx.binary")


def _resolve_template(path: Path) -> Path:
    # A relative template is looked up from the working directory, then from the repository root.
    if path.is_absolute() or path.exists():
        return path
    return REPO_ROOT / path


def forward_mediamtx_line(line: str) -> None:
    m = _LOG_RE.match(line)
    if m:
        proc_log.log(_LEVELS[m.group(1)], "%s", mask_url_credentials(m.group(2)))
    elif line.strip():
        proc_log.info("%s", mask_url_credentials(line))


class MediaMTXSupervisor:
    name = "mediamtx"

    def __init__(self, cfg: MediaMTXConfig, storage: StorageConfig, runtime_dir: Path, metrics: Metrics,
                 *, binary: Path | None = None, forward_logs: bool = True, clock: Clock | None = None,
                 config_extra: dict[str, Any] | None = None,
                 callbacks: CallbackEndpoint | None = None) -> None:
        self.cfg = cfg
        self.storage = storage
        self.runtime_dir = runtime_dir
        self.metrics = metrics
        self._binary = binary if binary is not None else cfg.binary
        self._forward_logs = forward_logs
        self._clock: Clock = clock or SystemClock()
        self.config_extra = config_extra
        self.callbacks = callbacks  # recorded in the pidfile so that a restarted service listens there again
        self._client = MediaMTXClient(cfg.api_url, cfg.playback_url, cfg.request_timeout_s)
        self._proc: ManagedProcess | None = None
        self._adopted: AdoptedProcess | None = None
        self._tailer: LogTailer | None = None
        self._replace_task: asyncio.Task[None] | None = None
        self._argv: tuple[Path, Path] | None = None  # (binary, config) of the managed MediaMTX
        self._health_task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._up = asyncio.Event()
        self._exited_before_up = asyncio.Event()
        self._ready_listeners: list[Listener] = []
        self._down_listeners: list[Listener] = []
        self._state: State = "starting"
        self._version: str | None = None
        self._started: str | None = None
        self._restarts = 0
        self._ever_up = False
        self._last_error: str | None = None
        self._log_tail: deque[str] = deque(maxlen=20)

    # ---- public state ----------------------------------------------------------------------------

    @property
    def client(self) -> MediaMTXClient:
        return self._client

    @property
    def state(self) -> State:
        return self._state

    @property
    def is_up(self) -> bool:
        return self._state == "up"

    @property
    def restarts(self) -> int:
        return self._restarts

    @property
    def version(self) -> str | None:
        return self._version

    @property
    def started(self) -> str | None:
        """MediaMTX's own start time (from /v3/info)."""
        return self._started

    @property
    def managed(self) -> bool:
        return self.cfg.managed

    @property
    def pid(self) -> int | None:
        if self._adopted is not None:
            return self._adopted.pid
        return self._proc.pid if self._proc is not None else None

    @property
    def adopted(self) -> bool:
        """True while the MediaMTX we manage is one a previous run of the service started."""
        return self._adopted is not None

    @property
    def pidfile(self) -> Path:
        return self.runtime_dir / PIDFILE_NAME

    @property
    def log_file(self) -> Path:
        return self.runtime_dir / LOG_NAME

    def on_ready(self, callback: Listener) -> Callable[[], None]:
        """Await `callback` every time MediaMTX becomes reachable (first time and after each restart).

        Not called at registration: a component registering after start() applies its state itself.
        Returns a function that removes the listener.
        """
        self._ready_listeners.append(callback)
        return lambda: self._ready_listeners.remove(callback)

    def on_down(self, callback: Listener) -> Callable[[], None]:
        """Await `callback` every time a reachable MediaMTX stops answering."""
        self._down_listeners.append(callback)
        return lambda: self._down_listeners.remove(callback)

    def health(self) -> ComponentHealth:
        return ComponentHealth(name=self.name, healthy=self._state == "up", status=self._state, details={
            "managed": self.managed, "state": self._state, "version": self._version,
            "restarts": self._restarts, "pid": self.pid, "adopted": self.adopted, "api_url": self.cfg.api_url,
            "last_error": self._last_error})

    # ---- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        await self._client.start()
        if self.managed:
            await self._start_child()
        self._health_task = asyncio.create_task(self._health_loop(), name="mediamtx-health")
        if not self.managed:
            # Attach mode never fails start: report down and keep polling.
            if not await self.wait_ready(min(self.cfg.request_timeout_s, self.cfg.start_timeout_s)):
                self._state = "down"
                log.warning("MediaMTX at %s not reachable yet: %s", self.cfg.api_url, self._last_error)
            return
        up = asyncio.create_task(self._up.wait())
        died = asyncio.create_task(self._exited_before_up.wait())
        try:
            await asyncio.wait({up, died}, timeout=self.cfg.start_timeout_s,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            up.cancel()
            died.cancel()
        if not self._up.is_set():
            why = "exited" if self._exited_before_up.is_set() else \
                f"did not answer within {self.cfg.start_timeout_s:g}s"
            await self.stop()  # also reads the rest of its log
            tail = "\n".join(self._log_tail)
            raise MediaMTXStartError(f"MediaMTX {why} (api {self.cfg.api_url}); last output:\n{tail}")

    async def wait_ready(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        """True once MediaMTX answers; False if it did not within `timeout` seconds."""
        try:
            async with asyncio.timeout(timeout):
                await self._up.wait()
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        if self._health_task is not None:
            self._health_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._health_task
            self._health_task = None
        if self._replace_task is not None:
            self._replace_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._replace_task
            self._replace_task = None
        if self._proc is not None:
            await self._proc.stop()
            self._proc = None
        if self._adopted is not None:
            await self._adopted.stop()
            self._adopted = None
        if self._tailer is not None:
            await self._tailer.stop()
            self._tailer = None
        if self.managed and self._argv is not None:
            self.pidfile.unlink(missing_ok=True)
            self._argv = None
        await self._client.close()
        self._state = "down"
        self._up.clear()
        self.metrics.mediamtx_up.set(0)

    # ---- internals -------------------------------------------------------------------------------

    async def _start_child(self) -> None:
        binary = find_mediamtx_binary(self._binary).resolve()
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        self.storage.recordings_path.mkdir(parents=True, exist_ok=True)
        conf_file = (self.runtime_dir / CONFIG_NAME).resolve()
        text = render_mediamtx_config(_resolve_template(self.cfg.config_template), self.cfg, self.storage,
                                      self.config_extra, log_file=self.log_file.resolve())
        if await self._adopt_or_clear(binary, conf_file, text):
            return
        # Another server on our API port would pass every health check while our child fails to bind.
        try:
            info = await self._client.info()
        except MediaMTXError:
            pass
        else:
            raise MediaMTXStartError(
                f"{self.cfg.api_url} already answers (MediaMTX {info.version}); another instance is running "
                "there: stop it, pick other ports, or set mediamtx.managed=false to attach to it")
        rotate(self.log_file)
        # Written only now: a running MediaMTX reloads its config file when it changes.
        conf_file.write_text(text, encoding="utf-8")
        self._argv = (binary, conf_file)
        self._start_tailer(from_end=False)
        await self._spawn_child()

    async def _adopt_or_clear(self, binary: Path, conf_file: Path, text: str) -> bool:
        """Adopt the MediaMTX named in the pidfile if it fits (True); terminate an unfit one of ours."""
        rec = read_pidfile(self.pidfile)
        if rec is None:
            return False
        if not is_our_mediamtx(rec.pid, binary, conf_file):
            log.info("ignoring %s: pid %d is gone or not our MediaMTX", self.pidfile, rec.pid)
            self.pidfile.unlink(missing_ok=True)
            return False
        if process_alive(rec.owner_pid):
            # Its service (maybe this very process) still runs it: not ours to take. The port check
            # that follows reports the clash.
            return False
        reason: str | None = None
        try:
            on_disk = conf_file.read_text(encoding="utf-8")  # noqa: ASYNC240 - a small local file
        except OSError:
            on_disk = None
        if rec.api_port != self.cfg.api_port or on_disk != text:
            reason = "its configuration differs from the one the current settings give"
        else:
            try:
                await self._client.info()
            except MediaMTXError as exc:
                reason = f"its API does not answer ({exc.message})"
        if reason is not None:
            log.warning("not adopting MediaMTX (pid %d) left by a previous run: %s; restarting it",
                        rec.pid, reason)
            await terminate(rec.pid)
            self.pidfile.unlink(missing_ok=True)
            return False
        log.info("adopting MediaMTX (pid %d) left running by a previous run of the service", rec.pid)
        self._argv = (binary, conf_file)
        self._start_tailer(from_end=True)
        self._adopted = AdoptedProcess(rec.pid, binary, conf_file, interval_s=self.cfg.health_interval_s,
                                       on_exit=self._on_adopted_exit)
        self._adopted.start()
        self._write_pidfile(rec.pid)  # now owned by this run
        return True

    def _start_tailer(self, *, from_end: bool) -> None:
        if self._tailer is None:
            self._tailer = LogTailer(self.log_file, self._on_line, interval_s=0.2, from_end=from_end)
            self._tailer.start()

    async def _spawn_child(self) -> None:
        assert self._argv is not None
        binary, conf_file = self._argv
        self._proc = ManagedProcess(
            "mediamtx", [str(binary), str(conf_file)],
            env={"TZ": "UTC"},  # recording file names and API times use the server's local time
            cwd=self.runtime_dir, output_path=self.log_file, restart=True,
            backoff_initial_s=self.cfg.restart_backoff_initial_s,
            backoff_max_s=self.cfg.restart_backoff_max_s, clock=self._clock)
        self._proc.on_start = self._write_pidfile
        self._proc.on_exit = self._on_child_exit
        await self._proc.start()

    def _write_pidfile(self, pid: int) -> None:
        assert self._argv is not None
        cb = self.callbacks
        write_pidfile(self.pidfile, PidRecord(
            pid=pid, api_port=self.cfg.api_port, owner_pid=os.getpid(), binary=str(self._argv[0]),
            config=str(self._argv[1]), callback_port=cb.port if cb is not None else None,
            callback_secret=cb.secret if cb is not None else None))

    def _on_adopted_exit(self) -> None:
        self._adopted = None
        self._last_error = "adopted mediamtx process exited"
        self._wake.set()
        self._replace_task = asyncio.create_task(self._replace_adopted(), name="mediamtx-replace")

    async def _replace_adopted(self) -> None:
        try:
            await self._spawn_child()
        except OSError as exc:
            self._last_error = f"mediamtx could not be started: {exc}"
            log.error("MediaMTX could not be started after the adopted one exited: %s", exc)

    def _on_line(self, line: str) -> None:
        self._log_tail.append(mask_url_credentials(line))
        if self._forward_logs:
            forward_mediamtx_line(line)

    def _on_child_exit(self, rc: int | None) -> None:
        self._last_error = f"mediamtx process exited (rc={rc})"
        if not self._ever_up:
            self._exited_before_up.set()
        self._wake.set()  # poll now so the loss is seen at once, not a poll interval later

    async def _health_loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                info = await self._client.info()
            except MediaMTXError as exc:
                self._last_error = exc.message
                await self._mark_down()
            else:
                await self._mark_up(info.version, info.started)
            # asyncio.timeout, not wait_for: 3.11's wait_for loses a cancel that races the wake-up.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.cfg.health_interval_s):
                    await self._wake.wait()

    async def _mark_up(self, version: str, started: str | None) -> None:
        restarted = self._ever_up and (self._state != "up" or started != self._started)
        first = not self._ever_up
        if not first and not restarted:
            return
        if restarted:
            self._restarts += 1
            self.metrics.mediamtx_restarts.inc()
            log.warning("MediaMTX is back (restart #%d, started %s)", self._restarts, started)
        else:
            log.info("MediaMTX %s is up at %s", version, self.cfg.api_url)
        self._ever_up = True
        self._state = "up"
        self._version = version
        self._started = started
        self._last_error = None
        self._up.set()
        self.metrics.mediamtx_up.set(1)
        await self._notify(self._ready_listeners, "on_ready")

    async def _mark_down(self) -> None:
        if not self._ever_up:
            return  # still starting
        if self._state == "down":
            return
        log.warning("MediaMTX is down: %s", self._last_error)
        self._state = "down"
        self._up.clear()
        self.metrics.mediamtx_up.set(0)
        await self._notify(self._down_listeners, "on_down")

    async def _notify(self, listeners: list[Listener], kind: str) -> None:
        for cb in list(listeners):
            try:
                await cb()
            except Exception:
                log.exception("MediaMTX %s listener %r failed", kind, cb)

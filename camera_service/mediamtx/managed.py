"""The managed MediaMTX process: spawned by us or adopted from a previous run, its log file and pidfile.

The supervisor (supervisor.py) owns the up/down state machine; this class owns the process (ADR 0011).
The config is rendered again before every spawn (first start and each restart), so a restarted MediaMTX
starts with every camera path already in it; it lives in memory only when it can (ADR 0010).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from camera_service.config.sections import MediaMTXConfig
from camera_service.core.clock import Clock
from camera_service.core.tasks import cancel_and_wait
from camera_service.mediamtx.adoption import (
    LOG_NAME,
    PIDFILE_NAME,
    AdoptedProcess,
    CallbackEndpoint,
    ConfigLocation,
    PidRecord,
    config_location,
    configs_equivalent,
    is_our_mediamtx,
    process_alive,
    read_pidfile,
    terminate,
    write_pidfile,
    write_private,
)
from camera_service.mediamtx.client import MediaMTXClient
from camera_service.mediamtx.errors import MediaMTXError
from camera_service.mediamtx.logtail import LogTailer, rotate
from camera_service.mediamtx.process import ManagedProcess

log = logging.getLogger("camera_service.mediamtx")

# (why, whether a new MediaMTX is on its way without the supervisor's help)
ExitCallback = Callable[[str, bool], None]
# in_memory -> the config text to start with (in_memory: the file is on a private tmpfs, so credentials
# may go in).
Renderer = Callable[[bool], Awaitable[str]]


class MediaMTXStartError(RuntimeError):
    """The managed MediaMTX did not come up."""


class ManagedMediaMTX:
    def __init__(
        self,
        cfg: MediaMTXConfig,
        runtime_dir: Path,
        client: MediaMTXClient,
        clock: Clock,
        *,
        on_line: Callable[[str], None],
        on_exit: ExitCallback,
        callbacks: CallbackEndpoint | None = None,
    ) -> None:
        self.cfg = cfg
        self.runtime_dir = runtime_dir
        self.client = client
        self.clock = clock
        self.on_line = on_line
        self.on_exit = on_exit
        self.callbacks = callbacks
        self.pidfile = runtime_dir / PIDFILE_NAME
        self.log_file = runtime_dir / LOG_NAME
        self._proc: ManagedProcess | None = None
        self._adopted: AdoptedProcess | None = None
        self._tailer: LogTailer | None = None
        self._replace_task: asyncio.Task[None] | None = None
        self._argv: tuple[Path, Path] | None = None  # (binary, config file) once started
        self._location: ConfigLocation | None = None
        self._render: Renderer | None = None
        self._fresh = False  # the config file was just written by start()

    @property
    def location(self) -> ConfigLocation:
        if self._location is None:
            self._location = config_location(self.runtime_dir)
        return self._location

    @property
    def config_file(self) -> Path:
        return self.location.path

    @property
    def pid(self) -> int | None:
        if self._adopted is not None:
            return self._adopted.pid
        return self._proc.pid if self._proc is not None else None

    @property
    def adopted(self) -> bool:
        return self._adopted is not None

    async def start(self, binary: Path, render: Renderer) -> None:
        """Adopt a fitting MediaMTX left by a previous run, or write the config and spawn our own.

        `render` is called again before every spawn, restarts included."""
        self._location = None  # decided afresh at each start
        conf_file = self.config_file
        self._render = render
        config_text = await render(self.location.in_memory)
        if await self._adopt_or_clear(binary, conf_file, config_text):
            return
        # Another server on our API port would pass every health check while our child fails to bind.
        try:
            info = await self.client.info()
        except MediaMTXError:
            pass
        else:
            raise MediaMTXStartError(
                f"{self.cfg.api_url} already answers (MediaMTX {info.version}); another instance is running "
                "there: stop it, pick other ports, or set mediamtx.managed=false to attach to it"
            )
        rotate(self.log_file)
        # Written only now: a running MediaMTX reloads its config file when it changes.
        write_private(conf_file, config_text)
        self._fresh = True  # the first spawn needs no second render
        self._argv = (binary, conf_file)
        self._start_tailer(from_end=False)
        await self._spawn()

    async def stop(self) -> None:
        """Terminate the process (ours or adopted), read the rest of its log, drop the pidfile."""
        await cancel_and_wait(self._replace_task)
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
        if self._argv is not None:  # never someone else's pidfile (a start that refused to run)
            self.pidfile.unlink(missing_ok=True)
            if self.location.in_memory:  # it holds credentials: nothing left behind in RAM either
                self.config_file.unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    self.config_file.parent.rmdir()
            self._argv = None

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
            # Its service (maybe this very process) still runs it: not ours to take. The API port check
            # that follows reports the clash.
            return False
        reason: str | None = None
        try:
            on_disk = conf_file.read_text(encoding="utf-8")  # noqa: ASYNC240 - a small local file
        except OSError:
            on_disk = None
        # `paths` may differ: API changes since its spawn; the on_ready reconcile makes them right.
        if rec.api_port != self.cfg.api_port or on_disk is None or not configs_equivalent(on_disk, text):
            reason = "its configuration differs from the one the current settings give"
        else:
            try:
                await self.client.info()
            except MediaMTXError as exc:
                reason = f"its API does not answer ({exc.message})"
        if reason is not None:
            log.warning(
                "not adopting MediaMTX (pid %d) left by a previous run: %s; restarting it", rec.pid, reason
            )
            await terminate(rec.pid)
            self.pidfile.unlink(missing_ok=True)
            return False
        log.info("adopting MediaMTX (pid %d) left running by a previous run of the service", rec.pid)
        self._argv = (binary, conf_file)
        self._start_tailer(from_end=True)  # what it logged meanwhile is in the file, not replayed
        self._adopted = AdoptedProcess(
            rec.pid, binary, conf_file, interval_s=self.cfg.health_interval_s, on_exit=self._adopted_exited
        )
        self._adopted.start()
        self._write_pidfile(rec.pid)  # now owned by this run
        return True

    def _start_tailer(self, *, from_end: bool) -> None:
        if self._tailer is None:
            self._tailer = LogTailer(self.log_file, self.on_line, interval_s=0.2, from_end=from_end)
            self._tailer.start()

    async def _spawn(self) -> None:
        assert self._argv is not None
        binary, conf_file = self._argv
        self._proc = ManagedProcess(
            "mediamtx",
            [str(binary), str(conf_file)],
            env={"TZ": "UTC"},  # recording file names and API times use the server's local time
            cwd=self.runtime_dir,
            output_path=self.log_file,  # never a pipe: MediaMTX must outlive the service
            restart=True,
            backoff_initial_s=self.cfg.restart_backoff_initial_s,
            backoff_max_s=self.cfg.restart_backoff_max_s,
            clock=self.clock,
        )
        self._proc.before_start = self._write_config
        self._proc.on_start = self._write_pidfile
        self._proc.on_exit = lambda rc: self.on_exit(f"mediamtx process exited (rc={rc})", False)
        await self._proc.start()

    async def _write_config(self) -> None:
        """Before every spawn: the config with the current paths. Written only while no MediaMTX runs on
        it (a running MediaMTX reloads its config file when it changes, dropping API-made paths)."""
        assert self._argv is not None and self._render is not None
        if self._fresh:
            self._fresh = False
            return
        try:
            text = await self._render(self.location.in_memory)
        except Exception:
            log.exception("rendering the MediaMTX config failed; starting with the previous one")
            return
        write_private(self._argv[1], text)

    def _write_pidfile(self, pid: int) -> None:
        assert self._argv is not None
        cb = self.callbacks
        rec = PidRecord(
            pid=pid,
            api_port=self.cfg.api_port,
            owner_pid=os.getpid(),
            binary=str(self._argv[0]),
            config=str(self._argv[1]),
            callback_port=cb.port if cb is not None else None,
            callback_secret=cb.secret if cb is not None else None,
        )
        write_pidfile(self.pidfile, rec)

    def _adopted_exited(self) -> None:
        self._adopted = None
        self.on_exit("adopted mediamtx process exited", True)
        self._replace_task = asyncio.create_task(self._replace_adopted(), name="mediamtx-replace")

    async def _replace_adopted(self) -> None:
        try:
            await self._spawn()  # ManagedProcess restarts it from here on
        except OSError as exc:
            log.error("MediaMTX could not be started after the adopted one exited: %s", exc)
            self.on_exit(f"mediamtx could not be started: {exc}", False)

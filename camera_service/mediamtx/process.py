"""A supervised child process: merged output forwarded line by line, restart with capped backoff.

Generic on purpose: it runs MediaMTX and the demo ffmpeg camera. With `output_path` the child's output goes
to a file instead of a pipe, so the child outlives this process without dying of SIGPIPE on its next write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

from camera_service.core.clock import Clock, SystemClock
from camera_service.core.tasks import cancel_and_wait

log = logging.getLogger("camera_service.process")

# Longest line read in one piece; longer output is split rather than raising and stalling the pipe.
_LINE_LIMIT = 1 << 16

ExitCallback = Callable[[int | None], Awaitable[None] | None]
StartCallback = Callable[[int], Awaitable[None] | None]
BeforeStartCallback = Callable[[], Awaitable[None] | None]


class ManagedProcess:
    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        log_lines: Callable[[str], None] | None = None,
        output_path: Path | None = None,
        restart: bool = True,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        stable_after_s: float = 30.0,
        clock: Clock | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.cwd = cwd
        self.log_lines = log_lines
        # Set: stdout+stderr are appended to this file (os.devnull discards) and log_lines is never called.
        self.output_path = output_path
        self.restart = restart
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.stable_after_s = stable_after_s
        self.clock: Clock = clock or SystemClock()
        # Hooks: called (and awaited when async) before every spawn (first start and each restart; e.g. to
        # re-render a config file), after every spawn, and after every exit, expected or not. A failing
        # before_start is logged and the child is spawned anyway.
        self.before_start: BeforeStartCallback | None = None
        self.on_start: StartCallback | None = None
        self.on_exit: ExitCallback | None = None
        self.restarts = 0
        self.last_returncode: int | None = None
        self.last_backoff_s: float | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._in_backoff = False
        self._next_backoff = backoff_initial_s
        self._spawned_at = 0.0

    # ---- state -----------------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.returncode is None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    @property
    def supervising(self) -> bool:
        """True while the process runs or waits to be restarted."""
        return self._task is not None and not self._task.done()

    # ---- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Spawn the child (spawn errors such as a missing binary raise here) and supervise it."""
        if self.supervising:
            return
        self._stopping = False
        self._next_backoff = self.backoff_initial_s
        proc = await self._spawn()
        self._task = asyncio.create_task(self._supervise(proc), name=f"proc:{self.name}")

    async def stop(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - a grace period, not a deadline
        """SIGTERM the whole process group, SIGKILL after `timeout`, and end supervision."""
        self._stopping = True
        task = self._task
        if task is None:
            return
        if self._in_backoff or not self.running:
            task.cancel()
        else:
            self._signal_group(signal.SIGTERM)
            proc = self._proc
            assert proc is not None
            try:
                async with asyncio.timeout(timeout):
                    await proc.wait()
            except TimeoutError:
                log.warning("%s did not exit on SIGTERM within %.1fs; killing", self.name, timeout)
                self._signal_group(signal.SIGKILL)
        # asyncio.wait neither raises the task's CancelledError nor swallows a cancel of stop() itself.
        done, _ = await asyncio.wait({task}, timeout=timeout + 2.0)
        if not done:
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=2.0)
        if not done or self.running:
            # Never hang a shutdown on a child: whatever state supervision is in, the group goes.
            log.error("%s: supervision did not end cleanly; killing its process group", self.name)
            self._signal_group(signal.SIGKILL)
        self._task = None

    # ---- internals -------------------------------------------------------------------------------

    async def _spawn(self) -> asyncio.subprocess.Process:
        await self._call(self.before_start)
        env = None if self.env is None else {**os.environ, **self.env}
        # New session = own process group, so stop() also reaches grandchildren (ffmpeg, hooks), and a
        # signal to our own group (a terminal's Ctrl-C, a kill of the service's group) does not reach it.
        if self.output_path is None:
            proc = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
                cwd=self.cwd,
                start_new_session=True,
                limit=_LINE_LIMIT,
            )
        else:
            # O_APPEND: several writers (the child's own handle on the file, its hooks) never overwrite
            # each other's lines.
            out = os.open(self.output_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                proc = await asyncio.create_subprocess_exec(
                    *self.argv,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=out,
                    stderr=asyncio.subprocess.STDOUT,
                    env=env,
                    cwd=self.cwd,
                    start_new_session=True,
                )
            finally:
                os.close(out)  # the child has its own copy
        self._proc = proc
        self._spawned_at = self.clock.monotonic()
        log.info("%s started (pid %d)", self.name, proc.pid)
        await self._call(self.on_start, proc.pid)
        return proc

    def _signal_group(self, sig: signal.Signals) -> None:
        proc = self._proc
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)

    async def _pump(self, proc: asyncio.subprocess.Process) -> None:
        # Always drain the pipe, even without a consumer, so the child never blocks on a full pipe.
        stream = proc.stdout
        assert stream is not None
        while True:
            try:
                raw = await stream.readuntil(b"\n")
            except asyncio.IncompleteReadError as exc:  # EOF: last line without a newline
                raw = exc.partial
            except asyncio.LimitOverrunError as exc:  # overlong line: hand it on in chunks, lose nothing
                raw = await stream.read(max(exc.consumed, 1))
            if not raw:
                return
            if self.log_lines is not None:
                try:
                    self.log_lines(raw.decode("utf-8", "replace").rstrip("\r\n"))
                except Exception:
                    log.exception("%s: log_lines callback failed", self.name)

    async def _run_once(self, proc: asyncio.subprocess.Process) -> int:
        if proc.stdout is None:  # output goes to a file: nothing to pump
            try:
                return await proc.wait()
            finally:
                self._signal_group(signal.SIGKILL)  # leftovers of its group (hooks) go with it
        pump = asyncio.create_task(self._pump(proc))
        try:
            rc = await proc.wait()
        finally:
            # The child is gone; kill leftovers of its group so they do not hold the pipe open.
            self._signal_group(signal.SIGKILL)
            try:
                async with asyncio.timeout(2.0):
                    await asyncio.shield(pump)
            except TimeoutError:
                await cancel_and_wait(pump)
        return rc

    async def _supervise(self, proc: asyncio.subprocess.Process | None) -> None:
        while True:
            rc: int | None = None
            if proc is not None:
                rc = await self._run_once(proc)
            self.last_returncode = rc
            if not self._stopping:
                log.warning("%s exited unexpectedly (rc=%s)", self.name, rc)
            await self._call(self.on_exit, rc)
            if self._stopping or not self.restart:
                return
            if proc is not None and self.clock.monotonic() - self._spawned_at >= self.stable_after_s:
                self._next_backoff = self.backoff_initial_s  # it ran fine for a while: start over
            delay = self._next_backoff
            self._next_backoff = min(max(delay * 2, 0.01), self.backoff_max_s)
            self.last_backoff_s = delay
            self._in_backoff = True
            try:
                await self.clock.sleep(delay)
            finally:
                self._in_backoff = False
            if self._stop_requested():  # stop() may have run during the sleep
                return
            self.restarts += 1
            try:
                proc = await self._spawn()
            except OSError as exc:
                log.error("%s restart failed: %s", self.name, exc)
                proc = None

    def _stop_requested(self) -> bool:
        return self._stopping

    async def _call(self, cb: Callable[..., Awaitable[None] | None] | None, *args: int | None) -> None:
        if cb is None:
            return
        try:
            res = cb(*args)
            if res is not None:
                await res
        except Exception:
            log.exception("%s: callback failed", self.name)
